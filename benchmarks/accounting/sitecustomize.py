"""CPU accounting for `benchmarks/default_run.py`: loaded by every Python process of a
benchmarked run (this folder is put on PYTHONPATH), it appends one JSON line per process to
the file named by VIDCARBON_ACCOUNTING when the process ends.

The line holds the process's own user+system CPU seconds (`os.times`), the CPU seconds of the
children it reaped, its wall seconds since this file was loaded, its peak resident memory
(VmHWM), its argv and where its stdout points (a job's log file names its rule).
Processes forked by the warm worker leave through `os._exit`, which skips `atexit`, so that
exit is wrapped too.
"""

import atexit
import json
import os
import resource
import sys
import time

_START = time.monotonic()

_PATH = os.environ.get("VIDCARBON_ACCOUNTING")


def _peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; ru_maxrss keeps the parent's peak across exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _record(how: str) -> None:
    times = os.times()
    try:
        stdout = os.readlink("/proc/self/fd/1")
    except OSError:
        stdout = ""
    line = {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "argv": sys.argv,
        "stdout": stdout,
        "exit": how,
        "self_s": times.user + times.system,
        "children_s": times.children_user + times.children_system,
        "wall_s": time.monotonic() - _START,
        "max_rss_mb": _peak_rss_mb(),
    }
    # One short O_APPEND write per process: lines of concurrent processes do not interleave.
    with open(_PATH, "a") as out:
        out.write(json.dumps(line) + "\n")


if _PATH:
    atexit.register(_record, "atexit")
    _os_exit = os._exit

    def _exit_recorded(code):
        try:
            _record("_exit")
        finally:
            _os_exit(code)

    os._exit = _exit_recorded
