"""Time `snakemake --cores all` on the default config from scratch and split the wall time.

Usage: python benchmarks/default_run.py [--keep] [--cold]
  --cold   disable the warm worker (VIDCARBON_WARM_WORKER=0) to measure the cold-process path

Runs the video part of the DAG (target results/runs.parquet: idle baseline, text encoding,
generation, collect) from scratch, then the rest of `make run` (carbon, quality, text and
image baselines, FLOPs, findings, charts). Prints both wall times, the video part's measured
work per phase (summed over jobs, in core-seconds) against its wall time x cores, and the
scaling exponents of the phase times fitted on the run's cells. Figures are recorded by hand
in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from vidcarbon.fits import fit_power_law

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ, VIDCARBON_WARM_WORKER="0" if args.cold else "1")
    for path in ("results", "logs", ".snakemake"):
        shutil.rmtree(REPO / path, ignore_errors=True)
    cores = os.cpu_count()
    load_before = os.getloadavg()
    snakemake = [
        str(Path(sys.executable).with_name("snakemake")),
        "--cores",
        "all",
        "--quiet",
        "all",
    ]
    start = time.monotonic()
    subprocess.run([*snakemake, "--", "results/runs.parquet"], cwd=REPO, env=env, check=True)
    wall_s = time.monotonic() - start
    start = time.monotonic()
    subprocess.run([*snakemake, "--", "all"], cwd=REPO, env=env, check=True)
    rest_s = time.monotonic() - start

    runs = duckdb.sql(f"select * from '{REPO}/results/runs.parquet'").df()
    encode_jobs = runs.drop_duplicates("prompt_id")
    work = {
        "encode (per prompt job)": encode_jobs.encode_duration_s.sum(),
        "denoise": runs.denoise_duration_s.sum(),
        "decode": runs.decode_duration_s.sum(),
        "warmup": runs.warmup_duration_s.sum(),
        "load (model build)": runs.load_duration_s.sum(),
    }
    measured = sum(work.values())
    print(f"cells: {len(runs)}  status: {runs.status.value_counts().to_dict()}")
    print(f"load average before: {load_before[0]:.2f}; {cores} cores")
    print(f"wall: video part {wall_s:.1f} s + the rest {rest_s:.1f} s = {wall_s + rest_s:.1f} s")
    for name, seconds in work.items():
        print(f"  {name:<24} {seconds:7.1f} core-s")
    print(f"  {'measured windows':<24} {measured:7.1f} core-s")
    print(
        f"  {'not in a window':<24} {wall_s * cores - measured:7.1f} core-s of the video "
        "part's wall x cores (imports, process start, Snakemake, mp4 writing, idle cores)"
    )

    ok = runs[runs.status == "ok"]
    for phase in ("denoise", "decode", "generation"):
        column = f"{phase}_duration_s"
        fit = fit_power_law(
            ok[column], steps=ok.steps, pixels=ok.height * ok.width, frames=ok.frames
        )
        terms = "  ".join(
            f"{c.name} {c.value:.2f} [{c.ci_low:.2f}, {c.ci_high:.2f}]"
            for c in fit.coefficients[1:]
        )
        print(f"{column}: {terms}  R2 {fit.r2:.3f}  n {fit.n}")


if __name__ == "__main__":
    main()
