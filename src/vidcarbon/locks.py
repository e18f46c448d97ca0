"""Snakemake's lock on a working directory, left behind when a run is killed.

A killed terminal leaves `.snakemake/locks/` in place, and the next run stops with "Directory
cannot be locked". The lock is stale when no Snakemake process runs in that directory; only
then is it removed, as `snakemake --unlock` does with its default (file) persistence: the
folder `.snakemake/locks/` goes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def lock_files(workdir: str | Path = ".") -> list[Path]:
    return sorted((Path(workdir) / ".snakemake" / "locks").glob("*"))


def _is_snakemake(argv: list[str]) -> bool:
    names = [Path(a).name for a in argv[:3]]
    return "snakemake" in names or ("-m" in argv[:3] and "snakemake" in argv[:4])


def live_snakemakes(workdir: str | Path = ".") -> list[tuple[int, str]]:
    """(pid, command line) of the Snakemake processes whose working directory is `workdir`."""
    target = Path(workdir).resolve()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:  # gone, or another user's
            continue
        if int(entry.name) != os.getpid() and cwd == target and _is_snakemake(argv):
            found.append((int(entry.name), " ".join(filter(None, argv))))
    return found


def unlock_if_stale(workdir: str | Path = ".") -> tuple[bool, str]:
    """Remove a stale lock of `workdir`: (whether the directory is free to run now, what was
    done or why not; empty when there was no lock)."""
    if not lock_files(workdir):
        return True, ""
    if not Path("/proc").is_dir():
        return False, (
            "Snakemake's lock is held (.snakemake/locks/); if no Snakemake runs in this "
            "directory, remove it with `snakemake --unlock`"
        )
    live = live_snakemakes(workdir)
    if live:
        pid, command = live[0]
        return False, (
            f"Snakemake process {pid} is running in this directory ({command}); wait for it "
            f"or stop it (Ctrl-C in its terminal, or `kill -INT {pid}`), then run again"
        )
    shutil.rmtree(Path(workdir) / ".snakemake" / "locks")
    return True, (
        "removed the lock left by an interrupted run (no Snakemake process runs in this "
        "directory); completed jobs are kept, the rest run now"
    )
