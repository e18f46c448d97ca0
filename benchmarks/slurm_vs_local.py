"""The default DAG locally and through SLURM, for a base git ref and the working tree, in one
invocation; wall time of each, and where the SLURM run's time goes.

Usage: python benchmarks/slurm_vs_local.py [--base REF] [--repeat N] [--keep] [--only-slurm]
                                          [--local RULE]
  --base REF    also run REF (e.g. main), from `git archive REF`, with the same venv
  --repeat N    run every side N times, in turn, and compare the medians (local wall time on
                this VM varies by about 10 % from run to run)
  --keep        keep the temporary copies (their results/, logs and run.log) and print them
  --only-slurm  skip the local runs
  --local RULE  a what-if: also run the working tree through SLURM with RULE made a local
                rule (`localrule: True` added to its copy), e.g. score_quality

Needs a SLURM whose jobs run on this machine, with a partition `debug`, GPUs of type `fake`
and no accounting database: the test cluster (`bash tests/slurm/cluster.sh start`).

Each of the four runs starts from scratch in its own temporary copy of its tree (the working
tree: tracked and untracked, non-ignored files), with this interpreter's venv and that copy's
`src/` first on PYTHONPATH, in the order base local, tree local, base SLURM, tree SLURM (so
the two sides of each pair run back to back). Local is `snakemake --cores all` on the default
config (the DAG `make run` runs, without its report). SLURM is `snakemake --profile slurm
--configfile config/config.yaml` with the repository's slurm/profile.yaml, its cluster block
edited for the test cluster as tests/e2e/test_slurm.py does (partition, GPU type, squeue as
the status command, 2 s before the first status check, no conda).

For each SLURM run, per rule (a packed group counts as its rule): the SLURM jobs, their wait
in the queue (submit to start), their run time (start to end), and how long Snakemake took
to notice each end (its "Finished jobid" line; 1 s resolution, as SLURM's times). For the
generation cells, the run time splits into the cells' model loads, their measured work
(warm-up, denoise, decode) and the rest: the job's Snakemake (in the batch step, plus one
per cell in a job step of its own on a base that predates vidcarbon.cluster's
batch_step_local_rules), each cell's rule script, and imports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import yaml
from default_run import checkout  # benchmarks/ is this script's folder

REPO = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
CLUSTER_VALUES = {"slurm_partition": "debug", "gpu_model": "fake"}
SUBMITTED = re.compile(r"^Job ([\w-]+) has been submitted with SLURM jobid (\d+)", re.M)
GROUP_MEMBER = re.compile(r"^        jobid: (\d+)$", re.M)  # indented inside a group
FINISHED = re.compile(r"^\[(\w{3} \w{3} +\d+ [\d:]{8} \d{4})\]\nFinished jobid: (\d+)", re.M)


def env_for(workdir: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=str(workdir / "src"),
    )


def edit_profile(workdir: Path) -> None:
    """The cluster block of slurm/profile.yaml set for the test cluster."""
    path = workdir / "slurm" / "profile.yaml"
    profile = yaml.safe_load(path.read_text())
    profile["default-resources"].update(CLUSTER_VALUES)
    profile["slurm-status-command"] = "squeue"
    profile["slurm-init-seconds-before-status-checks"] = 2
    profile.pop("software-deployment-method", None)
    path.write_text(yaml.safe_dump(profile))


def make_local(workdir: Path, rule: str) -> None:
    """`localrule: True` in the copy's rule `rule` (it then runs on the submitting host)."""
    for path in (workdir / "workflow" / "rules").glob("*.smk"):
        text = path.read_text()
        header = f"\nrule {rule}:\n"
        if header in text:
            path.write_text(text.replace(header, f"{header}    localrule: True\n"))
            return
    raise SystemExit(f"--local {rule}: no such rule in workflow/rules/*.smk")


def run(workdir: Path, command: list[str]) -> float:
    """Run `command` in `workdir`; its wall time, seconds."""
    start = time.monotonic()
    with open(workdir / "run.log", "w") as log:
        proc = subprocess.run(
            command, cwd=workdir, env=env_for(workdir), stdout=log, stderr=subprocess.STDOUT
        )
    wall_s = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {workdir}/run.log")
    return wall_s


def slurm_jobs(workdir: Path) -> dict[str, dict[str, str]]:
    """SLURM job id -> scontrol's fields, for the jobs that ran in `workdir`."""
    out = subprocess.run(
        ["scontrol", "show", "job", "--oneliner"], capture_output=True, text=True, check=True
    ).stdout
    jobs = {}
    for line in out.splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        if fields.get("WorkDir") == str(workdir):
            jobs[fields["JobId"]] = fields
    return jobs


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def breakdown(workdir: Path) -> list[str]:
    """Lines: per rule, the SLURM jobs' queue wait, run time and notice delay; the cells'
    load, measured work and the rest."""
    log = (workdir / "run.log").read_text()
    slurm_of = dict(SUBMITTED.findall(log))  # Snakemake job id -> SLURM job id
    # A group's member jobs -> the group's SLURM job: Snakemake lists the groups of a round
    # ("Execute N jobs..."), then submits them in that order.
    for round_ in re.split(r"^Execute \d+ jobs\.\.\.$", log, flags=re.M):
        listings = re.split(r"^.*Group job \w+ \(jobs in lexicogr\. order\):$", round_, flags=re.M)
        groups = [(g, s) for g, s in SUBMITTED.findall(round_) if not g.isdigit()]
        for listing, (_, slurm_id) in zip(listings[1:], groups, strict=True):
            slurm_of.update(dict.fromkeys(GROUP_MEMBER.findall(listing), slurm_id))
    finished = {
        job: dt.datetime.strptime(stamp, "%a %b %d %H:%M:%S %Y")
        for stamp, job in FINISHED.findall(log)
    }
    per_rule: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    jobs = slurm_jobs(workdir)
    noticed: dict[str, dt.datetime] = {}  # SLURM job id -> when Snakemake first said so
    for job, at in finished.items():
        if job in slurm_of:
            noticed[slurm_of[job]] = min(at, noticed.get(slurm_of[job], at))
    for slurm_id, job in jobs.items():
        rule = re.sub(r"_wildcards.*", "", job.get("Comment", "?")).removeprefix("rule_")
        submit, start, end = (_time(job[k]) for k in ("SubmitTime", "StartTime", "EndTime"))
        row = per_rule[rule]
        row[0] += 1
        row[1] += (start - submit).total_seconds()
        row[2] += (end - start).total_seconds()
        if slurm_id in noticed:
            row[3] += (noticed[slurm_id] - end).total_seconds()
    lines = [f"    {'rule':<28} {'jobs':>4} {'queue s':>8} {'run s':>8} {'notice s':>9}"]
    for rule, (n, queue_s, run_s, notice_s) in sorted(per_rule.items()):
        lines.append(f"    {rule:<28} {n:>4} {queue_s:>8.0f} {run_s:>8.0f} {notice_s:>9.0f}")
    runs = pq.read_table(workdir / "results" / "runs.parquet").to_pandas()
    gen_jobs = [j for j in jobs.values() if j.get("Comment") == "rule_gen_generate"]
    gen_run_s = sum((_time(j["EndTime"]) - _time(j["StartTime"])).total_seconds() for j in gen_jobs)
    load_s = runs.load_duration_s.fillna(0).sum()
    work_s = (runs.warmup_duration_s.fillna(0) + runs.generation_duration_s.fillna(0)).sum()
    work_s -= runs.encode_duration_s.fillna(0).sum()  # the text phase ran in its own job
    reused = int(runs.model_reused.sum()) if "model_reused" in runs else 0
    lines.append(
        f"    generation: {len(gen_jobs)} SLURM jobs, {len(runs)} cells ({reused} reused a "
        f"loaded model), {gen_run_s:.0f} s of job run time = {load_s:.1f} s model loads + "
        f"{work_s:.1f} s measured work (warm-up, denoise, decode) + "
        f"{gen_run_s - load_s - work_s:.0f} s the rest (Snakemake, scripts, imports)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--only-slurm", action="store_true")
    parser.add_argument("--local", metavar="RULE")
    args = parser.parse_args()
    if subprocess.run(["scontrol", "ping"], capture_output=True).returncode != 0:
        raise SystemExit("no SLURM controller answers: `bash tests/slurm/cluster.sh start`")
    tmp = Path(tempfile.mkdtemp(prefix="vidcarbon-slurm-vs-local-"))
    sides: dict[str, str | None] = {args.base: args.base} if args.base else {}
    sides["working tree"] = None
    what_if = f"tree, {args.local} local" if args.local else None
    walls: dict[tuple[str, str], list[float]] = defaultdict(list)
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    try:
        runs = [(mode, name) for mode in ("local", "slurm") for name in sides]
        runs += [("slurm", what_if)] if what_if else []
        for repeat, (mode, name) in ((r, run) for r in range(args.repeat) for run in runs):
            if args.only_slurm and mode == "local":
                continue
            ref = sides.get(name)
            side = f"{'base' if ref else 'tree'}{'-what-if' * (name == what_if)}"
            workdir = tmp / f"{mode}-{side}{f'-{repeat + 1}' * (args.repeat > 1)}"
            checkout(ref, workdir)
            if name == what_if:
                make_local(workdir, args.local)
            if mode == "local":
                command = ["snakemake", "--cores", "all", "--quiet"]
            else:
                edit_profile(workdir)
                command = ["snakemake", "--profile", "slurm", "--configfile", "config/config.yaml"]
            print(f"{name}, {mode}: {' '.join(command)} in {workdir}", flush=True)
            walls[name, mode].append(run(workdir, command))
            print(f"  {walls[name, mode][-1]:.1f} s", flush=True)
            if mode == "slurm":
                print("\n".join(breakdown(workdir)), flush=True)
    finally:
        print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
        if args.keep:
            print(f"kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'':<16} {'local s':>8} {'SLURM s':>8} {'SLURM / local':>14}   (medians)")
    for name in [*sides, *([what_if] if what_if else [])]:
        local = walls.get((name, "local")) or walls.get(("working tree", "local"))
        slurm = walls[name, "slurm"]
        local_s = statistics.median(local) if local else None
        slurm_s = statistics.median(slurm)
        ratio = f"{slurm_s / local_s:.2f}" if local_s else "-"
        print(f"{name:<16} {local_s or 0:>8.1f} {slurm_s:>8.1f} {ratio:>14}")
        if args.repeat > 1:
            each = ", ".join(
                f"{m} {' '.join(f'{s:.1f}' for s in walls[name, m])}"
                for m in ("local", "slurm")
                if walls.get((name, m))
            )
            print(f"{'':<16} each run, s: {each}")


if __name__ == "__main__":
    main()
