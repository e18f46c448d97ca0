"""Time `snakemake --cores all` on the default config from scratch and split the wall time.

Usage: python benchmarks/default_run.py [--keep] [--cold]
  --cold   disable the warm worker (VIDCARBON_WARM_WORKER=0) to measure the cold-process path

Prints the wall time, the measured work per phase (summed over jobs, in core-seconds), the
overhead that is not inside any measured window, and the scaling exponents of the denoising
time fitted on the run's cells. Figures are recorded by hand in docs/benchmarks.md.
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
    start = time.monotonic()
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    subprocess.run([snakemake, "--cores", "all", "--quiet"], cwd=REPO, env=env, check=True)
    wall_s = time.monotonic() - start

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
    print(f"wall: {wall_s:.1f} s on {cores} cores (load avg before: {load_before[0]:.2f})")
    for name, seconds in work.items():
        print(f"  {name:<24} {seconds:7.1f} core-s")
    print(f"  {'measured windows':<24} {measured:7.1f} core-s")
    print(
        f"  {'overhead (rest)':<24} {wall_s * cores - measured:7.1f} core-s "
        f"(wall x cores - measured: imports, process start, Snakemake, idle cores)"
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
