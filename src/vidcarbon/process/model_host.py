"""The model host of a packed SLURM job: one process that runs the job's measured jobs one
after another in itself, so that the cells Snakemake packs into one SLURM job (`groups` in
slurm/profile.yaml) import the libraries and load their model once.

Inside a SLURM job, Snakemake runs in the job's batch step and runs the job's jobs itself,
one after another, each rule script a child of that Snakemake process
(`vidcarbon.cluster.batch_step_local_rules`). The host is started where the Snakefile is
parsed in the batch step (`start_for_packed_job`), lives as long as that Snakemake process,
and the jobs find it through VIDCARBON_MODEL_HOST (its socket and pid), which they inherit. It
serves only its own SLURM job and exits when its Snakemake process is gone, that is, with the
job's work (not after an idle time: a job connecting as it exited would be lost).

Not the warm worker's fork per job: a process that has initialised CUDA cannot safely fork,
and a forked child would load the model again.

Failures stay per cell. An exception (CUDA out of memory included) is the cell's record, as
in a child process, and the host then drops its loaded model (`vidcarbon.workloads.loaded`).
A crash or kill of the host loses only the cell it was running: each cell's record is written
when it ends, the client records the running cell as killed (`HostLost`), and the next cells
run in fresh `python -m vidcarbon.process.child` processes. Set VIDCARBON_MODEL_HOST=0 to
run every job that way.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path

from vidcarbon.cluster import in_batch_step, target_rules
from vidcarbon.process import warm_worker

ENV = "VIDCARBON_MODEL_HOST"
# Rules whose jobs run in `vidcarbon.process.isolation` (the measured ones).
HOST_RULES = ("encode_prompt", "generate", "generate_image", "llm_request")


class HostLost(RuntimeError):
    """The host ended while it ran the job: the process crashed or was killed."""


def start_for_packed_job(argv: list[str]) -> None:
    """Where the Snakefile is parsed: in the batch step of a SLURM job that runs two or more
    measured jobs (a packed group), start the host and export its address to the jobs."""
    if os.environ.get(ENV) == "0" or not in_batch_step(argv):
        return
    if sum(rule in HOST_RULES for rule in target_rules(argv)) < 2:
        os.environ.pop(ENV, None)
        return
    os.environ[ENV] = start(os.getpid())


def start(owner: int) -> str:
    """Start a host that lives as long as process `owner`; its address for VIDCARBON_MODEL_HOST
    ("socket path:pid"). It imports its libraries while Snakemake plans the first job."""
    path = Path("/tmp") / f"vidcarbon-host-{os.getuid()}-{uuid.uuid4().hex[:12]}.sock"
    with open(path.with_suffix(".log"), "a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vidcarbon.process.model_host", str(path), str(owner)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return f"{path}:{proc.pid}"


def enabled() -> bool:
    """Whether this job runs in a SLURM job whose batch step started a host."""
    return os.environ.get(ENV, "0") != "0"


# -- client ---------------------------------------------------------------------------------
def _connect(timeout_s: float = 60.0) -> socket.socket | None:
    """A connection to the host, waiting while it starts; None once it is gone."""
    address = os.environ[ENV]
    path, pid = Path(address.rsplit(":", 1)[0]), int(address.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        client = warm_worker.connect(path)
        if client is not None:
            return client
        if path.exists() or not _alive(pid):  # it was listening and is gone
            _remove(path)
            return None
        time.sleep(0.05)  # started, not yet listening
    return None


def run(request_path: str | Path, log_path: str | Path) -> int | None:
    """Run `vidcarbon.process.child` on `request_path` in the host; the job's exit code, or
    None if the host is gone (an earlier job crashed it). Raises HostLost if the host ended
    during this job."""
    client = _connect()
    if client is None:
        return None
    reply = warm_worker.send_job(client, request_path, log_path)
    if reply is None:
        raise HostLost(
            "the model host process ended during the job (a crash, the out-of-memory killer "
            "or scancel); earlier jobs' records are kept and the next jobs run in fresh "
            "processes"
        )
    return int(reply["returncode"])


# -- server ---------------------------------------------------------------------------------
def _remove(path: Path) -> None:
    """Remove the host's socket, and its log unless something was written there."""
    path.unlink(missing_ok=True)
    log = path.with_suffix(".log")
    with contextlib.suppress(OSError):
        if log.stat().st_size == 0:
            log.unlink()


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
                _remove(self.path)
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
                    _remove(self.path)
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


def serve(path: Path, owner: int) -> None:
    """Run jobs sent on `path`, one at a time, until `owner` exits (the watchdog ends it)."""
    from vidcarbon.workloads import loaded

    watchdog = _Watchdog(owner, path)
    watchdog.start()
    stdout_fd, stderr_fd = os.dup(1), os.dup(2)
    # listening before the imports: a job that connects meanwhile waits in the backlog
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    warm_worker.preload()
    loaded.keep_models()
    try:
        while True:
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
    finally:
        listener.close()
        _remove(path)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]))
