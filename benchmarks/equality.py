"""Does the working tree produce what a base git ref produces? The default pipeline, run from
scratch on both, compared table by table, row for row, and video by video.

Usage: python benchmarks/equality.py --base REF [--keep]
       python benchmarks/equality.py --compare RESULTS_A RESULTS_B

Each side runs `snakemake --cores 2` on the default config in a temporary copy of its tree
(`git archive REF` for the base; the working tree's tracked and untracked, non-ignored files),
with this interpreter's venv and that copy's `src/` first on PYTHONPATH, one after the other.
Then, for every `results/*.parquet` of either side:

- the schema: the same column names, types and nullability in the same order;
- the rows: equal row for row after sorting on every compared column, except the columns in
  EXCLUDED. Floats are equal within a relative 1e-9 (the largest difference is printed);
  everything else exactly.

and every video (`results/videos/**/*.mp4`) and image (`results/images/**/*.png`) byte for
byte. The charts, findings.md and report are not compared: they are drawn from energies.

Then the row builders alone, with nothing excluded: the working tree's code collects the
base run's own job records (video cells and encodings, images, LLM shards, idle) again, and
the runs, steps, traces, images and llm tables it writes must equal the base run's in every
column, energies and ids included.

Excluded columns, and why: this machine has no energy counter, so energy is estimated from
CPU time, and CPU time, wall time and the power trace differ from run to run; so does
everything computed from them (carbon, ratios, fitted laws, verdicts). Ids and timestamps are
new on every run. Exit status 0 when everything compared is equal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from default_run import checkout  # benchmarks/ is this script's folder

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)

# Columns that hold (or are computed from) time, energy, power or ids, per table.
TIMING = "wall time, CPU-time energy or power: differs on every run"
DERIVED = "computed from energy or time"
FRESH = "new on every run (id, timestamp, wait for the device lock, load of other processes)"
PHASE_COLUMNS = [
    f"{phase}_{quantity}"
    for phase in ("encode", "denoise", "decode")
    for quantity in ("duration_s", "gpu_energy_j", "cpu_energy_j", "dram_energy_j", "energy_j")
] + [f"{phase}_net_energy_j" for phase in ("encode", "denoise", "decode")]
MEASURED = {
    "started_at": FRESH,
    "device_wait_s": FRESH,
    "other_cpu_load": FRESH,
    "load_duration_s": TIMING,
    "idle_gpu_power_w": TIMING,
    "idle_cpu_power_w": TIMING,
    "idle_dram_power_w": TIMING,
    "energy_j": TIMING,
    "net_energy_j": TIMING,
}
CARBON_VALUES = [
    f"{phase}_{kind}"
    for phase in ("encode", "denoise", "decode")
    for kind in ("operational_g", "net_operational_g", "embodied_g", "carbon_g")
] + [
    "generation_duration_s",
    "energy_j",
    "net_energy_j",
    "operational_g",
    "net_operational_g",
    "embodied_g",
    "total_g",
    "net_total_g",
    "embodied_fraction",
]
# Columns that a newer version added to a table, and what they hold: where only one side
# has them (a base ref from before them), they are left out of that side and not compared.
ADDED: dict[str, dict[str, str]] = {
    "runs": {
        "model_reused": "whether the cell reused a model loaded by an earlier cell of its "
        "process (a packed SLURM job; false in a local run)",
        "model_loaded_by": "run_id of the job that loaded the cell's model",
    },
    "llm": {
        "run_id": "id of the shard's measured job",
        "slurm_job_id": "SLURM job of the shard (null in a local run)",
        "model_reused": "whether the shard reused a model loaded by an earlier shard of its "
        "process (a packed SLURM job; false in a local run)",
        "model_loaded_by": "run_id of the shard that loaded the model",
    },
}
EXCLUDED: dict[str, dict[str, str]] = {
    "runs": {
        "run_id": FRESH,
        "model_loaded_by": FRESH,
        "slurm_job_id": FRESH,  # null on both sides of a local run
        **MEASURED,
        **dict.fromkeys(("warmup_duration_s", "warmup_energy_j"), TIMING),
        **dict.fromkeys(PHASE_COLUMNS, TIMING),
        "generation_duration_s": TIMING,
    },
    "steps": {
        "run_id": FRESH,
        **dict.fromkeys(
            ("duration_s", "gpu_energy_j", "cpu_energy_j", "dram_energy_j", "energy_j"), TIMING
        ),
    },
    # samples are taken every 50 ms of wall time: their number and values differ per run;
    # the jobs and components traced are compared
    "traces": {
        "run_id": FRESH,
        "t_s": TIMING,
        "power_w": TIMING,
        "phase": "which phase a sample falls in depends on its time",
    },
    "images": {
        **MEASURED,
        **dict.fromkeys(("warmup_duration_s", "warmup_energy_j"), TIMING),
        **dict.fromkeys(PHASE_COLUMNS, TIMING),
        "generation_duration_s": TIMING,
    },
    "llm": {
        "run_id": FRESH,
        "model_loaded_by": FRESH,
        "slurm_job_id": FRESH,
        **MEASURED,
        **{
            f"{phase}_{quantity}": TIMING
            for phase in ("prefill", "decode")
            for quantity in (
                "duration_s",
                "gpu_energy_j",
                "cpu_energy_j",
                "dram_energy_j",
                "energy_j",
                "net_energy_j",
            )
        },
        "duration_s": TIMING,
        "energy_per_output_token_j": TIMING,
    },
    "carbon": dict.fromkeys(CARBON_VALUES, DERIVED),
    "carbon_by_time": dict.fromkeys(("operational_g", "embodied_g", "total_g"), DERIVED),
    "deferral": dict.fromkeys(
        (
            "generation_duration_s",
            "mean_delay_h",
            "immediate_intensity_g_per_kwh",
            "deferred_intensity_g_per_kwh",
            "immediate_total_g",
            "deferred_total_g",
            "saving_g",
            "saving_fraction",
        ),
        DERIVED,
    ),
    "credits": dict.fromkeys(
        (
            "measured_energy_j",
            "predicted_energy_j",
            "predicted_energy_low_j",
            "predicted_energy_high_j",
            "predicted_duration_s",
            "prediction_error",
            "predicted_carbon_g",
            "predicted_carbon_low_g",
            "predicted_carbon_high_g",
            "carbon_ratio",
            "credits",
            "low_intensity_credits",
            "discount_factor",
        ),
        DERIVED,
    ),
    "credit_fits": dict.fromkeys(("value", "ci95_low", "ci95_high", "r2"), DERIVED),
    "efficiency": dict.fromkeys(
        ("energy_j", "duration_s", "j_per_tflop", "achieved_tflops", "utilisation"), DERIVED
    ),
    "findings": dict.fromkeys(("value", "ci_low", "ci_high", "r2", "verdict", "detail"), DERIVED),
    "video_vs_text": dict.fromkeys(
        (
            "duration_per_request_s",
            "energy_per_request_j",
            "energy_per_unit_j",
            "carbon_per_request_g",
            "carbon_per_unit_g",
            "request_ratio_vs_text",
            "unit_ratio_vs_text",
            "reference_energy_at_paper_tokens_j",
            "request_ratio_at_paper_tokens",
            "unit_ratio_at_paper_tokens",
        ),
        DERIVED,
    ),
    "quality": {"duration_s": TIMING},
}
# Tables whose rows are samples in time: their distinct compared rows are compared (which
# jobs and components were traced), not their number.
DISTINCT = {"traces"}
REL_TOL = 1e-9


def run_side(name: str, workdir: Path) -> None:
    """`snakemake --cores 2` on the default config in `workdir`, from scratch."""
    env = dict(
        os.environ,
        PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=str(workdir / "src"),
    )
    start = time.monotonic()
    with open(workdir / "snakemake.log", "w") as log:
        proc = subprocess.run(
            [str(VENV / "bin" / "snakemake"), "--cores", "2"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if proc.returncode != 0:
        raise SystemExit(
            f"{name}: snakemake failed ({proc.returncode}); see {workdir}/snakemake.log"
        )
    print(f"{name}: default run done in {time.monotonic() - start:.0f} s", flush=True)


# The working tree's collection of the base run's records (run with the working tree's src/).
RECOLLECT = """
import os, sys
from pathlib import Path
import pyarrow.parquet as pq
from vidcarbon.workloads.image.table import image_rows
from vidcarbon.workloads.rows import collect_table
from vidcarbon.workloads.text.table import request_rows
from vidcarbon.workloads.video.table import collect

results, out = Path(sys.argv[1]), Path(sys.argv[2])
meta = pq.read_schema(results / "runs.parquet").metadata
os.environ["VIDCARBON_STUDY"] = meta[b"vidcarbon.study"].decode()
os.environ["VIDCARBON_STUDY_HASH"] = meta[b"vidcarbon.study_hash"].decode()
def records(folder):
    return sorted(p for p in (results / folder).rglob("*.json") if not p.name.startswith("."))
idle = records("idle")
collect(records("cells"), records("encode"), idle, out / "runs.parquet", out / "steps.parquet",
        out / "traces.parquet", "recollected")
collect_table("images", records("image_records"), idle, image_rows, out / "images.parquet", "")
collect_table("llm", records("llm/requests"), idle, request_rows, out / "llm.parquet", "")
"""
RECOLLECTED = ("runs", "steps", "traces", "images", "llm")


def recollect(results: Path, src: Path, out: Path) -> list[str]:
    """The tables that the code in `src` builds from the records under `results`, against
    the tables there: every column compared."""
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(src))
    subprocess.run([sys.executable, "-c", RECOLLECT, str(results), str(out)], env=env, check=True)
    print(f"the working tree's rows from the records of {results} (nothing excluded):")
    problems = []
    for name in RECOLLECTED:
        problems += compare_table(name, results / f"{name}.parquet", out / f"{name}.parquet", {})
    return problems


def _key(value) -> tuple:
    """A sort key that orders None and NaN first and never compares across types."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (0, "")
    return (1, repr(value) if not isinstance(value, (int, float)) else f"{float(value):+.12e}")


def _equal(a, b) -> tuple[bool, float]:
    """Whether two cells are equal, and their relative difference (floats)."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True, 0.0
        diff = abs(a - b) / max(abs(a), abs(b), 1e-300)
        return diff <= REL_TOL or a == b, diff
    return a == b, 0.0


def compare_table(
    name: str, a: Path, b: Path, excluded: dict[str, str] | None = None, distinct: bool = False
) -> list[str]:
    """Problems found between the two files of table `name` (empty: equal); `excluded`:
    the columns left out (default: EXCLUDED's); `distinct`: compare the distinct rows."""
    ta, tb = pq.read_table(a), pq.read_table(b)
    only = [c for c in ADDED.get(name, {}) if (c in ta.schema.names) != (c in tb.schema.names)]
    if only:
        ta, tb = (t.drop_columns([c for c in only if c in t.schema.names]) for t in (ta, tb))
        print(f"  {name}: {', '.join(only)}: on one side only (ADDED), not compared")
    fields = [(f.name, str(f.type), f.nullable) for f in ta.schema]
    if fields != [(f.name, str(f.type), f.nullable) for f in tb.schema]:
        return [f"{name}: schemas differ:\n  {ta.schema}\n  vs\n  {tb.schema}"]
    excluded = EXCLUDED.get(name, {}) if excluded is None else excluded
    unknown = sorted(set(excluded) - set(ta.schema.names) - set(only))
    if unknown:
        return [f"{name}: excluded columns not in the table: {', '.join(unknown)}"]
    columns = [c for c in ta.schema.names if c not in excluded]
    rows_a, rows_b = (
        sorted(
            (dict.fromkeys if distinct else list)(
                tuple(row[c] for c in columns) for row in t.select(columns).to_pylist()
            ),
            key=lambda row: tuple(map(_key, row)),
        )
        for t in (ta, tb)
    )
    if len(rows_a) != len(rows_b):
        return [f"{name}: {len(rows_a)} rows vs {len(rows_b)}"]
    problems, largest = [], 0.0
    for i, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=True)):
        for column, x, y in zip(columns, ra, rb, strict=True):
            same, diff = _equal(x, y)
            largest = max(largest, diff)
            if not same:
                problems.append(f"{name}: row {i} column {column}: {x!r} vs {y!r}")
    print(
        f"  {name}: {len(rows_a)}{' distinct' if distinct else ''} rows x "
        f"{len(columns)} columns equal"
        f"{f' (largest relative float difference {largest:.1e})' if largest else ''}; "
        f"{len(excluded)} excluded"
        if not problems
        else f"  {name}: {len(problems)} differences"
    )
    return problems[:20]


def compare_files(a: Path, b: Path, pattern: str) -> list[str]:
    """Files matching `pattern` under the two folders: the same names, byte for byte."""
    names_a = {p.relative_to(a) for p in a.glob(pattern)}
    names_b = {p.relative_to(b) for p in b.glob(pattern)}
    problems = [f"only in one side: {n}" for n in sorted(names_a ^ names_b, key=str)]
    different = [
        n for n in sorted(names_a & names_b) if (a / n).read_bytes() != (b / n).read_bytes()
    ]
    problems += [f"{n}: bytes differ" for n in different]
    print(f"  {pattern}: {len(names_a & names_b) - len(different)} of {len(names_a)} identical")
    return problems


def compare(a: Path, b: Path) -> list[str]:
    """Every table, video and image of two results folders."""
    tables_a = {p.stem for p in a.glob("*.parquet")}
    tables_b = {p.stem for p in b.glob("*.parquet")}
    problems = [f"table only in one side: {n}" for n in sorted(tables_a ^ tables_b)]
    for name in sorted(tables_a & tables_b):
        problems += compare_table(
            name, a / f"{name}.parquet", b / f"{name}.parquet", distinct=name in DISTINCT
        )
    problems += compare_files(a, b, "videos/**/*.mp4")
    problems += compare_files(a, b, "images/**/*.png")
    return problems


def print_exclusions() -> None:
    print("excluded columns (table: column -- why):")
    for table, columns in EXCLUDED.items():
        for why in dict.fromkeys(columns.values()):
            names = [c for c, w in columns.items() if w == why]
            print(f"  {table}: {', '.join(names)} -- {why}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--base", help="git ref to compare the working tree with, e.g. main")
    group.add_argument("--compare", nargs=2, type=Path, metavar="RESULTS", help="two results/")
    group.add_argument(
        "--recollect",
        type=Path,
        metavar="RESULTS",
        help="only collect the records of RESULTS again with this tree's code, and compare",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary checkouts")
    args = parser.parse_args()
    if args.recollect:
        with tempfile.TemporaryDirectory() as out:
            problems = recollect(args.recollect, REPO / "src", Path(out))
        for problem in problems:
            print(f"DIFFERENT: {problem}")
        print("equal" if not problems else f"{len(problems)} differences")
        return 1 if problems else 0
    if args.compare:
        results = args.compare
    else:
        root = Path(tempfile.mkdtemp(prefix="vidcarbon-equality-"))
        sides = {f"base {args.base}": args.base, "working tree": None}
        workdirs = {name: root / name.replace(" ", "-").replace("/", "-") for name in sides}
        for name, ref in sides.items():  # both copied before either runs
            checkout(ref, workdirs[name])
        for name in sides:
            run_side(name, workdirs[name])
        results = [workdirs[name] / "results" for name in sides]
    print(f"comparing {results[0]} with {results[1]}")
    print_exclusions()
    problems = compare(*results)
    if not args.compare:
        src = workdirs["working tree"] / "src"
        problems += recollect(results[0], src, root / "recollected")
        if args.keep:
            print(f"checkouts kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    for problem in problems:
        print(f"DIFFERENT: {problem}")
    print("equal" if not problems else f"{len(problems)} differences (first 20 per table shown)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
