"""`snakemake --profile slurm` against a real single-node SLURM (tests/slurm/cluster.sh).

The profile is the repository's slurm/profile.yaml with only its documented cluster values
edited, as a user would: this cluster's partition, its (fake) GPU model, and squeue as the
status command because it has no accounting database.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import REPO, SNAKEFILE, SNAKEMAKE, Workdir, small_config
from tests.e2e.test_configs import planned_models, study_models

pytestmark = pytest.mark.e2e

CLUSTER_SH = REPO / "tests" / "slurm" / "cluster.sh"
CLUSTER_VALUES = {"slurm_partition": "debug", "gpu_model": "fake"}
BASELINE_RULES = ("idle_baseline", "count_flops", "generate_image")


@pytest.fixture(scope="module")
def slurm_cluster():
    """The test cluster: started here when sbatch exists but no controller answers."""
    if shutil.which("sbatch") is None:
        pytest.skip(
            "sbatch is not installed: `bash tests/slurm/cluster.sh start` (root, Debian or "
            "Ubuntu) installs and starts a single-node SLURM; .ci/run does that"
        )
    started_here = False
    if subprocess.run(["bash", CLUSTER_SH, "status"]).returncode != 0:
        start = subprocess.run(["bash", CLUSTER_SH, "start"], capture_output=True, text=True)
        assert start.returncode == 0, f"could not start the test SLURM:\n{start.stderr}"
        started_here = True
    yield
    if started_here:
        subprocess.run(["bash", CLUSTER_SH, "stop"])


def slurm_workdir(path: Path, config: dict | None = None, prompts=("a red fox",)) -> Workdir:
    """A working directory with the cluster profile, its cluster values set for this cluster,
    and the repository's configs (`config` replaces config/config.yaml)."""
    workdir = Workdir(path)
    shutil.copytree(REPO / "config", path / "config", dirs_exist_ok=True)
    if config is not None:
        workdir.write_prompts(list(prompts))
        workdir.write_config(config)
    profile = yaml.safe_load((REPO / "slurm" / "profile.yaml").read_text())
    profile["default-resources"].update(CLUSTER_VALUES)
    profile["slurm-status-command"] = "squeue"
    profile["slurm-init-seconds-before-status-checks"] = 2
    # No conda here: jobs run in this venv, the profile's documented alternative.
    del profile["software-deployment-method"]
    (path / "slurm").mkdir()
    (path / "slurm" / "profile.yaml").write_text(yaml.safe_dump(profile))
    return workdir


def start_slurm_run(
    workdir: Workdir, *args: str, configfile: str | None = "config/config.yaml"
) -> subprocess.Popen:
    """`snakemake --profile slurm [--configfile ...]` from the working directory, as a user
    types it (the profile alone runs the paper's study; configfile=None leaves it so)."""
    # last: --configfile takes every argument up to the next option, targets included
    chosen = ["--configfile", configfile] if configfile else []
    return subprocess.Popen(
        [SNAKEMAKE, "-s", str(SNAKEFILE), "--profile", "slurm", *args, *chosen],
        cwd=workdir.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout_s: float = 900) -> str:
    """Its output once it exits; SIGINT (which the SLURM executor honours, SIGTERM not)
    on a hang, then cancel what it left queued."""
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        subprocess.run(["scancel", "--user", os.environ.get("USER", "root")])
        raise AssertionError(f"snakemake --profile slurm hung:\n{out[-4000:]}") from None
    return out


def slurm_jobs() -> dict[str, dict[str, str]]:
    """Job id -> scontrol's fields, for every job SLURM still remembers (MinJobAge)."""
    out = subprocess.run(
        ["scontrol", "show", "job", "--oneliner"], capture_output=True, text=True
    ).stdout
    jobs = {}
    for line in out.splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        if "JobId" in fields:
            jobs[fields["JobId"]] = fields
    return jobs


def wait_for_running(comment: str, workdir: Workdir, timeout_s: float = 120) -> str:
    """The id of the first RUNNING job of `workdir` whose comment names `comment` (other
    runs may share the test cluster)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for job_id, job in slurm_jobs().items():
            if (
                job["JobState"] == "RUNNING"
                and comment in job.get("Comment", "")
                and job.get("WorkDir") == str(workdir.path)
            ):
                return job_id
        time.sleep(0.2)
    raise AssertionError(f"no running SLURM job for {comment} after {timeout_s} s")


def test_default_config_runs_through_sbatch_like_a_local_run(slurm_cluster, tmp_path):
    on_slurm = slurm_workdir(tmp_path / "slurm")
    out = finish(start_slurm_run(on_slurm))
    assert re.search(r"^vidcarbon: (\d+) of \1 jobs done \(100 %\)", out, re.M), out[-4000:]
    # the logger plugin shows the SLURM jobs as they go, and the summary
    assert "vidcarbon: jobs go to SLURM; their state comes from `squeue`" in out
    assert re.search(
        r"^vidcarbon: SLURM jobs: 0 queued or running, \d+ finished, 0 failed$", out, re.M
    )
    assert "vidcarbon: video cells " in out

    runs = pq.read_table(on_slurm.path / "results" / "runs.parquet").to_pandas()
    assert (runs.status == "ok").all()
    # Every cell records the SLURM job it ran in, and that job went through sbatch: SLURM
    # knows it as completed, and the executor kept its log under the group's folder.
    known = slurm_jobs()
    for job_id in set(runs.slurm_job_id):
        assert known[job_id]["JobState"] == "COMPLETED"
        assert "gen" in known[job_id]["Comment"]
        assert known[job_id]["TresPerJob"] == "gres:gpu:fake:1"
        log = on_slurm.path / ".snakemake" / "slurm_logs" / "group_gen_generate" / f"{job_id}.log"
        # the job's one Snakemake, in the batch step, runs its cells itself (vidcarbon.cluster):
        # no job step with a Snakemake of its own per cell
        assert "localrule generate:" in log.read_text()
        assert log.read_text().count("Snakemake version:") == 1, log
    # Packing: 4 cells to a SLURM job (slurm/profile.yaml group-components), run in one
    # process that keeps its model loaded: a cell holds the load, the next cells of the same
    # model and lever (a lever's cell is a differently configured pipeline) name it and have
    # none. A job of baseline cells alone loads once.
    assert runs.slurm_job_id.nunique() == -(-len(runs) // 4)
    for _, job in runs.groupby("slurm_job_id"):
        loaders = job[~job.model_reused]
        assert (loaders.model_loaded_by == loaders.run_id).all()
        assert (loaders.load_duration_s > 0).all()
        reused = job[job.model_reused]
        assert reused.load_duration_s.isna().all()
        by_run = job.set_index("run_id")
        for cell in reused.itertuples():
            assert by_run.lever[cell.model_loaded_by] == cell.lever  # a loader of this job
        if set(job.lever) == {"baseline"}:
            assert len(loaders) == 1
    assert runs.model_reused.sum() >= len(runs) // 2
    # LLM request shards, 4 to a job as well: each job's first shard holds the load
    llm = pq.read_table(on_slurm.path / "results" / "llm.parquet").to_pandas()
    assert llm.slurm_job_id.notna().all() and llm.run_id.nunique() > llm.slurm_job_id.nunique()
    for _, job in llm.groupby("slurm_job_id"):
        (loader,) = set(job.run_id[~job.model_reused])
        assert set(job.model_loaded_by) == {loader}
        assert job.load_duration_s[job.model_reused].isna().all()
        assert job.load_duration_s[~job.model_reused].notna().all()
    # quality batches go 4 to a job, and the one-off baselines share one
    slurm_logs = on_slurm.path / ".snakemake" / "slurm_logs"
    batches = len(list((on_slurm.path / "results" / "scoring").rglob("*.json")))
    assert len(list((slurm_logs / "group_quality_score_quality").glob("*.log"))) == -(-batches // 4)
    (baselines,) = (slurm_logs / "group_baselines_count_flops_generate_image_idle_baseline").glob(
        "*.log"
    )
    assert all(f"rule {rule}:" in baselines.read_text() for rule in BASELINE_RULES)

    local = Workdir(tmp_path / "local")
    shutil.copytree(REPO / "config", local.path / "config", dirs_exist_ok=True)
    tables = ["results/runs.parquet", "results/llm.parquet", "results/images.parquet"]
    local.snakemake(*tables)
    keys = {
        "runs.parquet": ["cell_id"],
        "llm.parquet": ["llm", "dataset", "prompt_id"],
        "images.parquet": ["image_id"],
    }
    for name, key in keys.items():
        slurm_rows = pq.read_table(on_slurm.path / "results" / name).to_pandas()
        local_rows = pq.read_table(local.path / "results" / name).to_pandas()
        assert len(slurm_rows) == len(local_rows) > 0, name
        assert sorted(map(tuple, slurm_rows[key].values)) == sorted(
            map(tuple, local_rows[key].values)
        ), name
    local_runs = pq.read_table(local.path / "results" / "runs.parquet").to_pandas()
    assert local_runs.slurm_job_id.isna().all()
    # locally every cell and shard loads its own model (one process per job)
    assert not local_runs.model_reused.any()
    local_llm = pq.read_table(local.path / "results" / "llm.parquet").to_pandas()
    assert not local_llm.model_reused.any() and local_llm.slurm_job_id.isna().all()
    assert (local_runs.model_loaded_by == local_runs.run_id).all()


def test_the_profile_alone_plans_the_papers_study(slurm_cluster, tmp_path):
    workdir = slurm_workdir(tmp_path)
    out = finish(start_slurm_run(workdir, "-n", configfile=None), timeout_s=300)
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    first_lines = "\n".join(out.splitlines()[:3])
    assert "vidcarbon: study 'paper-opensora-v1.1'" in first_lines, out[:2000]
    assert planned_models(out) == study_models(paper)
    # a --configfile on the command line replaces the profile's
    out = finish(start_slurm_run(workdir, "-n", configfile="config/wan-random.yaml"))
    wan = yaml.safe_load((REPO / "config" / "wan-random.yaml").read_text())
    assert planned_models(out) == study_models(wan)
    assert study_models(wan) == {"video": {"wan2.1-1.3b"}, "llm": set(), "image": set()}


def test_the_shipped_profile_plans_without_conda_as_the_readme_says(slurm_cluster, tmp_path):
    """The profile deploys software with conda, and Snakemake asks conda before it plans; on a
    machine without conda the README's `-n --sdm env-modules` plans the same study."""
    if shutil.which("conda") is not None:
        pytest.skip("conda is installed here: this test is about a machine without it")
    workdir = slurm_workdir(tmp_path)
    profile_path = workdir.path / "slurm" / "profile.yaml"
    profile = yaml.safe_load(profile_path.read_text())
    profile["software-deployment-method"] = "conda"  # as shipped
    profile_path.write_text(yaml.safe_dump(profile))
    proc = start_slurm_run(workdir, "-n", configfile=None)
    out = finish(proc, timeout_s=300)
    assert proc.returncode != 0 and "Is conda installed and accessible?" in out
    out = finish(start_slurm_run(workdir, "-n", "--sdm", "env-modules", configfile=None))
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    assert planned_models(out) == study_models(paper)


def one_cell_config() -> dict:
    config = small_config()
    config["grid"] = {"steps": [8], "resolutions": ["144p"], "durations_s": [1], "seeds": [0]}
    return config


def cancel_the_generation(workdir: Workdir, retries: int) -> tuple[int, str, str]:
    """Run one cell through SLURM, `scancel` its generation job once it runs; the run's exit
    status, the cancelled job's id and the run's output."""
    proc = start_slurm_run(workdir, "--retries", str(retries), "results/runs.parquet")
    job_id = wait_for_running("generate", workdir)
    subprocess.run(["scancel", job_id], check=True)
    out = finish(proc)
    return proc.returncode, job_id, out


def test_cancelled_job_is_reported_failed(slurm_cluster, tmp_path):
    workdir = slurm_workdir(tmp_path, one_cell_config())
    returncode, job_id, out = cancel_the_generation(workdir, retries=0)
    assert returncode != 0
    assert "Error in rule generate" in out
    slurm_log = workdir.path / ".snakemake" / "slurm_logs" / "group_gen_generate" / f"{job_id}.log"
    assert str(slurm_log) in out
    slurm_output = slurm_log.read_text()
    assert f"JOB {job_id} ON" in slurm_output and "CANCELLED" in slurm_output
    # scancel signals every process of the job at once: the rule script either dies first
    # (no record; Snakemake removed what there was) or sees its worker die first and records
    # the cell as killed, after Snakemake's clean-up. Never an ok cell; never lost.
    records = list((workdir.path / "results" / "cells").rglob("*.json"))
    if records:
        (record,) = records
        stored = json.loads(record.read_text())
        assert stored["status"] == "killed" and "SIGTERM" in stored["error"], stored
    else:
        # the next invocation runs the cell again
        dry_run = start_slurm_run(workdir, "-n", "results/runs.parquet")
        assert re.search(r"^generate\s+1$", finish(dry_run), re.M)


def test_failed_job_is_retried_with_more_memory_and_time(slurm_cluster, tmp_path):
    workdir = slurm_workdir(tmp_path, one_cell_config())
    returncode, first, out = cancel_the_generation(workdir, retries=1)
    assert returncode == 0, out[-4000:]

    runs = pq.read_table(workdir.path / "results" / "runs.parquet").to_pandas()
    (second,) = set(runs.slurm_job_id)
    assert second != first
    jobs = slurm_jobs()
    assert jobs[first]["JobState"] == "CANCELLED"
    assert jobs[second]["JobState"] == "COMPLETED"

    def limits(job_id):
        """(memory in MB, time limit in minutes) that SLURM granted the job."""
        tres = dict(item.split("=") for item in jobs[job_id]["TRES"].split(","))
        number, unit = float(tres["mem"][:-1]), tres["mem"][-1]
        hours, minutes, _ = map(int, jobs[job_id]["TimeLimit"].split(":"))
        return number * {"M": 1, "G": 1024, "T": 1024**2}[unit], hours * 60 + minutes

    (mem_1, minutes_1), (mem_2, minutes_2) = limits(first), limits(second)
    assert (mem_1, mem_2) == (32000, 64000)  # workflow profile: attempt * 32000
    assert minutes_2 == 2 * minutes_1


def test_partition_the_cluster_lacks_stops_before_any_submission(slurm_cluster, tmp_path):
    workdir = slurm_workdir(tmp_path, one_cell_config())
    profile_path = workdir.path / "slurm" / "profile.yaml"
    profile = yaml.safe_load(profile_path.read_text())
    profile["default-resources"]["slurm_partition"] = "gpu-a100"
    profile_path.write_text(yaml.safe_dump(profile))
    before = set(slurm_jobs())
    proc = start_slurm_run(workdir, "results/runs.parquet")
    out = finish(proc, timeout_s=120)
    assert proc.returncode != 0
    assert "slurm_partition 'gpu-a100' does not exist on this cluster; partitions: debug" in out
    assert not set(slurm_jobs()) - before  # nothing submitted (old jobs may age out)


def test_sacct_without_accounting_stops_before_any_submission_with_the_fix(slurm_cluster, tmp_path):
    """This cluster has no accounting database: with the profile's default status command
    (sacct), Snakemake would wait for its jobs forever; the pre-flight says what to add."""
    workdir = slurm_workdir(tmp_path, one_cell_config())
    profile_path = workdir.path / "slurm" / "profile.yaml"
    profile = yaml.safe_load(profile_path.read_text())
    del profile["slurm-status-command"]  # as shipped: the plugin's default, sacct
    profile_path.write_text(yaml.safe_dump(profile))
    before = set(slurm_jobs())
    proc = start_slurm_run(workdir, "results/runs.parquet")
    out = finish(proc, timeout_s=120)
    assert proc.returncode != 0
    assert (
        "the SLURM status command is sacct, which fails on this cluster (Slurm accounting "
        "storage is disabled)" in out
    )
    assert "Fix: add `slurm-status-command: squeue` to slurm/profile.yaml" in out
    assert not set(slurm_jobs()) - before  # nothing submitted (old jobs may age out)


def test_a_run_whose_jobs_do_not_change_state_says_so(slurm_cluster, tmp_path):
    """When no SLURM job changes state for --logger-vidcarbon-stall-seconds, the console says
    so and names the status command: a cell's job here runs longer than 1 s, as a status
    command that never reports would look."""
    workdir = slurm_workdir(tmp_path, one_cell_config())
    proc = start_slurm_run(workdir, "--logger-vidcarbon-stall-seconds", "1", "results/runs.parquet")
    out = finish(proc)
    assert proc.returncode == 0, out[-4000:]
    assert "vidcarbon: SLURM jobs: 1 queued or running, 0 finished, 0 failed" in out
    warning = re.search(
        r"^vidcarbon: warning: no SLURM job has changed state for \d+ s .*$", out, re.M
    )
    assert warning, out[-4000:]
    assert "the status command (squeue) does not see them finish" in warning[0]
    assert "raise logger-vidcarbon-stall-seconds in the profile" in warning[0]


def test_each_job_holds_its_own_fake_gpu_and_none_waits_for_another(slurm_cluster, tmp_path):
    """The cluster side of one measured job per device: every cell its own SLURM job and GPU
    (GRES), all submitted at once, each GPU's windows its own; the CPU package, shared by the
    jobs on the node, is flagged exactly when another job drove it meanwhile."""
    from tests.e2e.test_isolation import driver_intervals, overlapping
    from vidcarbon.energy import fake_devices

    config = small_config()
    config["device"] = "cuda"  # the fake GPUs stand in; the models run on the CPU
    config["carbon"] = {"device": "a100-80gb"}
    config["grid"]["steps"] = [2, 3, 4]
    workdir = slurm_workdir(tmp_path / "run", config)
    profile_path = workdir.path / "slurm" / "profile.yaml"
    profile = yaml.safe_load(profile_path.read_text())
    profile["group-components"] = {"gen": 1}  # one cell per SLURM job
    profile_path.write_text(yaml.safe_dump(profile))
    fake = tmp_path / "fake-devices"
    os.environ[fake_devices.ENV] = str(fake)  # sbatch --export=ALL hands it to the jobs
    try:
        out = finish(start_slurm_run(workdir, "results/runs.parquet"))
    finally:
        del os.environ[fake_devices.ENV]
    assert re.search(r"^vidcarbon: (\d+) of \1 jobs done \(100 %\)", out, re.M), out[-4000:]

    runs = pq.read_table(workdir.path / "results" / "runs.parquet").to_pandas()
    assert len(runs) == 3 and set(runs.status) == {"ok"} and runs.slurm_job_id.nunique() == 3
    jobs = slurm_jobs()
    submitted = [jobs[j]["SubmitTime"] for j in runs.slurm_job_id]
    ended = [jobs[j]["EndTime"] for j in runs.slurm_job_id]
    assert max(submitted) <= min(ended)  # Snakemake did not wait for one GPU job to submit the next
    assert set(runs.device_id) <= {
        f"gpu:GPU-fake-{fake_devices.FakeGPUs(fake).tag}-{i}" for i in ("0", "1")
    }
    idle_w, active_w = fake_devices.GPU_W
    for log in fake.glob("gpu*.log"):  # on each GPU, one job at a time
        assert overlapping(driver_intervals(log)) == [], log.name
    own = (idle_w + active_w) * runs.denoise_duration_s
    assert (abs(runs.denoise_gpu_energy_j / own - 1) < 0.05).all()
    assert not runs.gpu_shared.any()
    # the CPU package (fake RAPL) is the node's: flagged iff another job drove it meanwhile
    shared_pids = {pid for pair in overlapping(driver_intervals(fake / "cpu.log")) for pid in pair}
    for row in runs.itertuples():
        detail = row.shared_detail if isinstance(row.shared_detail, str) else ""
        found = re.findall(r"other processes on it \(([\d, ]+)\)", detail)
        pids = {int(p) for group in found for p in group.split(",")}
        assert row.cpu_shared == bool(pids), row.shared_detail
        assert pids <= shared_pids


def test_an_oom_cell_is_resubmitted_with_more_memory(slurm_cluster, tmp_path):
    from tests.e2e.test_pipeline import OOM_ONCE_BACKEND

    config = one_cell_config()
    config["models"] = {"once": {"backend": "oom_once:OomOnce", "options": {}}}
    workdir = slurm_workdir(tmp_path, config)
    (workdir.path / "oom_once.py").write_text(OOM_ONCE_BACKEND)
    path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(workdir.path), path])
    try:
        out = finish(start_slurm_run(workdir, "results/runs.parquet"))  # the profile: retries 1
    finally:
        os.environ["PYTHONPATH"] = path
    assert "Error in rule generate" in out, out[-4000:]  # attempt 1, in full
    logs = (workdir.path / ".snakemake" / "slurm_logs" / "group_gen_generate").glob("*.log")
    assert any("ResubmitWithMoreResources" in log.read_text() for log in logs)
    runs = pq.read_table(workdir.path / "results" / "runs.parquet").to_pandas()
    (row,) = runs.itertuples()
    assert (row.status, row.attempt, row.previous_statuses) == ("ok", 2, "oom")
    tres = dict(item.split("=") for item in slurm_jobs()[row.slurm_job_id]["TRES"].split(","))
    number, unit = float(tres["mem"][:-1]), tres["mem"][-1]
    assert number * {"M": 1, "G": 1024}[unit] == 64000  # attempt 2: 2 x the profile's 32000 MB
