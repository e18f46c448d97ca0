"""vidcarbon: energy and carbon of text-to-video inference, one job per phase and grid cell."""

import os
import sys
from pathlib import Path

from vidcarbon.cluster import batch_step_local_rules, export_source
from vidcarbon.config import (
    DEFAULT_CONFIG,
    GRID_REFERENCES_FILE,
    in_workdir,
    prepare_config,
    read_config_file,
    replaced_study,
)
from vidcarbon.process.isolation import export_max_attempts
from vidcarbon.process.model_host import start_for_packed_job

# Jobs in conda envs (--sdm conda, envs/*.yaml) import vidcarbon from this checkout.
export_source(str(Path(workflow.basedir) / "src"))

# One config per run: a --configfile (command line or profile) replaces config/config.yaml,
# which is read only when none is given, so no default model leaks into a study.
CONFIG_FILES = [str(in_workdir(p)) for p in workflow.overwrite_configfiles]
if not CONFIG_FILES:
    CONFIG_FILES = [DEFAULT_CONFIG]
    read_config_file(DEFAULT_CONFIG)  # a YAML error names the file and line
    workflow.configfile(DEFAULT_CONFIG)


report: "workflow/report/workflow.rst"


STUDY, PICKED = prepare_config(
    config,
    CONFIG_FILES,
    Path(workflow.basedir) / "workflow/schemas/config.schema.yaml",
    GRID_REFERENCES_FILE,
    record=not (workflow.dryrun or workflow.remote_exec),
)
print(STUDY.describe(config), file=sys.stderr)
if not workflow.remote_exec and (replaced := replaced_study(STUDY)):
    print(replaced, file=sys.stderr)
if PICKED:
    print(
        f"vidcarbon: not set, picked from the grid: {'; '.join(PICKED)}",
        file=sys.stderr,
    )
# Every table row carries the study (vidcarbon.tables); jobs inherit the environment.
os.environ.update(STUDY.environment())
# In the batch step of a SLURM job, this Snakemake runs the job's jobs itself, one after
# another, rather than each in a job step with a Snakemake of its own (vidcarbon.cluster). If
# it packs measured jobs, one process runs them all and loads their model once; the jobs find
# it in the environment (vidcarbon.process.model_host).
if workflow.remote_exec:
    workflow.localrules(*batch_step_local_rules(sys.argv))
    start_for_packed_job(sys.argv)


# One measured job per device: every rule that runs a model on the device declares
# measured_device=1, and at most 1 runs at a time (`--resources measured_device=N` overrides).
# Scoped local, so on a cluster it counts inside each submitted job (packed cells run one after
# another on their GPU) and never across jobs, which each hold their own GPU.
resource_scopes:
    measured_device="local",


if "measured_device" not in workflow.global_resources:
    workflow.register_resource("measured_device", 1)


include: "workflow/rules/common.smk"
include: "workflow/rules/measure.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/carbon.smk"
include: "workflow/rules/quality.smk"
include: "workflow/rules/baselines_common.smk"
include: "workflow/rules/llm.smk"
include: "workflow/rules/image.smk"
include: "workflow/rules/compare.smk"
include: "workflow/rules/levers.smk"
include: "workflow/rules/parallel.smk"
include: "workflow/rules/analysis.smk"


onstart:
    check_cluster()
    # jobs learn how many attempts Snakemake makes (on SLURM through sbatch --export=ALL)
    export_max_attempts(workflow.execution_settings.retries + 1)


rule all:
    default_target: True
    input:
        rules.collect.output,
        expand("results/charts/{chart}.{ext}", chart=CHARTS, ext=("png", "html")),
        rules.count_flops.output,
        rules.findings.output,
        rules.carbon.output,
        rules.levers.output,
        optional_parallel().values(),
        rules.collect_quality.output,
        all_videos(),
        baseline_tables(),
