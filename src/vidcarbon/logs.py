"""Logging of rule jobs: one set-up for every rule script and for the measured child.

Every rule that declares `log:` writes it: its script runs its one function inside
`logged(snakemake.log[0])`, which sends the `logging` records of the job to that file and
writes the traceback of an exception there before Snakemake reports the job failed.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(log_path: str | Path | None = None) -> None:
    """Send INFO and above to `log_path` (appended), or to stdout when None (the measured
    child, whose stdout is its job's log). `force`: a handler that an imported library set
    up first must not swallow the job's log."""
    if log_path is None:
        logging.basicConfig(level=logging.INFO, format=FORMAT, stream=sys.stdout, force=True)
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format=FORMAT, filename=log_path, force=True)


@contextlib.contextmanager
def logged(log_path: str | Path) -> Iterator[logging.Logger]:
    """Log the body to `log_path`; an exception is written there with its traceback, then
    raised again (so the job still fails)."""
    setup_logging(log_path)
    log = logging.getLogger("vidcarbon.rule")
    try:
        yield log
    except BaseException:
        log.exception("the job failed")
        raise
