"""The model host of a SLURM job: one process that runs the job's measured jobs one after
another in itself, so that the cells Snakemake packs into one SLURM job (`groups` in
slurm/profile.yaml) import the libraries and load their model once.

Not the warm worker's fork per job: a process that has initialised CUDA cannot safely fork,
and a forked child would load the model again. Safe on a shared node: a host belongs to one
Snakemake process in one SLURM job (its socket is keyed by SLURM_JOB_ID and the pid of the
Snakemake process running the jobs, which the Snakefile exports as VIDCARBON_SNAKEMAKE_PID);
it exits as soon as that process is gone, or after IDLE_S without a job, and serves no other.

Failures stay per cell. An exception (CUDA out of memory included) is the cell's record, as
in a child process, and the host then drops its loaded model (`vidcarbon.workloads.loaded`).
A crash or kill of the host loses only the cell it was running: each cell's record is written
when it ends, the client records the running cell as killed (`HostLost`), and the next cell
starts a new host. Set VIDCARBON_MODEL_HOST=0 to run every job of a SLURM job in a cold
`python -m vidcarbon.process.child` process instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import socket
import sys
import threading
import time
import traceback
from pathlib import Path

from vidcarbon.process import warm_worker

OWNER_ENV = "VIDCARBON_SNAKEMAKE_PID"
IDLE_S = 60.0


class HostLost(RuntimeError):
    """The host ended while it ran the job: the process crashed or was killed."""


def export_owner() -> None:
    """Called where every Snakemake process parses the Snakefile: the jobs a process runs
    (its rule scripts inherit the environment) learn which process owns their host."""
    os.environ[OWNER_ENV] = str(os.getpid())


def enabled() -> bool:
    """On inside SLURM jobs (where the warm worker is off), unless VIDCARBON_MODEL_HOST=0."""
    return "SLURM_JOB_ID" in os.environ and os.environ.get("VIDCARBON_MODEL_HOST", "1") != "0"


def owner_pid() -> int:
    """The Snakemake process the host belongs to (the parent when none was exported)."""
    return int(os.environ.get(OWNER_ENV, os.getppid()))


def socket_path() -> Path:
    """One host per (user, interpreter, working directory, SLURM job, Snakemake process)."""
    key = (
        f"{os.getuid()}:{sys.executable}:{Path.cwd()}:"
        f"{os.environ.get('SLURM_JOB_ID')}:{owner_pid()}"
    )
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return Path("/tmp") / f"vidcarbon-host-{digest}.sock"


# -- client ---------------------------------------------------------------------------------
def run(request_path: str | Path, log_path: str | Path) -> int | None:
    """Run `vidcarbon.process.child` on `request_path` in the host (started if none runs);
    the job's exit code, or None if no host could be started. Raises HostLost if the host
    ended during the job."""
    path = socket_path()
    command = [
        sys.executable,
        "-m",
        "vidcarbon.process.model_host",
        str(path),
        str(owner_pid()),
        str(IDLE_S),
    ]
    client = warm_worker.connect(path) or warm_worker.start_server(path, command)
    if client is None:
        return None
    with client:
        message = {"request": str(request_path), "log": str(Path(log_path).resolve())}
        client.sendall(json.dumps(message).encode() + b"\n")
        reply = client.makefile("rb").readline()
    if not reply:
        raise HostLost(
            "the model host process ended during the job (a crash, the out-of-memory killer "
            "or scancel); earlier jobs' records are kept and the next job starts a new host"
        )
    return int(json.loads(reply)["returncode"])


# -- server ---------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Watchdog(threading.Thread):
    """Ends the host when its Snakemake process is gone, or when the client of the running
    job went away (Snakemake killed the job: its work must not live on)."""

    def __init__(self, owner: int, path: Path):
        super().__init__(daemon=True)
        self.owner, self.path = owner, path
        self.conn: socket.socket | None = None

    def run(self) -> None:
        while True:
            if not _alive(self.owner):
                self.path.unlink(missing_ok=True)
                os._exit(0)
            conn = self.conn
            if conn is not None:
                try:
                    readable, _, _ = select.select([conn], [], [], 0)
                    # the client sends nothing after its request: readable means it closed
                    gone = bool(readable) and not conn.recv(1, socket.MSG_PEEK)
                except (OSError, ValueError):  # closed by the main thread meanwhile
                    gone = False
                if gone and conn is self.conn:
                    self.path.unlink(missing_ok=True)
                    os._exit(1)
            time.sleep(0.2)


def _run_job(message: dict, stdout_fd: int, stderr_fd: int) -> int:
    """Run one job in this process with its log as stdout and stderr; its exit code. A job
    that did not end ok drops the loaded model, so the next one starts from a clean load."""
    from vidcarbon.process.child import run_request
    from vidcarbon.workloads import loaded

    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(message["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    ok = False
    try:
        record = run_request(message["request"])
        ok = record.get("status") == "ok"
        return 0
    except Exception:  # the job's failure: a missing record, as a child's exit code 1
        traceback.print_exc()
        return 1
    finally:
        if not ok:
            loaded.forget_all()
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(stdout_fd, 1)
        os.dup2(stderr_fd, 2)


def serve(path: Path, owner: int, idle_s: float) -> None:
    """Run jobs sent on `path`, one at a time, until `owner` exits or `idle_s` pass idle."""
    warm_worker.preload()
    watchdog = _Watchdog(owner, path)
    watchdog.start()
    stdout_fd, stderr_fd = os.dup(1), os.dup(2)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    last_job = time.monotonic()
    try:
        while time.monotonic() - last_job < idle_s:
            if not select.select([listener], [], [], 0.5)[0]:
                continue
            conn, _ = listener.accept()
            conn.settimeout(10)
            message = json.loads(conn.makefile("rb").readline())
            conn.settimeout(None)
            watchdog.conn = conn
            returncode = _run_job(message, stdout_fd, stderr_fd)
            watchdog.conn = None
            with contextlib.suppress(OSError):  # the client may be gone
                conn.sendall(json.dumps({"returncode": returncode}).encode() + b"\n")
            conn.close()
            last_job = time.monotonic()
    finally:
        listener.close()
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
