"""The Snakemake job's side of the process boundary: run a measured job in a child process,
so that a crash, an OOM kill or a signal becomes a recorded result instead of a lost one.

`run_isolated(...)` is called by the workloads' `jobs` modules (it does not import torch). The
child is forked by the warm worker (`vidcarbon.process.warm_worker`); inside a SLURM job the
job runs in the job's model host instead (`vidcarbon.process.model_host`: the cells packed
into one SLURM job share one process and its loaded model); else, or when neither can be
reached, it is `python -m vidcarbon.process.child REQUEST.json`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from vidcarbon.errors import ResubmitWithMoreResources
from vidcarbon.process import model_host, warm_worker
from vidcarbon.records import archive, history_path, load_history, read_json, write_json_atomic


def _describe_exit(returncode: int) -> tuple[str, str]:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = (
            " (the out-of-memory killer, a time limit or scancel)"
            if name in ("SIGKILL", "SIGTERM")
            else ""
        )
        return "killed", f"worker terminated by {name}{hint}"
    return "failed", f"worker exited with code {returncode} without writing its record"


# Statuses worth another attempt with more memory or time; "failed" (an exception) is not.
RESUBMIT_STATUSES = ("oom", "killed")


def export_max_attempts(attempts: int) -> None:
    """Called by the Snakefile's `onstart` with --retries + 1: `--retries` is not known while
    the Snakefile is parsed, and the job-step Snakemake on a node always gets --retries 0."""
    os.environ["VIDCARBON_MAX_ATTEMPTS"] = str(attempts)


def max_attempts() -> int:
    """Attempts Snakemake makes of a job (its --retries + 1), as the Snakefile exported it."""
    return int(os.environ.get("VIDCARBON_MAX_ATTEMPTS", "1"))


WORKSPACE_PREFIX = "vidcarbon-job-"


def remove_stale_workspaces(root: str | Path | None = None) -> list[Path]:
    """Remove the job folders (`vidcarbon-job-<pid>-*` in the temp dir) of dead processes:
    a job killed with its terminal (SIGHUP, SIGKILL) cannot remove its own."""
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{WORKSPACE_PREFIX}*-*"):
        pid = path.name.removeprefix(WORKSPACE_PREFIX).split("-")[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _run_warm(request: Path, log_path: str | Path, ranks: int) -> int | None:
    """The job's exit code from the model host (in a SLURM job) or the warm worker, or None
    when neither is on or reachable, or the job runs on several ranks (its own launcher)."""
    if ranks > 1:
        return None
    if model_host.enabled():
        return model_host.run(request, log_path)
    if warm_worker.enabled():
        return warm_worker.run(request, log_path)
    return None


def run_isolated(
    kind: str,
    kwargs: dict[str, Any],
    identity: dict[str, Any],
    record_path: str | Path,
    placeholders: list[str | Path],
    log_path: str | Path,
    attempt: int = 1,
    ranks: int = 1,
) -> dict[str, Any]:
    """Run job `kind` ("encode" | "generate" | "llm" | "image") with `kwargs` in a child process
    (with `ranks` > 1: in that many, started by torch's launcher, `vidcarbon.process.ranks`).

    The record at `record_path` always exists afterwards, with `identity` and the history of
    earlier attempts merged in; so do the `placeholders` (outputs the job would have written:
    empty if it failed). Except: an oom or killed job on Snakemake attempt `attempt` with
    attempts left (--retries) goes to the history and raises ResubmitWithMoreResources, so that
    Snakemake resubmits it with the next attempt's resources.
    """
    record_path = Path(record_path)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_workspaces()
    workspace = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-"))
    try:
        request, child_record = workspace / "request.json", workspace / "record.json"
        request.write_text(
            json.dumps(
                {"kind": kind, "kwargs": kwargs, "record_path": str(child_record)}, default=str
            )
        )
        returncode, lost = None, None
        try:
            returncode = _run_warm(request, log_path, ranks)
        except model_host.HostLost as exc:
            lost = str(exc)
        if returncode is None and lost is None:
            command = ["vidcarbon.process.child", str(request)]
            if ranks > 1:
                command = ["vidcarbon.process.ranks", str(ranks), str(request)]
            with open(log_path, "a") as log_file:
                returncode = subprocess.run(
                    [sys.executable, "-m", *command],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    check=False,
                ).returncode
        if returncode == 0 and child_record.exists():
            record = read_json(child_record)
        else:
            status, error = ("killed", lost) if lost else _describe_exit(returncode)
            record = {
                "kind": kind,
                "run_id": uuid.uuid4().hex,
                "status": status,
                "error": error,
                "windows": [],
                "trace": [],
            }
    finally:  # Ctrl-C included; a killed job's folder is removed by the next job
        shutil.rmtree(workspace, ignore_errors=True)
    record.update(identity)
    record["history"] = load_history(record_path)
    if record["status"] in RESUBMIT_STATUSES and attempt < max_attempts():
        archive(record_path, record)
        raise ResubmitWithMoreResources(
            f"{kind} job ended with status {record['status']} ({record.get('error')}) on "
            f"attempt {attempt} of {max_attempts()}: failing it so that Snakemake resubmits it "
            f"with more resources; this attempt is kept in {history_path(record_path)}"
        )
    write_json_atomic(record_path, record)
    for path in map(Path, placeholders):
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    return record
