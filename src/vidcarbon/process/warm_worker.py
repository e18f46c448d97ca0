"""A warm worker: one process imports torch and diffusers once, then forks a child per job.

Each measured job would otherwise spend ~5 s of its ~7 s importing libraries (see
docs/benchmarks.md). Jobs of the same working directory connect to one server over a Unix
socket; the server forks a fresh child per request (so every job still has its own process,
memory and failure), waits for it, and answers with its exit status. A client that goes away
(Snakemake killed) gets its child killed. The server exits after `idle_s` without jobs.

Only third-party libraries are preloaded; vidcarbon's own modules are imported by each child
after the fork, so an edited package is always picked up. Set VIDCARBON_WARM_WORKER=0 to run
every job in a cold `python -m vidcarbon.process.child` process instead (the default in SLURM jobs).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

# module -> attributes to touch: diffusers and transformers import lazily, so importing the
# package alone would preload almost nothing.
PRELOAD = {
    "torch": (),
    "numpy": (),
    "imageio.v3": (),
    "diffusers": (
        "AutoencoderKL",
        "DDPMScheduler",
        "LattePipeline",
        "LatteTransformer3DModel",
        "DPMSolverMultistepScheduler",
        "PixArtAlphaPipeline",
        "PixArtTransformer2DModel",
    ),
    "transformers": (
        "T5Config",
        "T5EncoderModel",
        "T5Tokenizer",
        "LlamaConfig",
        "LlamaForCausalLM",
        "StoppingCriteriaList",
    ),
}
IDLE_S = 30.0


def enabled() -> bool:
    """Off with VIDCARBON_WARM_WORKER=0, and inside SLURM jobs: a server forked there could
    outlive the job and serve another job's (the model host serves a packed job instead)."""
    if "SLURM_JOB_ID" in os.environ:
        return False
    return os.environ.get("VIDCARBON_WARM_WORKER", "1") != "0"


def socket_path(workdir: str | Path = ".") -> Path:
    """One server per (user, interpreter, working directory); short enough for AF_UNIX."""
    key = f"{os.getuid()}:{sys.executable}:{Path(workdir).resolve()}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return Path("/tmp") / f"vidcarbon-{digest}.sock"


# -- client ---------------------------------------------------------------------------------
def connect(path: Path) -> socket.socket | None:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(str(path))
        return client
    except (FileNotFoundError, ConnectionRefusedError):
        client.close()
        return None


def start_server(path: Path, command: list[str], timeout_s: float = 120.0) -> socket.socket | None:
    """Start the server `command` listening on `path`, unless another client just did;
    return a connection to it."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = connect(path)
        if client is not None:
            return client
        path.unlink(missing_ok=True)  # a stale socket of a dead server
        with open(path.with_suffix(".log"), "a") as log:
            subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            client = connect(path)
            if client is not None:
                return client
            time.sleep(0.05)
    return None


def run(request_path: str | Path, log_path: str | Path) -> int | None:
    """Run `vidcarbon.process.child` on `request_path` in a warm child; its exit code (negative:
    killed by that signal), or None if no warm worker could be reached."""
    path = socket_path()
    command = [sys.executable, "-m", "vidcarbon.process.warm_worker", str(path), str(IDLE_S)]
    client = connect(path) or start_server(path, command)
    if client is None:
        return None
    reply = send_job(client, request_path, log_path)
    return None if reply is None else int(reply["returncode"])


def send_job(client: socket.socket, request_path: str | Path, log_path: str | Path) -> dict | None:
    """Send one job's request over `client` and close it; the server's reply, or None if the
    server closed the connection without one."""
    with client:
        message = {"request": str(request_path), "log": str(Path(log_path).resolve())}
        client.sendall(json.dumps(message).encode() + b"\n")
        reply = client.makefile("rb").readline()
    return json.loads(reply) if reply else None


# -- server ---------------------------------------------------------------------------------
def _child(listener: socket.socket, conn: socket.socket, message: dict) -> None:
    """In the forked child: become the job. Never returns."""
    code = 1
    try:
        listener.close()
        conn.close()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        fd = os.open(message["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        from vidcarbon.process.child import main

        code = main([message["request"]])
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def preload() -> None:
    """Import the PRELOAD libraries."""
    for name, attributes in PRELOAD.items():
        # Preloading only saves time: a library version without some of these names (e.g.
        # diffusers 0.27 in the Open-Sora envs) must not keep the server from starting.
        with contextlib.suppress(ImportError):
            module = importlib.import_module(name)
            for attribute in attributes:
                with contextlib.suppress(ImportError, AttributeError):
                    getattr(module, attribute)


def serve(path: Path, idle_s: float) -> None:
    """Accept jobs on `path` until idle for `idle_s` seconds. Single-threaded, so fork is safe."""
    preload()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    children: dict[int, socket.socket] = {}
    last_activity = time.monotonic()
    try:
        while children or time.monotonic() - last_activity < idle_s:
            readable, _, _ = select.select([listener, *children.values()], [], [], 0.1)
            for sock in readable:
                if sock is listener:
                    conn, _ = listener.accept()
                    conn.settimeout(10)
                    message = json.loads(conn.makefile("rb").readline())
                    conn.settimeout(None)
                    pid = os.fork()
                    if pid == 0:
                        _child(listener, conn, message)
                    children[pid] = conn
                else:
                    pid = next(p for p, c in children.items() if c is sock)
                    if not sock.recv(1):  # the client went away: its job must not live on
                        os.kill(pid, signal.SIGKILL)
            while children:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                conn = children.pop(pid)
                returncode = os.waitstatus_to_exitcode(status)
                with contextlib.suppress(OSError):  # the client may be gone
                    conn.sendall(json.dumps({"returncode": returncode}).encode() + b"\n")
                conn.close()
                last_activity = time.monotonic()
    finally:
        listener.close()
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), float(sys.argv[2]))
