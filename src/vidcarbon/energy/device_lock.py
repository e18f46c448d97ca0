"""One measured job per device, enforced at run time: an exclusive lock per device.

Snakemake's `measured_device` resource keeps one workflow from running two measured jobs at
once; this lock also holds against a second `snakemake` in another directory, a packed SLURM
group, or anything else that runs vidcarbon jobs on the same host. The lock is an `flock` on
a file named after the device (a GPU's NVML UUID, or the host's CPU package), in
VIDCARBON_LOCK_DIR (default /tmp, which is per host). The kernel releases it when the
holder dies, so a killed job never leaves the device locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


def lock_path(device_id: str) -> Path:
    digest = hashlib.sha256(device_id.encode()).hexdigest()[:16]
    return Path(os.environ.get("VIDCARBON_LOCK_DIR", "/tmp")) / f"vidcarbon-device-{digest}.lock"


@contextlib.contextmanager
def hold_device(device_id: str) -> Iterator[float]:
    """Hold `device_id` exclusively for the block; yields the seconds spent waiting for it."""
    path = lock_path(device_id)
    # read-only is enough for flock, and works on a file another user created
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        start = time.monotonic()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for %s: another measured job holds it (%s)", device_id, path)
            fcntl.flock(fd, fcntl.LOCK_EX)
        waited_s = time.monotonic() - start
        log.info("holding %s (waited %.3f s)", device_id, waited_s)
        yield waited_s
    finally:
        os.close(fd)  # releases the lock
