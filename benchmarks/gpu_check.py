"""The GPU check's parts, each a Snakemake run of the real pipeline in its own time budget.

Run it through `benchmarks/gpu_check.sh` (which installs the carried wheels on a GPU machine);
`--help` lists the options. First the pre-flight (benchmarks/gpu_check_preflight.py, at most
60 s: imports, versions, NVML and its energy counter, one CUDA product); if it fails, the check
stops with one line and exit status 2. Then the parts, in order (budget and predicted wall time
on one H200, in seconds; `PARTS` gives the reasoning of each prediction):

  required   energy     idle_baseline + energy_check: the meter against NVML       50  (31)
  required   wan        Wan2.1-T2V-1.3B, full size, 480x832, 81 frames, 50 steps   190 (125)
  required   llm        Llama-2-13B, full size, one request per dataset              90  (40)
  required   wan-flops  count_flops on shapes (meta device, no GPU time)             45  (25)
  optional   levers     Wan2.1 without CFG and with half the steps, against wan    200 (145)
  optional   cogvideox  CogVideoX-2b at 480x720, 49 frames                          110  (75)
  optional   latte      Latte-1 at 512x512 and the paper's 2 s 240p cell              90  (55)
  optional   parallel   Wan2.1's cell on two GPUs (Ulysses 2), against wan's          130  (85)

Budgets are capped by what is left of `--total-s` (450 s from the command's start). An optional
part starts only when its prediction fits what is left; one that does not, or that runs out
of time, is `skipped: time`; one that needs more GPUs than the node has, `skipped: one GPU`.
Exit status 0 means every required part came back ok, 1 that one did not; optional parts never
change it. The tables of finished parts stay. Everything lands
in `--out`: gpu_check.log, gpu_check.parquet and gpu_check.md (one row per figure) and
gpu_check_tables.tar.gz (each part's tables, job records and logs). `--cpu` runs the same
parts and logic on this CPU with tiny models (config/gpu-check/cpu/) and the CPU-mode
predictions; `--dry-run` only builds each part's DAG (`snakemake -n`), on any machine;
`--preflight` runs the pre-flight alone (and writes preflight.json).
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
TOTAL_S = 450.0
KILL_GRACE_S = 15.0
PREFLIGHT_S = 60.0
OUTPUTS = ("gpu_check.log", "gpu_check.parquet", "gpu_check.md", "gpu_check_tables.tar.gz")


@dataclass(frozen=True)
class Part:
    """One Snakemake run of the check.

    `predicted_s`: the kit's estimate of its wall time on one H200 (its reasoning is beside each
    part below; no part has run on a GPU yet); `predicted_cpu_s`: its wall time in `--cpu` mode
    on the 2-core development VM (docs/benchmarks.md). A required part's budget is at least
    1.5x its prediction; an optional part starts only when its prediction fits what is left.
    """

    name: str
    config: str  # config/gpu-check/<name>.yaml for each "+"-joined name (and cpu/ in --cpu)
    targets: tuple[str, ...]  # Snakemake targets; {device} is filled in
    tables: tuple[str, ...]  # what the part leaves, copied to parts/<name>/ (as its file name)
    budget_s: float
    predicted_s: float
    predicted_cpu_s: float
    required: bool = True
    gpus: int = 1  # GPUs it needs (processes in --cpu mode)


VIDEO_TABLES = ("results/runs.parquet", "results/steps.parquet", "results/traces.parquet")
PARTS = (
    # idle_baseline (5 s of idle) and energy_check, two jobs with a CUDA start each (~3 s), cold
    # imports in the warm worker (11 s measured on the VM) and 5,000 bf16 8192^3 products
    # (5.5 PFLOP: 7 s at 790 TFLOP/s): 23-31 s
    Part(
        "energy",
        "wan",
        ("results/idle/{device}.json", "results/energy_check/{device}.json"),
        ("results/idle/{device}.json", "results/energy_check/{device}.json"),
        budget_s=50,
        predicted_s=31,
        predicted_cpu_s=5,
    ),
    # encode_prompt (UMT5-XXL built on the GPU, ~10 s), generate: build (~5 s), warm-up step and
    # decode (~8 s), 50 steps (~85 s: ML.ENERGY's 95.4 s whole call on an H100, less its
    # decode), decode (~6 s); collect and Snakemake starts (~10 s): about 125 s
    Part(
        "wan",
        "wan",
        ("results/runs.parquet",),
        VIDEO_TABLES,
        budget_s=190,
        predicted_s=125,
        predicted_cpu_s=8,
    ),  # fmt: skip
    # Llama-2-13B built on the GPU (~5 s), 6 requests, 320 tokens decoded at ~30 ms a token
    # (HF generate, bf16), CUDA start, llm_prompts and collect_llm: about 40 s
    Part(
        "llm",
        "wan",
        ("results/llm.parquet",),
        ("results/llm.parquet",),
        budget_s=90,
        predicted_s=40,
        predicted_cpu_s=7,
    ),  # fmt: skip
    # count_flops on shapes (meta device, no GPU time): cold imports (11 s) and the count at
    # full size (12 s on the VM's 2 cores: tests/test_flops.py)
    Part(
        "wan-flops",
        "wan",
        ("results/flops.parquet",),
        ("results/flops.parquet",),
        budget_s=45,
        predicted_s=25,
        predicted_cpu_s=7,
    ),  # fmt: skip
    # two lever cells of Wan2.1 beside the wan part's baseline (not measured again): CFG off
    # (one pass a step: ~45 s of denoising) and half the steps (~45 s), each with its build,
    # warm-up and decode (~20 s), then collect, carbon and the levers table (~15 s): about 145 s
    Part(
        "levers",
        "wan+levers",
        ("results/levers.parquet",),
        ("results/levers.parquet", "results/runs.parquet"),
        budget_s=200,
        predicted_s=145,
        predicted_cpu_s=8,
        required=False,
    ),  # fmt: skip
    # T5-XXL encode (~10 s), build and warm-up (~10 s), ML.ENERGY's 43 s call on an H100,
    # collect (~5 s): about 75 s
    Part(
        "cogvideox",
        "cogvideox",
        ("results/runs.parquet",),
        VIDEO_TABLES,
        budget_s=110,
        predicted_s=75,
        predicted_cpu_s=4,
        required=False,
    ),  # fmt: skip
    # T5-XXL encode, two 16-frame cells of a 1.06B-parameter denoiser (~10 s each with
    # warm-up), collect: about 55 s
    Part(
        "latte",
        "latte",
        ("results/runs.parquet",),
        VIDEO_TABLES,
        budget_s=90,
        predicted_s=55,
        predicted_cpu_s=4,
        required=False,
    ),  # fmt: skip
    # Wan2.1's cell on two GPUs beside the wan part's (not measured again): the launcher and
    # NCCL start (~10 s), each rank's build and warm-up (~15 s), 50 steps at about 1.8x the
    # one-GPU speed (~47 s), rank 0's decode (~6 s), collect (~5 s): about 85 s
    Part(
        "parallel",
        "wan+parallel",
        ("results/runs.parquet",),
        ("results/runs.parquet", "results/ranks.parquet"),
        budget_s=130,
        predicted_s=85,
        predicted_cpu_s=12,
        required=False,
        gpus=2,
    ),  # fmt: skip
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
    names = ["common", *part.config.split("+")]
    files = [CONFIGS / f"{name}.yaml" for name in names]
    if cpu:  # the tiny sizes, where a part file has any
        files += [
            CONFIGS / "cpu" / f"{n}.yaml"
            for n in names
            if (CONFIGS / "cpu" / f"{n}.yaml").is_file()
        ]
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


def visible_gpus(cpu: bool) -> int:
    """GPUs this node has (`nvidia-smi -L`, so this process never touches CUDA); in --cpu
    mode the processes a part may start, one per core it may use."""
    if cpu:
        return len(os.sched_getaffinity(0))
    if not shutil.which("nvidia-smi"):
        return 0
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return sum(line.startswith("GPU ") for line in out.stdout.splitlines())


def config_hash(parts: list[Part], cpu: bool) -> str:
    digest = hashlib.sha256()
    for name in sorted({f for p in parts for f in config_files(p, cpu)}):
        digest.update((REPO / name).read_bytes())
    return digest.hexdigest()[:16]


def run_preflight(args, log: Log) -> dict:
    """The pre-flight (benchmarks/gpu_check_preflight.py) in its own process, so that this
    one never touches CUDA; its result, or a failed one that says why."""
    command = [sys.executable, str(REPO / "benchmarks" / "gpu_check_preflight.py")]
    command += ["--cpu"] if args.cpu or args.dry_run else []
    try:
        proc = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=PREFLIGHT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "versions": {}, "failed": [{"step": f"over {PREFLIGHT_S:.0f} s"}]}
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"ok": False, "versions": {}, "failed": [{"step": "no result"}]}
    if proc.returncode != 0 or proc.stderr.strip():
        log.file.write(proc.stderr)
    for step in result.get("failed", []):
        log(f"preflight: {step['step']} failed: {step.get('error', proc.stderr[-500:])}")
    log(f"preflight {'ok' if result['ok'] else 'FAILED'} in {result.get('seconds', '?')} s; "
        f"versions {json.dumps(result.get('versions', {}))}")  # fmt: skip
    return result


def summarize(args, statuses, parts, device, preflight: dict, log: Log) -> None:
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
        "vidcarbon.gpu_check.versions": json.dumps(preflight.get("versions", {})),
        "vidcarbon.gpu_check.preflight": json.dumps(preflight),
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
    parser.add_argument(
        "--predict",
        action="append",
        default=[],
        metavar="PART=SECONDS",
        help="override a part's predicted wall time (an optional part starts only if it fits)",
    )
    parser.add_argument("--preflight", action="store_true", help="run the pre-flight only")
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

    def seconds(option: str, items: list[str]) -> dict[str, float]:
        found = {}
        for item in items:
            name, _, value = item.partition("=")
            if name not in known or not value.replace(".", "", 1).isdigit():
                parser.error(
                    f"{option} {item!r}: expected PART=SECONDS with PART one of {', '.join(known)}"
                )
            found[name] = float(value)
        return found

    budgets, predictions = seconds("--budget", args.budget), seconds("--predict", args.predict)
    prediction = "predicted_cpu_s" if args.cpu else "predicted_s"
    args.selected = [
        Part(
            **{
                **known[n].__dict__,
                "budget_s": budgets.get(n, known[n].budget_s),
                prediction: predictions.get(n, getattr(known[n], prediction)),
            }
        )
        for n in names
    ]
    return args


def main(argv: list[str]) -> int:
    """0: every required part came back (optional ones may be skipped or failed); 1: a
    required part failed or ran out of time; 2: the pre-flight failed and nothing ran."""
    from vidcarbon.gpu_check import PartStatus

    started = float(os.environ.get("GPU_CHECK_T0", time.time()))
    args = parse_args(argv)
    device = "cpu" if args.cpu else "cuda"
    args.out.mkdir(parents=True, exist_ok=True)
    for name in (*OUTPUTS, "preflight.json"):
        (args.out / name).unlink(missing_ok=True)
    log = Log(args.out / "gpu_check.log")
    log(f"mode {device}{' (dry run)' if args.dry_run else ''}, host {socket.gethostname()}")
    if not args.cpu and shutil.which("nvidia-smi"):
        subprocess.run(["nvidia-smi"], stdout=log.file, stderr=subprocess.STDOUT, check=False)
    preflight = run_preflight(args, log)
    if args.preflight:
        (args.out / "preflight.json").write_text(json.dumps(preflight, indent=1) + "\n")
    if not preflight["ok"]:
        first = preflight["failed"][0]
        print(
            f"gpu_check: pre-flight failed at {first['step']}: {first.get('error', '')}; "
            f"nothing else ran (details: {args.out / 'gpu_check.log'})",
            file=sys.stderr,
        )
        return 2
    if args.preflight:
        return 0
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    # the configs name files relative to the working directory (prompts, hardware.yaml)
    (args.work / "config").symlink_to(REPO / "config")
    statuses: list[PartStatus] = []
    gpus = visible_gpus(args.cpu)
    for part in args.selected:
        left_s = args.total_s - (time.time() - started)
        predicted_s = part.predicted_cpu_s if args.cpu else part.predicted_s
        budget_s = part.budget_s if args.dry_run else max(1.0, min(part.budget_s, left_s))
        if not args.dry_run and part.gpus > gpus:
            reason = f"needs {part.gpus} GPUs, the node has {gpus}"
            statuses.append(PartStatus(part.name, "skipped: one GPU", part.budget_s, None, reason))
            log(f"part {part.name}: skipped: one GPU ({reason})")
        elif not args.dry_run and not part.required and predicted_s > left_s:
            reason = f"predicted {predicted_s:.0f} s, {left_s:.0f} s left"
            statuses.append(PartStatus(part.name, "skipped: time", part.budget_s, None, reason))
            log(f"part {part.name}: skipped: time ({reason})")
        else:
            command = snakemake_command(part, args, device)
            log(
                f"part {part.name} ({'required' if part.required else 'optional'}): budget "
                f"{budget_s:.0f} s, predicted {predicted_s:.0f} s: {' '.join(command[1:])}"
            )
            t0 = time.time()
            status, reason = run_part(command, budget_s, log)
            if status == "timed out" and not part.required:
                status = "skipped: time"
            wall_s = time.time() - t0
            kept = keep_tables(part, args.work, device, t0)
            log(f"part {part.name}: {status} in {wall_s:.1f} s; tables {kept}")
            statuses.append(PartStatus(part.name, status, budget_s, wall_s, reason))
        if args.dry_run:
            continue
        try:
            summarize(args, statuses, args.selected, device, preflight, log)
            archive(args.work, args.out)
        except Exception:  # noqa: BLE001 - a broken summary must not stop the next part
            log(f"summary failed:\n{traceback.format_exc()}")
    table = args.out / "gpu_check.parquet"
    if table.is_file():  # the main figures in the command's output too
        import pyarrow.parquet as pq

        from vidcarbon.gpu_check import brief

        print(brief(pq.read_table(table).to_pylist()), flush=True)
    required = {p.name for p in args.selected if p.required}
    missing = [s.part for s in statuses if s.part in required and s.status != "ok"]
    optional = [f"{s.part} {s.status}" for s in statuses if s.part not in required]
    log(
        f"done in {time.time() - started:.0f} s; required parts not ok: {missing or 'none'}; "
        f"optional: {', '.join(optional) or 'none'}"
    )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
