"""The suite's engine: see README.md beside this file."""
