"""The one exception type that scripts turn into a one-line error message."""


class UserError(Exception):
    """A problem the user can fix (bad data file, unreachable server, ...).

    ``winelab.cli.run_example`` prints its message on one line and exits 1.
    """
