"""The maintainers' commands, run from the repository's root (the Makefile's targets):

- ``tools.demo`` (``make demo``): every chapter's scripts in order into ``./demo-store``,
  then the instructor's tags on each chapter's experiments;
- ``tools.bench`` (``make bench``): every script against the import floor, then the suite's
  CPU as a multiple of one cold import;
- ``tools.newest`` (``make test-newest``): the suite on the newest release of every package;
- ``tools.screenshots`` (``make screenshots``): the UI's pictures in docs/, from the demo store.

They use ``winelab`` (data, process control) like the launchers do; no lesson imports them.
"""
