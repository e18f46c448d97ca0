"""The GPU check's parts, each a Snakemake run of the real pipeline in its own time budget.

Run it through `benchmarks/gpu_check.sh` (which installs the carried wheels on a GPU machine);
`--help` lists the options. Parts, in order (budgets in seconds, capped by what is left of
`--total-s`):

  energy     idle_baseline + energy_check: the meter against the NVML energy counter  (35)
  wan        Wan2.1-T2V-1.3B, full size, random weights, 480x832, 81 frames, 50 steps (180)
  llm        Llama-2-13B, full size, random weights, one request per dataset           (90)
  wan-flops  count_flops at Wan2.1's shape: the FLOPs bound of its denoising            (40)
  cogvideox  CogVideoX-2b at 480x720, 49 frames (if at least 60 s are left)            (100)
  latte      Latte-1 at 512x512 and the paper's 2 s 240p cell (if 60 s are left)        (90)

A part that fails or runs out of time is recorded as such and the next part runs; the tables
of finished parts stay. Everything lands in `--out`: gpu_check.log, gpu_check.parquet and
gpu_check.md (one row per figure) and gpu_check_tables.tar.gz (each part's tables, job
records and logs). `--cpu` runs the same parts on this CPU with tiny models (config/gpu-check/
cpu/); `--dry-run` only builds each part's DAG (`snakemake -n`), on any machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIGS = Path("config/gpu-check")
TOTAL_S = 360.0
OPTIONAL_MIN_S = 60.0
KILL_GRACE_S = 15.0


@dataclass(frozen=True)
class Part:
    name: str
    config: str  # config/gpu-check/<config>.yaml (and cpu/<config>.yaml in --cpu)
    targets: tuple[str, ...]  # Snakemake targets; {device} is filled in
    tables: tuple[str, ...]  # what the part leaves, copied to parts/<name>/ (as its file name)
    budget_s: float
    optional: bool = False


PARTS = (
    Part(
        "energy",
        "wan",
        ("results/idle/{device}.json", "results/energy_check/{device}.json"),
        ("results/idle/{device}.json", "results/energy_check/{device}.json"),
        35,
    ),
    Part(
        "wan",
        "wan",
        ("results/runs.parquet",),
        ("results/runs.parquet", "results/steps.parquet", "results/traces.parquet"),
        180,
    ),
    Part("llm", "wan", ("results/llm.parquet",), ("results/llm.parquet",), 90),
    Part("wan-flops", "wan", ("results/flops.parquet",), ("results/flops.parquet",), 40),
    Part(
        "cogvideox",
        "cogvideox",
        ("results/runs.parquet",),
        ("results/runs.parquet", "results/steps.parquet", "results/traces.parquet"),
        100,
        optional=True,
    ),
    Part(
        "latte",
        "latte",
        ("results/runs.parquet",),
        ("results/runs.parquet", "results/steps.parquet", "results/traces.parquet"),
        90,
        optional=True,
    ),
)


class Log:
    """The check's log: its own lines, timestamped, and each Snakemake run's output."""

    def __init__(self, path: Path):
        self.path = path
        self.file = open(path, "a", buffering=1)  # noqa: SIM115 - open for the whole run

    def __call__(self, message: str) -> None:
        line = f"[gpu-check {dt.datetime.now().strftime('%H:%M:%S')}] {message}"
        print(line, flush=True)
        self.file.write(line + "\n")


def config_files(part: Part, cpu: bool) -> list[str]:
    files = [CONFIGS / "common.yaml", CONFIGS / f"{part.config}.yaml"]
    if cpu:
        files += [CONFIGS / "cpu" / "common.yaml", CONFIGS / "cpu" / f"{part.config}.yaml"]
    return [str(f) for f in files]


def snakemake_command(part: Part, args, device: str) -> list[str]:
    # --scheduler greedy: the default ILP scheduler needs PuLP (17 MB), which the GPU machine
    # lacks; --resources gpu=1: one measuring job on the GPU at a time; --nolock: a part killed
    # at its budget leaves a lock that must not stop the next part.
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        str(args.cores),
        "--resources",
        "gpu=1",
        "--scheduler",
        "greedy",
        "--nolock",
        "--directory",
        str(args.work),
        *(["--dry-run"] if args.dry_run else []),
        *[t.format(device=device) for t in part.targets],
        "--configfile",  # last: it takes every argument after it
        *config_files(part, args.cpu),
    ]


def run_part(command: list[str], budget_s: float, log: Log) -> tuple[str, str | None]:
    """Run `command` from the repository root for at most `budget_s`; (status, reason).

    On time-out the whole process group gets SIGTERM (Snakemake stops its jobs; the warm
    worker kills a job whose client went away), then SIGKILL after a grace period.
    """
    log.file.flush()
    proc = subprocess.Popen(
        command, cwd=REPO, stdout=log.file, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        returncode = proc.wait(timeout=budget_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return "timed out", f"stopped at its budget of {budget_s:.0f} s"
    if returncode != 0:
        return "failed", f"snakemake exited with code {returncode} (see gpu_check.log)"
    return "ok", None


def keep_tables(part: Part, work: Path, device: str, since: float) -> list[str]:
    """Copy the tables this part wrote (not older ones of another part) to parts/<name>/."""
    folder = work / "parts" / part.name
    folder.mkdir(parents=True, exist_ok=True)
    kept = []
    for table in part.tables:
        path = work / table.format(device=device)
        if path.is_file() and path.stat().st_mtime >= since:
            name = path.name if part.name != "energy" else f"{path.parent.name}_{path.name}"
            shutil.copy2(path, folder / name)
            kept.append(name)
    return kept


def archive(work: Path, out: Path) -> None:
    """Tables, job records and logs (no videos, no embeddings) into gpu_check_tables.tar.gz."""
    tmp = out / ".gpu_check_tables.tar.gz.tmp"
    with tarfile.open(tmp, "w:gz") as tar:
        for folder in ("parts", "logs", ".snakemake/log"):
            if (work / folder).is_dir():
                tar.add(work / folder, arcname=folder)
        for record in sorted((work / "results").rglob("*.json")):
            tar.add(record, arcname=str(record.relative_to(work)))
    tmp.replace(out / "gpu_check_tables.tar.gz")


def config_hash(parts: list[Part], cpu: bool) -> str:
    digest = hashlib.sha256()
    for name in sorted({f for p in parts for f in config_files(p, cpu)}):
        digest.update((REPO / name).read_bytes())
    return digest.hexdigest()[:16]


def versions() -> dict[str, str]:
    from importlib import metadata

    found = {"python": sys.version.split()[0]}
    for name in ("torch", "transformers", "diffusers", "snakemake", "zeus", "nvidia-ml-py"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def summarize(args, statuses, parts, device, log: Log) -> None:
    """Rewrite gpu_check.parquet / .md from what the parts have left so far."""
    import yaml

    from vidcarbon import gpu_check
    from vidcarbon.analysis.efficiency import gpu_peaks
    from vidcarbon.config import load_hardware

    model_ids = {}
    for part in parts:
        for name in config_files(part, args.cpu):
            models = yaml.safe_load((REPO / name).read_text()).get("models", {})
            for model, entry in models.items():
                model_ids.setdefault(model, entry.get("options", {}).get("model"))
    rows = gpu_check.figures(
        args.work / "parts",
        statuses,
        device,
        model_ids,
        gpu_peaks(load_hardware(REPO / "config" / "hardware.yaml")),
    )
    mode = "cpu: tiny models, not GPU figures" if args.cpu else "gpu"
    meta = {
        "vidcarbon.gpu_check.mode": mode,
        "vidcarbon.gpu_check.command": " ".join(sys.argv),
        "vidcarbon.gpu_check.parts": json.dumps([s.__dict__ for s in statuses]),
        "vidcarbon.gpu_check.versions": json.dumps(versions()),
    }
    title = f"GPU check, {mode} ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)"
    gpu_check.write(
        rows, args.out, config_hash(parts, args.cpu), [socket.gethostname()], meta, title
    )
    log(f"summary: {args.out / 'gpu_check.md'}")


def parse_args(argv: list[str]):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cpu", action="store_true", help="tiny models on this CPU")
    parser.add_argument("--dry-run", action="store_true", help="snakemake -n for every part")
    parser.add_argument("--out", type=Path, default=REPO / "gpu-check", help="result folder")
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "vidcarbon-gpu-check",
        help="Snakemake working directory (emptied first; keep it outside --out)",
    )
    parser.add_argument(
        "--parts", default=",".join(p.name for p in PARTS), help="comma-separated, in order"
    )
    parser.add_argument(
        "--budget",
        action="append",
        default=[],
        metavar="PART=SECONDS",
        help="override a part's time budget",
    )
    parser.add_argument("--total-s", type=float, default=TOTAL_S, help="budget of the whole check")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    args.out, args.work = args.out.resolve(), args.work.resolve()
    if args.work == args.out or args.out in args.work.parents:
        parser.error("--work must lie outside --out (only the four result files belong there)")
    known = {p.name: p for p in PARTS}
    names = [n for n in args.parts.split(",") if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"--parts: unknown {', '.join(unknown)}; allowed: {', '.join(known)}")
    budgets = {}
    for item in args.budget:
        name, _, seconds = item.partition("=")
        if name not in known or not seconds.replace(".", "", 1).isdigit():
            parser.error(
                f"--budget {item!r}: expected PART=SECONDS with PART one of {', '.join(known)}"
            )
        budgets[name] = float(seconds)
    args.selected = [
        Part(**{**known[n].__dict__, "budget_s": budgets.get(n, known[n].budget_s)}) for n in names
    ]
    return args


def main(argv: list[str]) -> int:
    from vidcarbon.gpu_check import PartStatus

    started = float(os.environ.get("GPU_CHECK_T0", time.time()))
    args = parse_args(argv)
    device = "cpu" if args.cpu else "cuda"
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ("gpu_check.log", "gpu_check.parquet", "gpu_check.md", "gpu_check_tables.tar.gz"):
        (args.out / name).unlink(missing_ok=True)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    # the configs name files relative to the working directory (prompts, hardware.yaml)
    (args.work / "config").symlink_to(REPO / "config")
    log = Log(args.out / "gpu_check.log")
    log(f"mode {device}{' (dry run)' if args.dry_run else ''}, host {socket.gethostname()}")
    log(f"versions {json.dumps(versions())}")
    if not args.cpu and shutil.which("nvidia-smi"):
        subprocess.run(["nvidia-smi"], stdout=log.file, stderr=subprocess.STDOUT, check=False)
    statuses: list[PartStatus] = []
    for part in args.selected:
        left_s = args.total_s - (time.time() - started)
        if args.dry_run:
            budget_s = part.budget_s
        elif part.optional and left_s < OPTIONAL_MIN_S:
            statuses.append(
                PartStatus(part.name, "skipped", part.budget_s, None, f"{left_s:.0f} s left")
            )
            log(f"part {part.name}: skipped, {left_s:.0f} s left of {args.total_s:.0f}")
            continue
        else:
            budget_s = max(1.0, min(part.budget_s, left_s))
        command = snakemake_command(part, args, device)
        log(f"part {part.name}: budget {budget_s:.0f} s: {' '.join(command[1:])}")
        t0 = time.time()
        status, reason = run_part(command, budget_s, log)
        wall_s = time.time() - t0
        kept = keep_tables(part, args.work, device, t0)
        log(f"part {part.name}: {status} in {wall_s:.1f} s; tables {kept}")
        statuses.append(PartStatus(part.name, status, budget_s, wall_s, reason))
        if args.dry_run:
            continue
        try:
            summarize(args, statuses, args.selected, device, log)
            archive(args.work, args.out)
        except Exception:  # noqa: BLE001 - a broken summary must not stop the next part
            log(f"summary failed:\n{traceback.format_exc()}")
    table = args.out / "gpu_check.parquet"
    if table.is_file():  # the main figures in the command's output too
        import pyarrow.parquet as pq

        from vidcarbon.gpu_check import brief

        print(brief(pq.read_table(table).to_pylist()), flush=True)
    failed = [s.part for s in statuses if s.status not in ("ok", "skipped")]
    log(f"done in {time.time() - started:.0f} s; parts not ok: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
