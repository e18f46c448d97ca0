"""Each stage after the measured jobs, timed on the synthetic study: wall time, CPU time and
peak memory per rule, then the report, then the same after the study grows.

Usage: python benchmarks/synthetic_stages.py [--base REF] [--cells 10000] [--add-steps 22] [--keep]

Writes the synthetic study (`benchmarks/synthetic_study.py`) into a temporary directory, runs
`snakemake --cores 2` there on this working tree (every job's Python process records its
wall time, CPU time and peak RSS through `benchmarks/accounting/sitecustomize.py`), then
`snakemake --report`, then adds a step count (`--add-steps`: its cells' records, as the
generate jobs would have written them) and runs again: the rerun's collection reads the new
cells. One line per rule: processes, wall seconds (sum and slowest), CPU seconds, and the
peak RSS of its largest process (VmHWM). Snakemake's own planning is the line `snakemake`.

With `--base REF`, the same first for REF (`git archive`, its own `src/` first on PYTHONPATH)
on its own copy of the study. A base with one scoring job per cell finds each stored score at
its job's output, `results/quality/<cell>.json`, so it scores nothing either.
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
from pathlib import Path

from default_run import checkout  # benchmarks/ is this script's folder
from synthetic_study import write_study

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
SCRIPT = re.compile(r"\.snakemake/scripts/tmp[^/.]*\.(\w+)\.py$")


def run(tree: Path, dest: Path, accounting: Path, *args: str) -> float:
    """Snakemake of `tree` in `dest`, every Python process accounted; its wall seconds."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'benchmarks' / 'accounting'}:{tree / 'src'}",
        "VIDCARBON_ACCOUNTING": str(accounting),
    }
    cmd = [SNAKEMAKE, "-s", str(tree / "Snakefile"), "-d", str(dest), "--cores", "2", *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall_s = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-4000:]}")
    return wall_s


def by_rule(accounting: Path) -> dict[str, dict]:
    stats = defaultdict(lambda: {"jobs": 0, "wall_s": 0.0, "slowest_s": 0.0, "cpu_s": 0.0})
    for line in accounting.read_text().splitlines():
        p = json.loads(line)
        script = next((m[1] for a in p["argv"] if (m := SCRIPT.search(a))), None)
        rule = script or ("snakemake" if "snakemake" in " ".join(p["argv"]) else "other")
        s = stats[rule]
        s["jobs"] += 1
        s["wall_s"] += p["wall_s"]
        s["slowest_s"] = max(s["slowest_s"], p["wall_s"])
        s["cpu_s"] += p["self_s"]
        s["max_rss_mb"] = max(s.get("max_rss_mb", 0), p["max_rss_mb"])
    return dict(stats)


def show(title: str, wall_s: float, stats: dict[str, dict]) -> None:
    print(f"\n{title}: {wall_s:.1f} s wall in all")
    print(f"{'rule':<32}{'processes':>10}{'wall s':>9}{'slowest s':>11}{'cpu s':>8}{'peak MB':>9}")
    for rule, s in sorted(stats.items(), key=lambda kv: -kv[1]["wall_s"]):
        print(
            f"{rule:<32}{s['jobs']:>10}{s['wall_s']:>9.1f}{s['slowest_s']:>11.1f}"
            f"{s['cpu_s']:>8.1f}{s['max_rss_mb']:>9.0f}",
            flush=True,
        )


def stages(side: str, tree: Path, root: Path, cells: int, add_steps: int) -> None:
    dest = root / side / "study"
    start = time.perf_counter()
    write_study(dest, cells)
    took_s = time.perf_counter() - start
    print(f"\n[{side}] synthetic study of {cells} cells written in {took_s:.0f} s")
    for title, extra in (("run", ()), ("report", ("--report", "results/report.html"))):
        accounting = root / side / f"{title}.jsonl"
        wall_s = run(tree, dest, accounting, *extra)
        show(f"[{side}] {title}", wall_s, by_rule(accounting))
    added = write_study(dest, cells, add_steps=[add_steps])
    accounting = root / side / "rerun.jsonl"
    wall_s = run(tree, dest, accounting)
    show(
        f"[{side}] rerun after adding steps {add_steps} ({added} cells)",
        wall_s,
        by_rule(accounting),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="git ref to run first (e.g. 74a4e15)")
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--add-steps", type=int, default=22)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vidcarbon-synthetic-"))
    try:
        print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
        sides = {"tree": REPO}
        if args.base:
            checkout(args.base, root / "base-tree")
            sides = {"base": root / "base-tree", **sides}
        for side, tree in sides.items():
            stages(side, tree, root, args.cells, args.add_steps)
        print(f"\nload average after: {Path('/proc/loadavg').read_text().strip()}")
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
