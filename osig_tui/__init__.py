"""osig front end: the Typer CLI (`osig ...`) and the Textual monitor. Reads runs only through osig_core.store."""
import os as _os
import signal as _signal
import sys as _sys
import threading as _threading


def _interrupted_while_starting(signum, frame):
    """Ctrl-C while the `osig` command is still importing (typer, then torch for a run: a second or
    more) ends with one line, like Ctrl-C later on, instead of an import traceback."""
    _sys.stderr.write("osig: error: interrupted\n")
    raise SystemExit(130)


# only for the `osig` command itself; cli.main() hands Ctrl-C back to Python inside its own try
if _os.path.basename(_sys.argv[0] if _sys.argv else "") == "osig" and _threading.current_thread() is _threading.main_thread() \
        and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _interrupted_while_starting)
