from vidcarbon import config as vc
from vidcarbon.grid import (
    BASELINE,
    CELL_STEM,
    RESOLUTIONS,
    WILDCARD_CONSTRAINTS,
    parse_parallel,
)
from vidcarbon.levers import levers, model_options
from vidcarbon.quality.batches import BATCH_STEM as QUALITY_BATCH


wildcard_constraints:
    **WILDCARD_CONSTRAINTS,


PROMPTS = {p.prompt_id: p.text for p in vc.load_prompts(config)}
CELLS = vc.cells(config, vc.load_prompts(config))
CELL = CELL_STEM
LEVERS = levers(config)


def measurement_params():
    """What every measured job needs to know about the meter (and nothing else)."""
    return {
        "device": config["device"],
        "trace_interval_s": config["measurement"]["trace_interval_s"],
        **vc.cpu_measurement(config),
    }


def measured_threads():
    """Cores a measured job is scheduled with: 1, or every local core where RAPL is read."""
    from snakemake.exceptions import WorkflowError

    from vidcarbon.energy.counters import rapl_readable

    # RAPL counts the whole CPU package, so then nothing may run beside a measured job
    if workflow.remote_exec or not workflow.local_exec or not rapl_readable():
        return 1
    try:
        return workflow.cores
    except WorkflowError:  # no --cores (a dry run): scheduling does not matter
        return 1


def study_param():
    """The study, as a param of the local rules that start a table from job records: they
    rerun (cheaply) when it changes, so every table of one results/ names one study; the
    tables derived from theirs follow. Rows are stamped from the environment (Snakefile).
    """
    return [STUDY.name, STUDY.hash]


def model_param(key):
    return lambda wildcards: config["models"][wildcards.model].get(key, {})


def cell_options(wildcards):
    """The backend options of a cell: its model's, with its lever's overrides."""
    return model_options(config["models"][wildcards.model], LEVERS[wildcards.lever])


def cell_lever(wildcards):
    """What the measured job applies to the loaded model for the cell's lever, and the
    steps it runs."""
    lever = LEVERS[wildcards.lever]
    return {**lever.runtime(), "steps_run": lever.steps_run(int(wildcards.steps))}


def cell_gpus(wildcards):
    """Devices a cell runs on (its layout's ulysses x ring degree; 1 without one)."""
    layout = parse_parallel(wildcards.parallel)
    return layout["ulysses"] * layout["ring"]


SIZES = vc.model_sizes(config)


def cell_size(wildcards):
    """[height, width] in pixels of a cell: the model's own size for the resolution, if any."""
    size = SIZES[wildcards.model].get(wildcards.resolution)
    return list(size or RESOLUTIONS[wildcards.resolution])


def all_cell_records():
    return [f"results/cells/{c.cell_id}.json" for c in CELLS]


def all_videos():
    return [f"results/videos/{c.cell_id}.mp4" for c in CELLS]


def lever_videos():
    """The videos the levers table compares: each lever cell's and its baseline's."""
    levered = [c for c in CELLS if c.lever != BASELINE]
    return sorted(
        {
            f"results/videos/{cell.cell_id}.mp4"
            for c in levered
            for cell in (c, c.baseline)
        }
    )


def optional_parallel():
    """The parallel table (rule parallel), where the config has layouts."""
    return {"parallel": "results/parallel.parquet"} if config.get("parallel") else {}


def scoring_batches():
    """Scoring batch stem (QUALITY_BATCH) -> its cells: one model and shape each."""
    batches = {}
    for c in CELLS:
        stem = QUALITY_BATCH.format(
            model=c.model, resolution=c.resolution, frames=c.frames
        )
        batches.setdefault(stem, []).append(c)
    return batches


QUALITY_BATCHES = scoring_batches()


def batch_cells(wildcards):
    """The cells of the scoring batch that `wildcards` name."""
    stem = QUALITY_BATCH.format(**wildcards)
    return QUALITY_BATCHES[stem]


def quality_batch_inputs(wildcards):
    """A scoring batch's videos and cell records (in its cells' order) and encode records."""
    cells = batch_cells(wildcards)
    return {
        "videos": [f"results/videos/{c.cell_id}.mp4" for c in cells],
        "cell_records": [f"results/cells/{c.cell_id}.json" for c in cells],
        "encode_records": sorted(
            {f"results/encode/{c.model}/{c.prompt}.json" for c in cells}
        ),
    }


def all_encode_records():
    return sorted(
        {f"results/encode/{c.model}/{c.prompt}.json" for c in CELLS},
    )


def check_cluster():
    """On `--executor slurm`: stop before the first sbatch if the status command cannot see
    jobs, or a partition or GPU model is wrong; else tell the logger plugin which command it
    is."""
    from snakemake.logging import logger

    from vidcarbon.cluster import check_gpu_counts, check_slurm_jobs
    from vidcarbon.console import STATUS_COMMAND

    plugin = workflow.executor_plugin
    if plugin is not None and plugin.cli_prefix == "slurm":
        status = getattr(workflow.executor_settings, "status_command", None) or "sacct"
        jobs = list(workflow.dag.needrun_jobs())
        check_gpu_counts(
            (
                j.rule.name,
                str(j),
                int(j.resources.get("gpu") or 0),
                cell_gpus(j.wildcards),
            )
            for j in jobs
            if j.rule.name == "generate_parallel"
        )
        check_slurm_jobs(jobs, status)
        # the logger plugin watches the SLURM jobs from here on (vidcarbon.console)
        logger.info(f"SLURM status command: {status}", extra={STATUS_COMMAND: status})


def generation_env():
    """The models' conda env (--sdm conda): Open-Sora's releases need their own. A path when
    every model shares one, which Snakemake resolves once per rule, not once per job."""
    from vidcarbon.backends import conda_env

    envs = {
        name: f"../../{conda_env(entry)}" for name, entry in config["models"].items()
    }
    if len(set(envs.values())) == 1:
        return next(iter(envs.values()))
    return lambda wildcards: envs[wildcards.model]
