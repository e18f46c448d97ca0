"""A parallel cell's ranks: started by torch's own launcher, their records merged into one.

The Snakemake job's side (`run_isolated`) starts `python -m vidcarbon.process.ranks N REQUEST`:
it runs torch.distributed's elastic launcher (what `torchrun` runs) for N processes on this
node, each `python -m vidcarbon.process.ranks --rank REQUEST`, which runs the measured job
(`vidcarbon.process.child`) as one rank and writes that rank's record. A rank whose job fails
exits non-zero after writing its record, so the launcher stops the others (which may be
waiting in a collective); a rank dies with the launcher (PR_SET_PDEATHSIG), so none is left
running. The launcher then merges the records (`merge`) into the cell's record: the cell's
energy per window is the sum over the ranks' devices, each rank's figures kept.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

from vidcarbon.records import read_json, write_json_atomic

log = logging.getLogger(__name__)


def rank_record_path(record_path: str | Path, rank: int) -> Path:
    return Path(f"{record_path}.rank{rank}.json")


# -- merging (torch-free) -------------------------------------------------------------------


def _counted(records: list[dict]) -> dict[str, list[int]]:
    """component -> the ranks whose reading of it is counted: every rank for a per-process
    counter, one rank per device for a device-wide one (a device several ranks read, such
    as the host's RAPL package, counts once)."""
    counted: dict[str, list[int]] = {}
    for i, rec in enumerate(records):
        for component, counter in rec.get("counters", {}).items():
            ranks = counted.setdefault(component, [])
            if not counter["device_wide"] or all(
                records[j]["counters"][component]["device_id"] != counter["device_id"]
                for j in ranks
            ):
                ranks.append(i)
    return counted


def _merged_windows(records: list[dict], counted: dict[str, list[int]]) -> list[dict]:
    """The windows every rank has, in rank 0's order: the longest duration, each component's
    energy summed over the ranks counted for it."""
    by_rank = [{w["name"]: w for w in rec["windows"]} for rec in records]
    merged = []
    for window in records[0]["windows"]:
        name = window["name"]
        if not all(name in windows for windows in by_rank):
            continue
        merged.append(
            {
                "name": name,
                "start_s": window["start_s"],
                "duration_s": max(w[name]["duration_s"] for w in by_rank),
                "energy_j": {
                    c: sum(by_rank[i][name]["energy_j"][c] for i in ranks)
                    for c, ranks in counted.items()
                },
            }
        )
    return merged


def _merged_trace(records: list[dict], counted: dict[str, list[int]]) -> list[list]:
    """Every counted rank's power samples, [t_s, component, power_w, rank], on rank 0's clock
    (aligned on the first window both have: the ranks began it at one barrier)."""
    starts0 = {w["name"]: w["start_s"] for w in records[0]["windows"]}
    trace = []
    for i, rec in enumerate(records):
        common = next((w for w in rec["windows"] if w["name"] in starts0), None)
        offset = 0.0 if common is None else starts0[common["name"]] - common["start_s"]
        trace += [
            [t_s + offset, component, power_w, rec["rank"]]
            for t_s, component, power_w in rec.get("trace", [])
            if i in counted.get(component, [])
        ]
    return sorted(trace, key=lambda sample: sample[0])


def _rank_summary(rec: dict) -> dict[str, Any]:
    keys = ("rank", "pid", "hostname", "status", "error", "device_id", "device_names", "windows")
    return {k: rec.get(k) for k in keys}


def root_failure(
    records: list[dict | None], failures: dict[int, tuple[str, str, int]]
) -> int | None:
    """The rank whose failure ended the cell, or None. When one rank fails the others fail
    after it (a collective loses its peer, or the launcher stops them with SIGTERM), so in
    order: a rank killed by a signal other than the launcher's SIGTERM (the OOM killer, a
    SIGKILL); else the rank whose own record failed first; else one that exited with an
    error without a record; else whichever the launcher names."""
    signalled = [r for r, (_, _, code) in failures.items() if code < 0 and code != -signal.SIGTERM]
    if signalled:
        return min(signalled)
    own = [r for r in records if r is not None and r["status"] != "ok"]
    if own:
        return min(own, key=lambda r: r.get("failed_at", float("inf")))["rank"]
    exited = [r for r, (_, _, code) in failures.items() if code > 0]
    if exited:
        return min(exited)
    missing = [i for i, r in enumerate(records) if r is None]
    return min([*failures, *missing]) if failures or missing else None


def merge(records: list[dict | None], failures: dict[int, tuple[str, str, int]]) -> dict[str, Any]:
    """The cell's record from its ranks' (`records[r]`: rank r's, None where it wrote none).

    `failures`: rank -> (status, why, exit code) of each rank the launcher saw fail. The
    cell fails with the rank of `root_failure`, which `failed_rank` names; `ranks` keeps each
    rank's own record; `device_counts` how many devices of each component the windows add up
    (for the idle power subtracted)."""
    world = len(records)
    present = [r for r in records if r is not None]
    if not present:
        merged: dict[str, Any] = {
            "kind": "generate",
            "run_id": uuid.uuid4().hex,
            "windows": [],
            "trace": [],
        }
    else:
        counted = _counted(present)
        merged = {
            **present[0],
            "windows": _merged_windows(present, counted),
            "trace": _merged_trace(present, counted),
            "device_counts": {c: len(ranks) for c, ranks in counted.items()},
            "device_id": ",".join(dict.fromkeys(r["device_id"] for r in present)),
            "shared": {
                c: "; ".join(why for r in present if (why := r["shared"].get(c))) or None
                for c in present[0].get("shared", {})
            },
        }
        for key in ("counters", "rank", "pid"):
            merged.pop(key, None)
    summaries = [
        _rank_summary(r) if r is not None else {"rank": i, "status": None, "windows": []}
        for i, r in enumerate(records)
    ]
    failed = root_failure(records, failures)
    if failed is None:
        status, why = "ok", None
    elif records[failed] is not None and records[failed]["status"] != "ok":
        status, why = records[failed]["status"], records[failed]["error"]
    else:
        status, why, _ = failures.get(failed, ("killed", "ended without writing its record", 0))
    for i, summary in enumerate(summaries):
        if summary["status"] is None:
            summary["status"], summary["error"], _ = failures.get(
                i, ("killed", "stopped by the launcher after another rank failed", 0)
            )
    merged.update(
        status=status,
        error=None if failed is None else f"rank {failed} of {world} failed: {why}",
        failed_rank=failed,
        world_size=world,
        ranks=summaries,
    )
    return merged


# -- the launcher ---------------------------------------------------------------------------


def _failures(exc) -> dict[int, tuple[str, str, int]]:
    """rank -> (status, why, exit code) of each rank in torch's ChildFailedError (keyed by
    global rank)."""
    from vidcarbon.process.isolation import _describe_exit

    found = {}
    for rank, failure in exc.failures.items():
        status, why = _describe_exit(failure.exitcode)
        found[rank] = (status, f"{why} (pid {failure.pid})", failure.exitcode)
    return found


def _missing_gpus(request: dict, world_size: int) -> str | None:
    """Why this node cannot run the request's ranks (fewer GPUs visible than ranks), or None."""
    import torch

    from vidcarbon.workloads.measured import Measurement

    if Measurement(**request["kwargs"]["measurement"]).compute_device != "cuda":
        return None
    visible = torch.cuda.device_count()
    if visible >= world_size:
        return None
    return (
        f"the cell runs on {world_size} GPUs but this node shows {visible} "
        f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}); on SLURM "
        "its job asks for them (rule generate_parallel), locally run it on a node with as many"
    )


def launch(request_path: str | Path, world_size: int) -> dict[str, Any]:
    """Run the request's job on `world_size` ranks with torch's elastic launcher and write
    the merged record where the request says."""
    from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    request = json.loads(Path(request_path).read_text())
    record_path = request["record_path"]
    missing = _missing_gpus(request, world_size)
    if missing:
        record = {
            **merge([None] * world_size, {}),
            "status": "failed",
            "error": missing,
            "failed_rank": None,
            "ranks": [],
        }
        write_json_atomic(record_path, record)
        return record
    os.environ[LAUNCHER_PID] = str(os.getpid())  # the ranks inherit it
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=world_size,
        run_id=uuid.uuid4().hex,
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        monitor_interval=0.1,
        start_method="spawn",
        # the ranks write to this process's output (the job's log); the launcher's own
        # folder goes with the request's, which the job removes
        logs_specs=DefaultLogsSpecs(log_dir=str(Path(request_path).parent / "launcher")),
        shutdown_timeout=10,  # SIGTERM, then SIGKILL after this, to the ranks left
    )
    failures = {}
    try:
        elastic_launch(config, sys.executable)(
            "-m", "vidcarbon.process.ranks", "--rank", str(request_path)
        )
    except ChildFailedError as exc:
        failures = _failures(exc)
    records = []
    for rank in range(world_size):
        path = rank_record_path(record_path, rank)
        records.append(read_json(path) if path.exists() else None)
    record = merge(records, failures)
    write_json_atomic(record_path, record)
    return record


# -- a rank ----------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
LAUNCHER_PID = "VIDCARBON_LAUNCHER_PID"


def _die_with_parent() -> None:
    """Have the kernel kill this rank when its launcher dies (Linux), so that a launcher
    killed by SLURM or the OOM killer leaves no rank running."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.warning("prctl(PR_SET_PDEATHSIG) unavailable: a rank outlives a killed launcher")
    if str(os.getppid()) != os.environ.get(LAUNCHER_PID):  # it died before the call
        os._exit(1)


def run_rank(request_path: str | Path) -> int:
    """One rank: run the request's job, write this rank's record; non-zero if it failed."""
    from vidcarbon.process.child import run_request

    _die_with_parent()
    request = json.loads(Path(request_path).read_text())
    rank = int(os.environ["RANK"])
    record = run_request(request_path, rank_record_path(request["record_path"], rank))
    return 0 if record["status"] == "ok" else 1


def main(argv: list[str]) -> int:
    if argv[0] == "--rank":
        code = run_rank(argv[1])
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # no interpreter shutdown: a failed rank's peers may be in a collective
    from vidcarbon.logs import setup_logging

    setup_logging()
    launch(argv[1], int(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
