"""The same cells measured alone and inside the full default DAG, for a base ref and the
working tree side by side; and the wall time of the whole default DAG (`make run`) for both.

Usage: python benchmarks/isolation.py [--base main] [--cells 4] [--cores 2] [--configfile X]

For each tree (the working tree, and `--base` checked out with `git worktree` into a temporary
folder): copies its config/ into a fresh folder, runs the whole default DAG with
`snakemake --cores N` (timed: that is `make run` less the report), then for `--cells` cells
(the most expensive ones, which suffer most from what runs beside them) deletes the cell's
record and video and runs that cell alone (`snakemake --cores N <its record>`), reading
the energy and wall time of its denoise + decode windows from the two records. Prints one
table per tree: DAG vs alone per cell and their ratio (the goal: within 10 %), and the DAG
wall times. Both trees run on this checkout's .venv, each tree's own code (PYTHONPATH).
Figures depend on the machine's load: run it on a quiet machine. `--configfile` runs another
config instead of the default (e.g. config/wan-random.yaml on a GPU, with --cores 4).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(tree: Path, workdir: Path, cores: int, config: str | None, *targets: str) -> float:
    """Run the tree's workflow in `workdir` (its own code first on the path); wall seconds."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    # the Snakefile moved from workflow/ to the top level; a base ref may have either
    snakefile = next(
        p for p in (tree / "Snakefile", tree / "workflow" / "Snakefile") if p.is_file()
    )
    command = [SNAKEMAKE, "-s", str(snakefile), "-d", str(workdir)]
    if config:  # the flag keeps an older tree's default config out; a newer one ignores it
        command += ["--configfile", config, "--replace-workflow-config"]
    start = time.monotonic()
    targets = targets or ("all",)
    quiet = ["--quiet", "all", "--"]  # --quiet takes optional values: end them before targets
    subprocess.run([*command, "--cores", str(cores), *quiet, *targets], env=env, check=True)
    return time.monotonic() - start


def cell_figures(record_path: Path) -> tuple[float, float]:
    """(energy J, wall s) of a cell's denoise and decode windows, from its record."""
    windows = {w["name"]: w for w in json.loads(record_path.read_text())["windows"]}
    phases = [windows[p] for p in ("denoise", "decode")]
    return sum(sum(w["energy_j"].values()) for w in phases), sum(w["duration_s"] for w in phases)


def measure(tree: Path, cells: int, cores: int, config: str | None) -> tuple[float, list]:
    """The DAG's wall time, and (cell, DAG J, DAG s, alone J, alone s) per chosen cell."""
    workdir = Path(tempfile.mkdtemp(prefix="vidcarbon-isolation-"))
    shutil.copytree(tree / "config", workdir / "config")
    dag_s = snakemake(tree, workdir, cores, config)
    runs = pq.read_table(workdir / "results" / "runs.parquet").to_pandas()
    chosen = runs[runs.status == "ok"].nlargest(cells, "energy_j").cell_id
    rows = []
    for cell in chosen:
        record = workdir / "results" / "cells" / f"{cell}.json"
        in_dag = cell_figures(record)
        record.unlink()
        (workdir / "results" / "videos" / f"{cell}.mp4").unlink()
        snakemake(tree, workdir, cores, config, str(record.relative_to(workdir)))
        rows.append((cell, *in_dag, *cell_figures(record)))
    shutil.rmtree(workdir, ignore_errors=True)
    return dag_s, rows


def report(name: str, dag_s: float, rows: list[tuple]) -> None:
    print(f"\n{name}: whole default DAG {dag_s:.1f} s")
    header = ("DAG J", "alone J", "ratio", "DAG s", "alone s", "ratio")
    print(f"{'cell':<46} " + " ".join(f"{h:>8}" for h in header))
    for cell, dag_j, dag_wall, alone_j, alone_wall in rows:
        print(
            f"{cell:<46} {dag_j:8.2f} {alone_j:8.2f} {dag_j / alone_j:8.3f} "
            f"{dag_wall:8.2f} {alone_wall:8.2f} {dag_wall / alone_wall:8.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", help="git ref to compare with (e.g. main)")
    parser.add_argument("--cells", type=int, default=4)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--configfile", help="a config in the repository, e.g. config/x.yaml")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    trees = [("working tree", REPO)]
    base_dir = None
    if args.base:
        base_dir = Path(tempfile.mkdtemp(prefix="vidcarbon-base-"))
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(base_dir), args.base],
            check=True,
            capture_output=True,
        )
        trees.insert(0, (f"base {args.base}", base_dir))
    try:
        for name, tree in trees:
            config = str(tree / args.configfile) if args.configfile else None
            report(name, *measure(tree, args.cells, args.cores, config))
    finally:
        if base_dir is not None:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base_dir)])


if __name__ == "__main__":
    main()
