"""Ways a script can end, for tests/test_runner.py: ``python exits.py MODE``."""

import atexit
import os
import signal
import sys
import threading
import time


def finish_later():
    time.sleep(0.3)
    print("thread done", flush=True)


class SaysGoodbye:
    def __del__(self):
        print("finalized", flush=True)


def main(mode: str) -> None:
    global LEFT_OPEN, KEPT
    if mode == "left-open":  # never closed: the interpreter flushes it while finalizing
        LEFT_OPEN = open("mlflow-left-open.log", "w")  # a name .gitignore knows
        LEFT_OPEN.write("written, never closed\n")
        KEPT = SaysGoodbye()
    if mode == "exit2":  # argparse's code for a bad option
        sys.exit(2)
    if mode == "exit3":
        sys.exit(3)
    if mode == "exit-message":
        raise SystemExit("bye")
    if mode == "raise":
        raise ValueError("a bug")
    if mode == "keyboard":
        raise KeyboardInterrupt
    if mode == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    if mode == "atexit":
        atexit.register(print, "atexit ran")
    if mode == "thread":
        threading.Thread(target=finish_later).start()
    if mode == "run-example-ctrl-c":
        from winelab import run_example

        def interrupted():
            raise KeyboardInterrupt

        run_example(interrupted)
    if mode == "wait-for-signal":
        print("ready", flush=True)
        time.sleep(30)
    if mode == "stdin":
        print(repr(sys.stdin.read()))
    print(f"end of {mode}")


if __name__ == "__main__":
    main(sys.argv[1])
