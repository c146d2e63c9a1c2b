"""What the launchers and the test suite share: nothing a lesson script needs (they import only public packages).

- ``winelab.data``: download and verify the wine CSV once (``make data``, ``python -m winelab``);
- ``winelab.servers``: process control for the launchers that start services (a free port,
  start in a process group, wait for health, stop on Ctrl-C/SIGTERM); the ``mlflow server`` /
  ``mlflow models serve`` commands are spelled out in the chapter scripts, not here;
- ``winelab.remote``: chapter 14's throwaway PostgreSQL + S3 + ``mlflow server``;
- ``winelab.cli``: the launchers' options and ``run_example``, which turns a problem a learner
  can fix into one line on stderr and a non-zero exit;
- ``winelab.errors``: ``UserError``, a problem the learner can fix.

The maintainers' commands (``make demo``, ``bench``, ``test-newest``, ``screenshots``) live
in the repository's ``tools/`` package, not here.
"""

from winelab.cli import run_example, server_parser
from winelab.errors import UserError

__all__ = ["UserError", "run_example", "server_parser"]
