"""`make run` from scratch on the working tree, optionally beside a base git ref, with the CPU
work of each rule kind.

Usage: python benchmarks/default_run.py [--base REF] [--cold] [--keep]
  --base REF  also run REF (e.g. main), first, from `git archive REF`, with the same venv
  --cold      disable the warm worker (VIDCARBON_WARM_WORKER=0) on both sides
  --keep      keep the temporary checkouts (their results/ and make-run.log) and print them

Each side runs in a temporary copy of its tree (the working tree: tracked and untracked,
non-ignored files), so the checkout's own results/ are never touched, with this interpreter's
venv and `src/` of that copy first on PYTHONPATH. It runs that side's own `make run`, not
reinstalling the venv (`make -o <venv stamp>`).

CPU work is counted exactly, not sampled: every Python process of the run loads
`benchmarks/accounting/sitecustomize.py`, which records its user+system CPU seconds when it
exits. A process belongs to the rule whose log its stdout is (measured jobs), whose script it
runs (`.snakemake/scripts/tmp*.<rule>.py`), or to Snakemake itself or the warm worker's library
imports. "Non-Python processes" (ffmpeg writing mp4s, git, shells, make) is the rest of the
run's total CPU time (this process's reaped children plus the warm worker, which is detached).
Core-seconds depend far less on machine load than wall time does; the wall time is printed
too. Figures are recorded by hand in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from vidcarbon.fits import fit_power_law

REPO = Path(__file__).resolve().parents[1]
ACCOUNTING = REPO / "benchmarks" / "accounting"
VENV = Path(sys.prefix)
SCRIPT = re.compile(r"\.snakemake/scripts/tmp[^/.]*\.(\w+)\.py$")


@dataclass
class Side:
    name: str
    wall_s: float = 0.0
    total_s: float = 0.0
    lines: int = 0
    core_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    processes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    runs: object = None


def checkout(ref: str | None, dest: Path) -> None:
    """The files of `ref` (None: the working tree, tracked and untracked, not ignored)."""
    dest.mkdir(parents=True)
    if ref is not None:
        archive = subprocess.run(
            ["git", "archive", ref], cwd=REPO, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def is_warm_worker(record: dict) -> bool:
    """The warm worker's server process (`python -m vidcarbon.process.warm_worker`; before
    the restructuring, `vidcarbon.warmpool`, as a --base ref may run it), not a forked job."""
    argv = record["argv"] or [""]
    return Path(argv[0]).name in ("warm_worker.py", "warmpool.py") and record["exit"] == "atexit"


def rule_kind(record: dict, workdir: Path) -> str:
    """The rule (or part of the run) that a process's CPU time belongs to."""
    stdout = record["stdout"]
    logs = f"{workdir}/logs/"
    if stdout.startswith(logs):  # a measured job: its stdout is the rule's log
        return stdout[len(logs) :].split("/")[0].removesuffix(".log")
    argv = record["argv"] or [""]
    match = SCRIPT.search(argv[0])
    if match:
        return match[1]
    if is_warm_worker(record):
        return "warm worker: library imports"
    return "snakemake itself" if argv[0].endswith("/snakemake") else Path(argv[0]).name


def wait_for_warm_worker(accounting: Path, timeout_s: float = 120.0) -> None:
    """The detached warm worker exits 30 s after its last job; its record ends the run."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = accounting.read_text().splitlines() if accounting.exists() else []
        if any(map(is_warm_worker, map(json.loads, lines))):
            return
        time.sleep(1)


def run_side(name: str, workdir: Path, cold: bool) -> Side:
    """`make run` in `workdir` from scratch; its wall time and CPU work."""
    accounting = workdir / ".accounting.jsonl"
    env = dict(
        os.environ,
        PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=f"{workdir / 'src'}{os.pathsep}{ACCOUNTING}",
        VIDCARBON_ACCOUNTING=str(accounting),
        VIDCARBON_WARM_WORKER="0" if cold else "1",
    )
    stamp = VENV / ".installed-stamp"
    before = os.times()
    start = time.monotonic()
    with open(workdir / "make-run.log", "w") as log:
        proc = subprocess.run(
            ["make", "-o", str(stamp), "run", f"VENV={VENV}"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    side = Side(name, wall_s=time.monotonic() - start)
    if proc.returncode != 0:
        raise SystemExit(f"{name}: make run failed ({proc.returncode}); see {workdir}/make-run.log")
    if not cold:
        wait_for_warm_worker(accounting)
    after = os.times()
    side.total_s = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    side.lines = len((workdir / "make-run.log").read_text().splitlines())
    python_s = 0.0
    for line in accounting.read_text().splitlines():
        record = json.loads(line)
        kind = rule_kind(record, workdir)
        side.core_s[kind] += record["self_s"]
        side.processes[kind] += 1
        python_s += record["self_s"]
        if is_warm_worker(record):
            # detached: not among this process's children; its forked jobs are its children
            side.total_s += record["self_s"] + record["children_s"]
    side.core_s["non-Python processes (ffmpeg, git, make, shells)"] = side.total_s - python_s
    side.runs = duckdb.sql(f"select * from '{workdir}/results/runs.parquet'").df()
    return side


def report(sides: list[Side]) -> None:
    cores = os.cpu_count()
    print(f"{cores} cores; load average now {os.getloadavg()[0]:.2f}")
    header = f"{'':<48}" + "".join(f"{s.name:>22}" for s in sides)
    if len(sides) == 2:
        header += f"{'ratio':>8}"
    print(header)

    def row(label: str, values: list[float], fmt: str = "{:>22.1f}") -> None:
        line = f"{label:<48}" + "".join(fmt.format(v) for v in values)
        if len(values) == 2 and values[0]:
            line += f"{values[1] / values[0]:>8.2f}"
        print(line)

    row("wall time of make run, s", [s.wall_s for s in sides])
    row("lines printed by make run", [s.lines for s in sides], "{:>22d}")
    row("cells (ok)", [int((s.runs.status == "ok").sum()) for s in sides], "{:>22d}")
    row("CPU time of the whole run, core-s", [s.total_s for s in sides])
    kinds = sorted({k for s in sides for k in s.core_s}, key=lambda k: -sides[-1].core_s[k])
    for kind in kinds:
        label = f"  {kind} ({'/'.join(str(s.processes.get(kind, 0)) for s in sides)} proc.)"
        row(label, [s.core_s.get(kind, 0.0) for s in sides])
    for side in sides:
        ok = side.runs[side.runs.status == "ok"]
        if "lever" in ok:  # the grid's law: lever cells run other steps or work per step
            ok = ok[ok.lever == "baseline"]
        print(f"\n{side.name}: {len(ok)} baseline cells; phase time fitted on them (95 % CI)")
        for phase in ("denoise", "decode"):
            fit = fit_power_law(
                ok[f"{phase}_duration_s"],
                steps=ok.steps,
                pixels=ok.height * ok.width,
                frames=ok.frames,
            )
            terms = "  ".join(
                f"{c.name} {c.value:.2f} [{c.ci_low:.2f}, {c.ci_high:.2f}]"
                for c in fit.coefficients[1:]
            )
            print(f"  {phase:<8} {terms}  R2 {fit.r2:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="git ref to run first, e.g. main")
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vidcarbon-bench-"))
    try:
        # Both trees are copied before either runs, so edits made meanwhile are not measured.
        trees = {"working tree": None} if not args.base else {f"base {args.base}": args.base}
        trees["working tree"] = None
        workdirs = {name: root / name.replace(" ", "-") for name in trees}
        for name, ref in trees.items():
            checkout(ref, workdirs[name])
        report([run_side(name, workdirs[name], args.cold) for name in trees])
    finally:
        if args.keep:
            print(f"\ncheckouts kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
