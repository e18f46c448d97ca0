"""The result tables: one pyarrow schema each, declared once, units in column names.

Files carry provenance in their Parquet key-value metadata and are written atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vidcarbon import __version__
from vidcarbon.energy import COMPONENTS
from vidcarbon.errors import SchemaMismatch
from vidcarbon.records import STATUSES

SCHEMA_VERSION = "8"  # 3: study columns on every table; 4: model_reused, model_loaded_by;
# 5: the same, run_id and slurm_job_id in llm; 6: counter_update_period_s and
# below_counter_resolution in steps; carbon has a row per embodied source (embodied_source,
# embodied_default, ...) and the break-even intensity; findings their source; 7: lever in the
# cell keys, steps_run in runs, the levers table; 8: gpus, ulysses_degree, ring_degree in the
# cell keys, failed_rank in runs, rank in traces, the ranks table


def column(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    """A column with its description (units included) stored in the file's schema."""
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


VIDEO_PHASES = {"encode": "text encoding", "denoise": "denoising", "decode": "VAE decoding"}
LLM_PHASES = {"prefill": "prefill (prompt pass, first token)", "decode": "token decoding"}
PHASES = tuple(VIDEO_PHASES)

RUN_ID = column("run_id", pa.string(), "unique id of the measured job (merge key)", False)

# -- Column groups: each defined once, composed into the tables below. Rows are built from the
# same definitions (`vidcarbon.workloads.rows`): a record key named as a column is its value.

CELL_KEYS = [
    column(
        "cell_id",
        pa.string(),
        "model/prompt_id/resolution_f<frames>_s<steps>_seed<seed>_<lever>, then "
        "_g<gpus>u<ulysses>r<ring> on several devices",
        False,
    ),
    column("model", pa.string(), "model name, as configured under `models:`", False),
    column("prompt_id", pa.string(), "'p' + first 10 hex digits of SHA-256 of the prompt", False),
    column("resolution", pa.string(), "Open-Sora resolution name (144p ... 720p)", False),
    column("frames", pa.int32(), "number of video frames (duration x fps)", False),
    column("steps", pa.int32(), "number of denoising steps", False),
    column("seed", pa.int64(), "seed of the initial noise", False),
    column(
        "lever",
        pa.string(),
        "inference optimisation applied (config levers.variants; docs/levers.md), or "
        "'baseline': none, the model as configured",
        False,
    ),
    column(
        "gpus",
        pa.int32(),
        "devices one video was generated on, one process each (ulysses_degree x ring_degree; "
        "docs/parallel.md); 1: one device",
        False,
    ),
    column("ulysses_degree", pa.int32(), "Ulysses degree of context parallelism (1: none)", False),
    column("ring_degree", pa.int32(), "ring degree of context parallelism (1: none)", False),
]
CELL_KEY_NAMES = tuple(f.name for f in CELL_KEYS)

STATUS = [
    column("status", pa.string(), f"{' | '.join(STATUSES)}", False),
    column("error", pa.string(), "error text when status is not ok"),
]
HOST = column("hostname", pa.string(), "host that ran the job")
SLURM_JOB = column("slurm_job_id", pa.string(), "SLURM job id of the job (null: not SLURM)")
DEVICE = [
    column("device", pa.string(), "cpu | cuda"),
    column("device_name", pa.string(), "GPU name from NVML, else the configured CPU"),
]
THREADS = column("threads", pa.int32(), "CPU threads given to the job")
STARTED_AT = column("started_at", pa.string(), "UTC start of the job, ISO 8601")

_COMPONENT_WORDS = {"gpu": "GPU", "cpu": "CPU package", "dram": "DRAM"}


@dataclass(frozen=True)
class PhaseColumns:
    """The names of one phase's time and energy columns, and their fields."""

    phase: str

    @property
    def duration(self) -> str:
        return f"{self.phase}_duration_s"

    def component(self, component: str) -> str:
        return f"{self.phase}_{component}_energy_j"

    @property
    def energy(self) -> str:
        return f"{self.phase}_energy_j"

    @property
    def net_energy(self) -> str:
        return f"{self.phase}_net_energy_j"

    def fields(self, what: str) -> list[pa.Field]:
        """`what`: the phase in words (e.g. "text encoding")."""
        return [
            column(self.duration, pa.float64(), f"wall time of {what}, seconds"),
            *_component_energy(self.phase + "_", what),
            column(self.energy, pa.float64(), f"gross energy of {what}, joules"),
            column(
                self.net_energy,
                pa.float64(),
                f"energy of {what} minus idle power x its duration, joules",
            ),
        ]


def _component_energy(prefix: str, what: str) -> list[pa.Field]:
    return [
        column(
            f"{prefix}{c}_energy_j",
            pa.float64(),
            f"{_COMPONENT_WORDS[c]} energy of {what}, joules (null: not measured)",
        )
        for c in COMPONENTS
    ]


def phase_fields(phases: dict[str, str]) -> list[pa.Field]:
    """Per-phase time and energy of every phase of `phases` (name -> the phase in words)."""
    return [f for phase, what in phases.items() for f in PhaseColumns(phase).fields(what)]


def totals(phases: dict[str, str], duration: str) -> list[pa.Field]:
    """The phases added up: wall time (column `duration`), gross and net energy."""
    words = " + ".join(phases)
    return [
        column(duration, pa.float64(), f"{words}, seconds"),
        column("energy_j", pa.float64(), f"gross energy of {words}, joules"),
        column("net_energy_j", pa.float64(), f"net-of-idle energy of {words}, joules"),
    ]


def method_column(component: str) -> str:
    return f"{component}_method"


def idle_power_column(component: str) -> str:
    return f"idle_{component}_power_w"


def shared_column(component: str) -> str:
    return f"{component}_shared"


METHODS_AND_IDLE = [
    *[
        column(
            method_column(c),
            pa.string(),
            f"how {_COMPONENT_WORDS[c]} energy was obtained: counter | integrated | rapl "
            "| estimated | null (not measured)",
        )
        for c in COMPONENTS
    ],
    *[
        column(
            idle_power_column(c),
            pa.float64(),
            f"idle {_COMPONENT_WORDS[c]} power from idle_baseline, watts (null: not subtracted, "
            "see idle_subtraction)",
        )
        for c in COMPONENTS
    ],
    column(
        "idle_subtraction",
        pa.string(),
        "per component: 'subtracted' (net = gross - idle power x time), 'not applicable' (a "
        "per-process counter, the CPU-time estimate, is net of idle by construction) or "
        "'no idle measurement'",
    ),
]
# How far a measured row can be trusted: a shared counter, the CPU estimate, the attempt.
MEASUREMENT_PROVENANCE = [
    *[
        column(
            shared_column(c),
            pa.bool_(),
            f"true: another process drove the device-wide {_COMPONENT_WORDS[c]} counter (NVML, "
            "RAPL) during the job, so its energy holds theirs; null: not device-wide",
        )
        for c in COMPONENTS
    ],
    column("shared_detail", pa.string(), "what was found on a shared counter, and how"),
    column(
        "other_cpu_load",
        pa.float64(),
        "mean cores other processes kept busy during the job (/proc/stat), cores",
    ),
    column("device_id", pa.string(), "device the job held: gpu:<NVML UUID> or cpu:<host>"),
    column("device_wait_s", pa.float64(), "time waiting for the device lock, seconds"),
    column("cpu_model", pa.string(), "host CPU: detected model name, or the configured entry"),
    column(
        "cpu_power_per_core_w",
        pa.float64(),
        "per-core power of the CPU-time estimate, watts (null: CPU not estimated)",
    ),
    column("cpu_estimate_source", pa.string(), "where cpu_power_per_core_w comes from"),
    column(
        "phase_state",
        pa.string(),
        "warm (each phase measured after an unmeasured pass of that phase in the same process) "
        "| cold (warm-up off) | mixed",
    ),
    column("attempt", pa.int32(), "1 for a first run; n for the n-th (earlier ones: history)"),
    column(
        "previous_statuses",
        pa.string(),
        "statuses of the earlier attempts, oldest first (null: first attempt)",
    ),
]
LOAD = column("load_duration_s", pa.float64(), "model build/load time (not a phase), seconds")
WARMUP = [
    column("warmup_duration_s", pa.float64(), "warm-up pass before measuring, seconds"),
    column("warmup_energy_j", pa.float64(), "energy of the warm-up pass, joules"),
]
# Jobs packed into one SLURM job (generation cells, LLM shards) run in one process that loads
# their model once (vidcarbon.process.model_host): the load belongs to the job that did it.
MODEL_LOAD = [
    column(
        "model_reused",
        pa.bool_(),
        "true: an earlier job of the same process (a packed SLURM job) had loaded the model, "
        "so this row has no load (load_duration_s null): it is in the rows of the job "
        "model_loaded_by; false: this job loaded it (null: not recorded)",
    ),
    column(
        "model_loaded_by",
        pa.string(),
        "run_id of the job whose load window loaded the model (its own when model_reused is false)",
    ),
]
MODEL_PARAMS = column("params_transformer", pa.int64(), "parameters of the denoiser")
TEXT_TOKENS = column("text_tokens", pa.int32(), "prompt tokens fed to the text encoder")

RUNS = pa.schema(
    [
        RUN_ID,
        *CELL_KEYS,
        column("backend", pa.string(), "generation backend"),
        column("prompt", pa.string(), "prompt text"),
        column("height", pa.int32(), "video height, pixels"),
        column("width", pa.int32(), "video width, pixels"),
        column("latent_height", pa.int32(), "latent height (VAE /8, padded to the patch)"),
        column("latent_width", pa.int32(), "latent width (VAE /8, padded to the patch)"),
        column("tokens_per_frame", pa.int32(), "DiT tokens per latent frame (2x2 patches)"),
        column("fps", pa.int32(), "frames per second of the video"),
        column("video_duration_s", pa.float64(), "video duration = frames / fps, seconds"),
        column(
            "steps_run",
            pa.int32(),
            "denoising steps run: steps, or fewer under a lever with steps_fraction",
        ),
        *STATUS,
        column(
            "failed_rank",
            pa.int32(),
            "on several devices: the rank whose failure ended the cell (its error is `error`; "
            "every rank's status is in ranks.parquet); null: none failed, or one device",
        ),
        HOST,
        SLURM_JOB,
        *DEVICE,
        column("dtype", pa.string(), "dtype of the denoiser"),
        column("attention", pa.string(), "attention implementation(s) that ran"),
        MODEL_PARAMS,
        TEXT_TOKENS,
        THREADS,
        *METHODS_AND_IDLE,
        *MEASUREMENT_PROVENANCE,
        LOAD,
        *MODEL_LOAD,
        *WARMUP,
        *phase_fields(VIDEO_PHASES),
        *totals(VIDEO_PHASES, "generation_duration_s"),
        column("video_path", pa.string(), "mp4, relative to the working directory"),
        STARTED_AT,
    ]
)

STEPS = pa.schema(
    [
        RUN_ID,
        *CELL_KEYS,
        column("step_index", pa.int32(), "0-based denoising step", False),
        column("duration_s", pa.float64(), "wall time of the step, seconds"),
        *_component_energy("", "the step"),
        column("energy_j", pa.float64(), "gross energy of the step, joules"),
        column(
            "counter_update_period_s",
            pa.float64(),
            "how often the slowest device-wide energy counter of the job's device updates "
            "(measured by idle_baseline), seconds; null where none was measured (a CPU-time "
            "estimate has no update period)",
        ),
        column(
            "below_counter_resolution",
            pa.bool_(),
            "the step is shorter than twice counter_update_period_s, so its energy is "
            "quantised (it may read 0 J, or two updates); the steps still add up to the "
            "denoising window exactly. Null where no period was measured",
        ),
    ]
)

TRACES = pa.schema(
    [
        RUN_ID,
        column("job_id", pa.string(), "cell_id, or model/prompt_id/encode", False),
        column("job_kind", pa.string(), "encode | generate", False),
        column("t_s", pa.float64(), "time since the job's meter started, seconds", False),
        column("component", pa.string(), "gpu | cpu | dram", False),
        column(
            "rank",
            pa.int32(),
            "rank whose device the sample is of (a cell on several devices has a GPU trace per "
            "rank, on rank 0's clock); 0 on one device",
            False,
        ),
        column("power_w", pa.float64(), "power of the component, watts"),
        column("phase", pa.string(), "load | warmup | encode | denoise | decode | other"),
    ]
)

RANK_PHASES = {"denoise": "denoising", "decode": "VAE decoding"}
RANKS = pa.schema(
    [
        RUN_ID,
        *CELL_KEYS,
        column("rank", pa.int32(), "rank of the process (0 leads: it decodes and writes)", False),
        *STATUS,
        HOST,
        column("pid", pa.int64(), "process id of the rank"),
        column("device_id", pa.string(), "device the rank metered: gpu:<NVML UUID> or cpu:<host>"),
        column("device_name", pa.string(), "GPU name from NVML, else the CPU's"),
        *[
            f
            for phase, what in RANK_PHASES.items()
            for f in PhaseColumns(phase).fields(f"{what} on this rank's device")
            if f.name != PhaseColumns(phase).net_energy
        ],
        column(
            "energy_j",
            pa.float64(),
            "energy of denoising + decoding as this rank read it, joules: its own GPU and "
            "process, and the host's RAPL package where read, which every rank on the host "
            "reads (the cell's row counts each device once)",
        ),
        column(
            "energy_share",
            pa.float64(),
            "this rank's device's (the GPU's, else its CPU estimate's) share of the cell's "
            "energy on those devices in denoising + decoding (1 / gpus when balanced)",
        ),
    ]
)

FLOPS = pa.schema(
    [
        column("model", pa.string(), "model name, as configured under `models:`", False),
        column("resolution", pa.string(), "Open-Sora resolution name", False),
        column("frames", pa.int32(), "number of video frames", False),
        column("encode_flops", pa.int64(), "FLOPs of encoding one prompt (CFG twin included)"),
        column("denoise_step_flops", pa.int64(), "FLOPs of one denoising step (CFG batch)"),
        column("decode_flops", pa.int64(), "FLOPs of decoding the whole video"),
        column("dtype", pa.string(), "dtype the model runs in on the configured device"),
        column("method", pa.string(), "how the FLOPs were obtained: counted, or by formula"),
    ]
)

EFFICIENCY = pa.schema(
    [
        column(
            "cell_id",
            pa.string(),
            "model/prompt_id/resolution_f<frames>_s<steps>_seed<seed>_<lever>, then "
            "_g<gpus>u<ulysses>r<ring> on several devices",
        ),
        column("model", pa.string(), "model name, as configured under `models:`"),
        column("resolution", pa.string(), "Open-Sora resolution name"),
        column("frames", pa.int32(), "number of video frames"),
        column("steps", pa.int32(), "number of denoising steps"),
        column("device_name", pa.string(), "GPU name from NVML, else the configured CPU"),
        column("phase", pa.string(), "encode | denoise | decode"),
        column(
            "gpus",
            pa.int32(),
            "devices the phase held: the cell's for denoising and decoding (rank 0 alone "
            "decodes), 1 for text encoding (its own job)",
        ),
        column("flops", pa.float64(), "FLOPs of the phase (denoise: steps x one step)"),
        column("energy_j", pa.float64(), "gross energy of the phase, joules"),
        column("duration_s", pa.float64(), "wall time of the phase, seconds"),
        column("j_per_tflop", pa.float64(), "energy per 10^12 FLOPs, joules"),
        column("achieved_tflops", pa.float64(), "FLOPs / duration, in 10^12 FLOP/s"),
        column("flops_method", pa.string(), "how the FLOPs were obtained (flops.method)"),
        column(
            "utilisation",
            pa.float64(),
            "achieved / the dense bf16 peak of the phase's gpus (hardware.yaml); null on CPU or "
            "other dtypes",
        ),
    ]
)

FINDINGS = pa.schema(
    [
        column(
            "kind",
            pa.string(),
            "fit (a fitted exponent) | claim (a paper claim checked) | breakeven (the grid "
            "intensity below which embodied carbon exceeds operational) | lever (the best lever "
            "of a model above the fidelity floor, analysis.fidelity_floor_ssim) | parallel "
            "(the energy each halving of latency costs on gpus devices) | parallel_fit (a law "
            "fitted to the cells of one layout, or to their one-device cells)",
            False,
        ),
        column("model", pa.string(), "model the finding is about", False),
        column("name", pa.string(), "what was fitted or claimed", False),
        column("value", pa.float64(), "measured figure (in `unit`)"),
        column("ci_low", pa.float64(), "lower end of the figure's 95 % interval"),
        column("ci_high", pa.float64(), "upper end of the figure's 95 % interval"),
        column("interval", pa.string(), "what the interval is (e.g. 95 % CI of the mean)"),
        column("unit", pa.string(), "exponent | ratio | fraction (0.973 = 97.3 %) | g_per_kwh"),
        column("r2", pa.float64(), "coefficient of determination of the law"),
        column("n", pa.int64(), "cells (and text requests) the figure rests on"),
        column("phase", pa.string(), "fit, parallel_fit: encode | denoise | decode | video"),
        column(
            "quantity",
            pa.string(),
            "fit, parallel_fit: energy_j | duration_s; lever: carbon_g; parallel: energy_j",
        ),
        column("variable", pa.string(), "fit, parallel_fit: steps | pixels | frames"),
        column("paper", pa.string(), "claim: where the paper says it, and its words"),
        column("paper_value", pa.string(), "claim: the paper's figure"),
        column("band_low", pa.float64(), "claim: lowest value the claim allows (in `unit`)"),
        column("band_high", pa.float64(), "claim: highest value the claim allows (in `unit`)"),
        column("band_source", pa.string(), "claim: where the band comes from"),
        column(
            "verdict",
            pa.string(),
            "claim: holds (interval inside the band) | does not hold (wholly outside) "
            "| inconclusive (straddles, or no interval) | not measured",
        ),
        column("detail", pa.string(), "which cells, and how the figure was reached"),
        column(
            "embodied_source",
            pa.string(),
            "RQ1 claims and break-evens: the embodied source (act or a published figure) used",
        ),
        column("device", pa.string(), "RQ1 claims and break-evens: the device charged"),
        column(
            "gpus",
            pa.int32(),
            "parallel and parallel_fit: devices per video of the cells the row rests on",
        ),
    ]
)


def _carbon_phase_fields(phase: str) -> list[pa.Field]:
    return [
        column(f"{phase}_operational_g", pa.float64(), f"operational carbon of {phase}, g CO2e"),
        column(
            f"{phase}_net_operational_g",
            pa.float64(),
            f"net-of-idle operational carbon of {phase}, g CO2e",
        ),
        column(f"{phase}_embodied_g", pa.float64(), f"embodied carbon of {phase}, g CO2e"),
        column(f"{phase}_carbon_g", pa.float64(), f"total carbon of {phase}, g CO2e"),
    ]


# One row per (cell, intensity scenario, embodied source). Carbon in g CO2e; null carbon where
# status != ok. The headline figures are the rows with embodied_default (ACT).
CARBON = pa.schema(
    [
        *CELL_KEYS,
        column(
            "status", pa.string(), "ok | oom | failed | killed (carbon is null unless ok)", False
        ),
        column("device", pa.string(), "cpu | cuda"),
        column("device_name", pa.string(), "GPU name from NVML, else the configured CPU"),
        column("height", pa.int32(), "video height, pixels"),
        column("width", pa.int32(), "video width, pixels"),
        column("video_duration_s", pa.float64(), "video duration, seconds"),
        column("threads", pa.int32(), "CPU threads given to the job"),
        column(
            "measured_components",
            pa.string(),
            "components whose energy was read from a counter, e.g. 'gpu,cpu'",
        ),
        column(
            "estimated_components", pa.string(), "components whose energy was estimated, e.g. 'cpu'"
        ),
        column("scenario", pa.string(), "intensity scenario name", False),
        column("scenario_kind", pa.string(), "source | number | country | timeseries", False),
        column("intensity_g_per_kwh", pa.float64(), "grid carbon intensity, g CO2e per kWh", False),
        column(
            "intensity_data_source",
            pa.string(),
            "where the intensity comes from (table and publisher)",
        ),
        column("intensity_data_year", pa.int32(), "year of the intensity data"),
        column("region", pa.string(), "country or region of the scenario"),
        column("pue", pa.float64(), "datacenter power usage effectiveness", False),
        column(
            "lifetime_years",
            pa.float64(),
            "device lifetime over which embodied carbon is amortised, years",
            False,
        ),
        column("utilisation", pa.float64(), "fraction of the lifetime the device is busy", False),
        column(
            "embodied_device",
            pa.string(),
            "hardware.yaml entry whose embodied carbon is charged",
            False,
        ),
        column(
            "embodied_source",
            pa.string(),
            "where unit_embodied_g comes from: act (ACT's model, computed) or the name of a "
            "published figure of the device in the hardware file; one row per source",
            False,
        ),
        column(
            "embodied_default",
            pa.bool_(),
            "true on the rows of the headline source (act); the headline figures read only these",
            False,
        ),
        column(
            "embodied_counts",
            pa.string(),
            "what unit_embodied_g counts: gpu | board | server share | cpu package | server",
            False,
        ),
        column(
            "embodied_citation",
            pa.string(),
            "the source of unit_embodied_g and where in it (table, section, page)",
            False,
        ),
        column("embodied_year", pa.int32(), "year of the embodied source", False),
        column(
            "embodied_scope",
            pa.string(),
            "act rows: gpu (the GPU: die, memory, packaging) | cpu_package (a CPU run: the "
            "package, at embodied_share) | node (the device's share of the server); published "
            "for a published figure (see embodied_counts)",
            False,
        ),
        column("embodied_unit", pa.string(), "what one unit of embodied carbon covers", False),
        column(
            "unit_embodied_g",
            pa.float64(),
            "embodied carbon of one unit under embodied_source, g CO2e",
            False,
        ),
        column(
            "embodied_share",
            pa.float64(),
            "units the cell's generation holds: 1 for a GPU (N for a cell on N GPUs), threads / "
            "cores for a CPU (threads x ranks / cores on several CPU processes); its text "
            "encoding, a job of its own on one device, holds one device's share",
            False,
        ),
        *[f for phase in PHASES for f in _carbon_phase_fields(phase)],
        column("generation_duration_s", pa.float64(), "encode + denoise + decode, seconds"),
        column("energy_j", pa.float64(), "gross energy of the three phases, joules"),
        column("net_energy_j", pa.float64(), "net-of-idle energy of the three phases, joules"),
        column("operational_g", pa.float64(), "energy_kwh x pue x intensity, g CO2e"),
        column("net_operational_g", pa.float64(), "net_energy_kwh x pue x intensity, g CO2e"),
        column(
            "embodied_g",
            pa.float64(),
            "generation_s / (lifetime_s x utilisation) x unit_embodied_g x embodied_share, g CO2e",
        ),
        column("total_g", pa.float64(), "operational_g + embodied_g, g CO2e"),
        column("net_total_g", pa.float64(), "net_operational_g + embodied_g, g CO2e"),
        column("embodied_fraction", pa.float64(), "embodied_g / total_g"),
        column(
            "breakeven_intensity_g_per_kwh",
            pa.float64(),
            "grid intensity below which embodied_g exceeds operational_g: embodied_g / "
            "(energy_kwh x pue), g CO2e per kWh",
        ),
    ]
)

# The same job's carbon by hour of day and by month of an hourly intensity series.
CARBON_BY_TIME = pa.schema(
    [
        column("scenario", pa.string(), "intensity scenario name", False),
        column(
            "cell_id",
            pa.string(),
            "model/prompt_id/resolution_f<frames>_s<steps>_seed<seed>_<lever>, then "
            "_g<gpus>u<ulysses>r<ring> on several devices",
            False,
        ),
        column("period_kind", pa.string(), "hour_of_day | month", False),
        column("period", pa.int32(), "hour of day (0-23) or month (1-12)", False),
        column("hours", pa.int32(), "hours of the series in this period", False),
        column("intensity_g_per_kwh", pa.float64(), "grid carbon intensity, g CO2e per kWh", False),
        column("operational_g", pa.float64(), "energy_kwh x pue x intensity, g CO2e", False),
        column(
            "embodied_g",
            pa.float64(),
            "generation_s / (lifetime_s x utilisation) x unit_embodied_g x embodied_share, g CO2e",
            False,
        ),
        column("total_g", pa.float64(), "operational_g + embodied_g, g CO2e", False),
    ]
)

# Deferral of a job to the lowest-carbon feasible start within a deadline (means over submissions).
DEFERRAL = pa.schema(
    [
        column("scenario", pa.string(), "intensity scenario name", False),
        column(
            "cell_id",
            pa.string(),
            "model/prompt_id/resolution_f<frames>_s<steps>_seed<seed>_<lever>, then "
            "_g<gpus>u<ulysses>r<ring> on several devices",
            False,
        ),
        column("generation_duration_s", pa.float64(), "encode + denoise + decode, seconds", False),
        column("deadline_h", pa.int32(), "how late the job may start, hours", False),
        column(
            "submissions",
            pa.int32(),
            "submission times simulated (every hour of the series)",
            False,
        ),
        column("mean_delay_h", pa.float64(), "mean start delay chosen by deferral, hours", False),
        column(
            "immediate_intensity_g_per_kwh",
            pa.float64(),
            "mean intensity when starting at once, g CO2e per kWh",
            False,
        ),
        column(
            "deferred_intensity_g_per_kwh",
            pa.float64(),
            "mean intensity at the chosen start, g CO2e per kWh",
            False,
        ),
        column(
            "immediate_total_g", pa.float64(), "mean carbon when starting at once, g CO2e", False
        ),
        column("deferred_total_g", pa.float64(), "mean carbon when deferred, g CO2e", False),
        column("saving_g", pa.float64(), "immediate_total_g - deferred_total_g, g CO2e", False),
        column("saving_fraction", pa.float64(), "saving_g / immediate_total_g", False),
    ]
)

# Carbon-aware credits per (model, resolution, frames, steps), relative to a reference config.
CREDITS = pa.schema(
    [
        column("model", pa.string(), "model name, as configured under `models:`", False),
        column("resolution", pa.string(), "Open-Sora resolution name", False),
        column("frames", pa.int32(), "number of video frames", False),
        column("steps", pa.int32(), "number of denoising steps", False),
        column(
            "reference", pa.string(), "the reference configuration credits are relative to", False
        ),
        column("intensity_g_per_kwh", pa.float64(), "grid carbon intensity, g CO2e per kWh", False),
        column(
            "measured_energy_j",
            pa.float64(),
            "measured mean energy per video, joules (null: not in the grid)",
        ),
        column(
            "predicted_energy_j",
            pa.float64(),
            "energy per video predicted by the fitted laws, joules",
        ),
        column(
            "predicted_energy_low_j",
            pa.float64(),
            "lower end of the energy's 95 % prediction interval, joules",
        ),
        column(
            "predicted_energy_high_j",
            pa.float64(),
            "upper end of the energy's 95 % prediction interval, joules",
        ),
        column(
            "predicted_duration_s",
            pa.float64(),
            "generation time predicted by the fitted laws, seconds",
        ),
        column("prediction_error", pa.float64(), "predicted / measured energy - 1"),
        column("predicted_carbon_g", pa.float64(), "predicted carbon per video, g CO2e"),
        column(
            "predicted_carbon_low_g",
            pa.float64(),
            "lower end of the carbon's 95 % prediction interval, g CO2e",
        ),
        column(
            "predicted_carbon_high_g",
            pa.float64(),
            "upper end of the carbon's 95 % prediction interval, g CO2e",
        ),
        column("carbon_ratio", pa.float64(), "predicted carbon / the reference's"),
        column("credits", pa.float64(), "reference credits x carbon_ratio"),
        column("low_intensity_hours", pa.string(), "hours of day with the lowest mean intensity"),
        column(
            "low_intensity_g_per_kwh", pa.float64(), "mean intensity in those hours, g CO2e per kWh"
        ),
        column(
            "discount_factor", pa.float64(), "low-intensity carbon / carbon at the mean intensity"
        ),
        column("low_intensity_credits", pa.float64(), "credits x discount_factor"),
        column("note", pa.string(), "why a value is missing, or how it was obtained"),
    ]
)

# The laws behind the credits (vidcarbon.laws): one row per coefficient, with 95 % CI, R², n.
CREDIT_FITS = pa.schema(
    [
        column("model", pa.string(), "model name, as configured under `models:`", False),
        column("quantity", pa.string(), "energy_j | generation_duration_s", False),
        column("variable", pa.string(), "intercept | steps | pixels | frames", False),
        column("law", pa.string(), "the law's form", False),
        column("coefficient", pa.string(), "log c (the intercept) | exponent"),
        column("value", pa.float64(), "fitted coefficient"),
        column("ci95_low", pa.float64(), "lower end of the 95 % confidence interval"),
        column("ci95_high", pa.float64(), "upper end of the 95 % confidence interval"),
        column("r2", pa.float64(), "coefficient of determination of the law"),
        column("n", pa.int32(), "cells fitted"),
        column("x_min", pa.float64(), "smallest value of the variable fitted on"),
        column("x_max", pa.float64(), "largest value of the variable fitted on"),
        column("note", pa.string(), "why a value is missing, or how it was obtained"),
    ]
)

# One row per LLM request (paper RQ2); energy of a batched request is its token share.
LLM = pa.schema(
    [
        column("llm", pa.string(), "LLM name, as configured under `llm.models:`", False),
        column("llm_model", pa.string(), "'llama-tiny', a hub id or a local path"),
        column("weights", pa.string(), "pretrained | random"),
        column("dataset", pa.string(), "dataset the prompt comes from", False),
        column("shard", pa.int32(), "shard of the dataset's sample"),
        column("run_id", pa.string(), "id of the shard's measured job (its requests share it)"),
        column(
            "prompt_id", pa.string(), "'p' + first 10 hex digits of SHA-256 of the prompt", False
        ),
        column("row_index", pa.int64(), "row of the prompt in its source"),
        column("batch_index", pa.int32(), "batch the request ran in"),
        column("batch_size", pa.int32(), "requests per batch"),
        column("input_tokens", pa.int32(), "prompt tokens"),
        column("output_tokens", pa.int32(), "generated tokens (a stop sequence's included)"),
        column(
            "length_policy",
            pa.string(),
            "target (random weights: fixed output length) | stop (base model: EOS, the "
            "dataset's stop sequences or token limit) | eos_cap (chat model: EOS or the cap)",
        ),
        column("max_new_tokens", pa.int32(), "limit (or target) on generated tokens"),
        column(
            "stop_reason",
            pa.string(),
            "why the answer ended: eos | stop_sequence | length (reached max_new_tokens) | target",
        ),
        *STATUS,
        HOST,
        *DEVICE,
        column("dtype", pa.string(), "dtype of the model"),
        column("params", pa.int64(), "parameters of the model"),
        column("context_tokens", pa.int32(), "context length of the model"),
        THREADS,
        *METHODS_AND_IDLE,
        *MEASUREMENT_PROVENANCE,
        LOAD,
        *MODEL_LOAD,
        SLURM_JOB,
        *phase_fields(LLM_PHASES),
        *totals(LLM_PHASES, "duration_s"),
        column("energy_per_output_token_j", pa.float64(), "energy_j / output_tokens, joules"),
        STARTED_AT,
    ]
)

# One row per generated image (the image baseline between text and video).
IMAGES = pa.schema(
    [
        column("image_id", pa.string(), "model/prompt_id/resolution_s<steps>_seed<seed>", False),
        column("model", pa.string(), "model name, as configured", False),
        column(
            "prompt_id", pa.string(), "'p' + first 10 hex digits of SHA-256 of the prompt", False
        ),
        column("prompt", pa.string(), "prompt text"),
        column("resolution", pa.string(), "Open-Sora resolution name"),
        column("height", pa.int32(), "height, pixels"),
        column("width", pa.int32(), "width, pixels"),
        column("steps", pa.int32(), "number of denoising steps"),
        column("seed", pa.int64(), "seed of the initial noise"),
        column("backend", pa.string(), "generation backend"),
        *STATUS,
        HOST,
        *DEVICE,
        column("dtype", pa.string(), "dtype of the model"),
        MODEL_PARAMS,
        TEXT_TOKENS,
        THREADS,
        *METHODS_AND_IDLE,
        *MEASUREMENT_PROVENANCE,
        LOAD,
        *WARMUP,
        *phase_fields(VIDEO_PHASES),
        *totals(VIDEO_PHASES, "generation_duration_s"),
        column("image_path", pa.string(), "image, relative to the working directory"),
        STARTED_AT,
    ]
)

# Video vs image vs text, per request and per output unit (frame, image, token), per scenario.
VIDEO_VS_TEXT = pa.schema(
    [
        column("modality", pa.string(), "text | image | video", False),
        column("model", pa.string(), "model name, as configured", False),
        column("group", pa.string(), "dataset, 'all', or the resolution/shape", False),
        column("unit", pa.string(), "token | image | frame", False),
        column("requests", pa.int64(), "requests averaged", False),
        column("units_per_request", pa.float64(), "mean output units per request"),
        column("duration_per_request_s", pa.float64(), "mean time per request, seconds"),
        column("energy_per_request_j", pa.float64(), "mean energy per request, joules"),
        column(
            "energy_per_unit_j",
            pa.float64(),
            "mean of each request's energy over its units, joules",
        ),
        column("scenario", pa.string(), "intensity scenario name", False),
        column("intensity_g_per_kwh", pa.float64(), "grid carbon intensity, g CO2e per kWh", False),
        column("pue", pa.float64(), "datacenter power usage effectiveness", False),
        column("carbon_per_request_g", pa.float64(), "operational carbon per request, g CO2e"),
        column("carbon_per_unit_g", pa.float64(), "operational carbon per unit, g CO2e"),
        column("reference_text", pa.string(), "the text group ratios are taken against"),
        column("request_ratio_vs_text", pa.float64(), "energy per request / the reference text's"),
        column(
            "unit_ratio_vs_text", pa.float64(), "energy per unit / the reference text's per token"
        ),
        column(
            "reference_output_tokens",
            pa.float64(),
            "mean output tokens per answer of the reference text (text rows: units_per_request "
            "is their own)",
        ),
        column(
            "paper_output_tokens",
            pa.float64(),
            "answer length the paper's ratios imply: 6 x n / 16 frames = 78, n = 208 tokens",
        ),
        column(
            "reference_energy_at_paper_tokens_j",
            pa.float64(),
            "estimate: the reference text's energy per answer at paper_output_tokens, mean "
            "prefill + (n - 1) x mean decode energy per generated token, joules",
        ),
        column(
            "request_ratio_at_paper_tokens",
            pa.float64(),
            "energy per request / reference_energy_at_paper_tokens_j (estimate)",
        ),
        column(
            "unit_ratio_at_paper_tokens",
            pa.float64(),
            "energy per unit / (reference_energy_at_paper_tokens_j / n) (estimate)",
        ),
    ]
)

# One row per (cell, metric). `pretrained` is null for a weight-free metric, false for a network
# with random placeholder weights (its value is a code-path check, never a quality score).
QUALITY = pa.schema(
    [
        *CELL_KEYS,
        column(
            "metric",
            pa.string(),
            "metric name (temporal_flickering, sharpness, noise, imaging_quality, ...)",
            False,
        ),
        column("metric_version", pa.string(), "version of the metric's implementation"),
        column("unit", pa.string(), "unit of the value"),
        column("value", pa.float64(), "metric value (higher is better for VBench metrics)"),
        column(
            "pretrained",
            pa.bool_(),
            "true: published weights (hash-checked); false: random placeholders; null: no weights",
        ),
        column("status", pa.string(), "ok | failed", False),
        column("error", pa.string(), "reason when status is failed"),
        column("duration_s", pa.float64(), "time to score the video, seconds"),
        column("video_path", pa.string(), "mp4, relative to the working directory"),
    ]
)

# One row per figure of the GPU check (vidcarbon.gpu_check, benchmarks/gpu_check.sh).
GPU_CHECK = pa.schema(
    [
        column(
            "part",
            pa.string(),
            "part of the check: energy | wan | wan-flops | llm | cogvideox | latte",
            False,
        ),
        column(
            "subject", pa.string(), "what the figure is about: a load, a cell, a dataset", False
        ),
        column("figure", pa.string(), "what was measured", False),
        column("value", pa.float64(), "the figure, in `unit` (null: not measured)"),
        column("unit", pa.string(), "unit of value and reference"),
        column(
            "status",
            pa.string(),
            "measured | not measured | failed | oom | killed | timed out | skipped | ok (a part)",
            False,
        ),
        column("check", pa.string(), "pass | fail, where the figure is checked against a bound"),
        column("reference", pa.float64(), "the published or expected figure it is compared with"),
        column("reference_source", pa.string(), "where the reference comes from"),
        column("detail", pa.string(), "how the figure was obtained, or why it is missing"),
        column("device_name", pa.string(), "GPU name from NVML, else the configured CPU"),
    ]
)

# The figures a lever row sets beside its baseline's: (lever column, baseline column, saved
# column, what, unit). saved = baseline - lever, exactly; positive: the lever saves.
LEVER_FIGURES: list[tuple[str, str, str, str, str]] = [
    *[
        (name, f"baseline_{name}", saved, f"{what} of {VIDEO_PHASES[phase]}", unit)
        for phase in PHASES
        for name, saved, what, unit in (
            (f"{phase}_energy_j", f"{phase}_energy_saved_j", "gross energy", "joules"),
            (f"{phase}_duration_s", f"{phase}_duration_saved_s", "wall time", "seconds"),
            (f"{phase}_carbon_g", f"{phase}_carbon_saved_g", "total carbon", "g CO2e"),
        )
    ],
    ("energy_j", "baseline_energy_j", "energy_saved_j", "gross energy of the 3 phases", "joules"),
    (
        "generation_duration_s",
        "baseline_generation_duration_s",
        "duration_saved_s",
        "wall time of the 3 phases",
        "seconds",
    ),
    (
        "operational_g",
        "baseline_operational_g",
        "operational_saved_g",
        "operational carbon",
        "g CO2e",
    ),
    (
        "embodied_g",
        "baseline_embodied_g",
        "embodied_saved_g",
        "embodied carbon (the headline source, ACT's)",
        "g CO2e",
    ),
    ("total_g", "baseline_total_g", "carbon_saved_g", "total carbon", "g CO2e"),
]

# One row per (lever cell, carbon scenario): the lever cell's figures, its baseline cell's
# (same model, prompt, shape, steps, seed; lever baseline) beside them, what it saves, and its
# video's fidelity to the baseline's.
LEVERS = pa.schema(
    [
        *CELL_KEYS,
        column(
            "baseline_cell_id", pa.string(), "cell_id of the baseline cell compared with", False
        ),
        column(
            "lever_kinds",
            pa.string(),
            "what the lever changes: cache:<diffusers hook>, scheduler:<name>, "
            "steps:<fraction>, <option>=<value> (comma-separated)",
        ),
        column("steps_run", pa.int32(), "denoising steps the lever cell ran"),
        column(
            "status",
            pa.string(),
            "ok | lever <status> | baseline <status> (figures null unless ok)",
            False,
        ),
        column("error", pa.string(), "why the row has no figures, when status is not ok"),
        column("device_name", pa.string(), "GPU name from NVML, else the configured CPU"),
        column("cpu_method", pa.string(), "how the lever cell's CPU energy was obtained"),
        column("scenario", pa.string(), "intensity scenario of the carbon columns", False),
        column("intensity_g_per_kwh", pa.float64(), "grid carbon intensity, g CO2e per kWh"),
        *[
            field
            for lever, baseline, saved, what, unit in LEVER_FIGURES
            for field in (
                column(lever, pa.float64(), f"{what} of the lever cell, {unit}"),
                column(baseline, pa.float64(), f"{what} of the baseline cell, {unit}"),
                column(saved, pa.float64(), f"baseline - lever {what}, {unit}"),
            )
        ],
        column("energy_saved_fraction", pa.float64(), "energy_saved_j / baseline_energy_j"),
        column("carbon_saved_fraction", pa.float64(), "carbon_saved_g / baseline_total_g"),
        column(
            "psnr_db",
            pa.float64(),
            "fidelity: PSNR of the lever's video to the baseline's, decibels (inf: identical "
            "frames). On random weights quality scores mean nothing, but fidelity to the "
            "baseline is a real measure of the lever's approximation error",
        ),
        column(
            "ssim",
            pa.float64(),
            "fidelity: SSIM of the lever's video to the baseline's, mean of the frames' "
            "(1: identical); a real measure of the approximation error, on random weights too",
        ),
        column("fidelity_method", pa.string(), "library and functions that computed the fidelity"),
    ]
)

# The figures of one video a parallel row sets beside its one-device cell's: (column, what,
# unit). A video is its generate job, denoising + decoding; text encoding (a separate
# one-device job per prompt, the same for both cells) is left out.
PARALLEL_FIGURES: list[tuple[str, str, str]] = [
    (
        "latency_s",
        "latency of one video: denoising + decoding wall time (barrier-aligned on several "
        "devices; text encoding, a one-device job per prompt, left out)",
        "seconds",
    ),
    (
        "energy_j",
        "gross energy of denoising + decoding, every device of the cell counted once",
        "joules",
    ),
    (
        "net_energy_j",
        "energy of denoising + decoding minus the idle power of the cell's devices x its duration",
        "joules",
    ),
    ("operational_g", "operational carbon of denoising + decoding", "g CO2e"),
    (
        "embodied_g",
        "embodied carbon of denoising + decoding (the headline source, ACT's; the cell's "
        "devices' share)",
        "g CO2e",
    ),
    ("carbon_g", "operational + embodied carbon of denoising + decoding", "g CO2e"),
]

# One row per (cell on several devices, carbon scenario): its figures of one video beside its
# one-device cell's (the same keys on one device), and what cutting latency costs.
PARALLEL = pa.schema(
    [
        *CELL_KEYS,
        column(
            "one_device_cell_id",
            pa.string(),
            "cell_id of the one-device cell compared with (the same keys, gpus 1)",
            False,
        ),
        column(
            "status",
            pa.string(),
            "ok | parallel <status> | one-device <status> | one-device missing | parallel "
            "shared counter | one-device shared counter (figures null unless ok)",
            False,
        ),
        column("error", pa.string(), "why the row has no figures, when status is not ok"),
        column(
            "failed_rank",
            pa.int32(),
            "the rank whose failure ended the parallel cell (runs.failed_rank); null: none failed",
        ),
        column("device_name", pa.string(), "GPU name from NVML, else the configured CPU"),
        column("scenario", pa.string(), "intensity scenario of the carbon columns", False),
        column("intensity_g_per_kwh", pa.float64(), "grid carbon intensity, g CO2e per kWh"),
        *[
            field
            for name, what, unit in PARALLEL_FIGURES
            for field in (
                column(name, pa.float64(), f"{what}, of the cell on gpus devices, {unit}"),
                column(
                    f"one_device_{name}", pa.float64(), f"{what}, of the one-device cell, {unit}"
                ),
            )
        ],
        column("speedup", pa.float64(), "one_device_latency_s / latency_s (> 1: faster)"),
        column("energy_ratio", pa.float64(), "energy_j / one_device_energy_j"),
        column("carbon_ratio", pa.float64(), "carbon_g / one_device_carbon_g"),
        column(
            "energy_per_latency_halving",
            pa.float64(),
            "fractional energy increase per halving of latency: energy_ratio ** (1 / "
            "log2(speedup)) - 1 (0.25: each halving costs 25 % more energy per video); null "
            "where latency did not fall (halving_missing_reason)",
        ),
        column(
            "carbon_per_latency_halving",
            pa.float64(),
            "the same for carbon: carbon_ratio ** (1 / log2(speedup)) - 1",
        ),
        column(
            "halving_missing_reason",
            pa.string(),
            "why the per-halving columns are null: the latency did not fall, or no figures",
        ),
    ]
)

# Every table ends with the study that produced its rows, so rows of different configs stay
# apart after a merge. Filled by write_table from the run's environment (set by the Snakefile).
STUDY_COLUMNS = [
    column(
        "study",
        pa.string(),
        "the study that produced the row: config key `study`, else its file name",
    ),
    column(
        "study_hash",
        pa.string(),
        "hash of what defines the study's measured rows (device, fps, models, grid, "
        "measurement, llm, image, prompt texts)",
    ),
]
STUDY_ENVIRONMENT = {"study": "VIDCARBON_STUDY", "study_hash": "VIDCARBON_STUDY_HASH"}

_TABLES: dict[str, pa.Schema] = {
    "gpu_check": GPU_CHECK,
    "runs": RUNS,
    "steps": STEPS,
    "traces": TRACES,
    "ranks": RANKS,
    "flops": FLOPS,
    "findings": FINDINGS,
    "efficiency": EFFICIENCY,
    "carbon": CARBON,
    "carbon_by_time": CARBON_BY_TIME,
    "deferral": DEFERRAL,
    "credits": CREDITS,
    "credit_fits": CREDIT_FITS,
    "llm": LLM,
    "images": IMAGES,
    "video_vs_text": VIDEO_VS_TEXT,
    "quality": QUALITY,
    "levers": LEVERS,
    "parallel": PARALLEL,
}
SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema([*schema, *STUDY_COLUMNS]) for name, schema in _TABLES.items()
}


def git_commit(cwd: str | Path = ".") -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def provenance(config_hash: str, hostnames: list[str], devices: list[str]) -> dict[str, str]:
    """Key-value metadata for a table file."""
    return {
        "vidcarbon.schema_version": SCHEMA_VERSION,
        "vidcarbon.package_version": __version__,
        "vidcarbon.git_commit": git_commit(),
        "vidcarbon.config_hash": config_hash,
        **{f"vidcarbon.{key}": os.environ.get(var, "") for key, var in STUDY_ENVIRONMENT.items()},
        "vidcarbon.hostnames": json.dumps(sorted(set(hostnames))),
        "vidcarbon.devices": json.dumps(sorted(set(devices))),
        "vidcarbon.written_by": socket.gethostname(),
        "vidcarbon.created_at": dt.datetime.now(dt.UTC).isoformat(),
    }


def check_rows(name: str, rows: list[dict[str, Any]]) -> None:
    """Raise SchemaMismatch on a row key that is not a column of table `name`: pyarrow would
    drop it silently, and a misspelled key would become a null column."""
    columns = set(SCHEMAS[name].names)
    for i, row in enumerate(rows):
        unknown = sorted(set(row) - columns)
        if unknown:
            raise SchemaMismatch(
                f"table {name!r}: row {i} has key(s) {', '.join(map(repr, unknown))} that are "
                f"not columns of {name!r}; add them to tables.{name.upper()} or fix the key "
                f"(columns: {', '.join(SCHEMAS[name].names)})"
            )


def write_table(name: str, rows: list[dict[str, Any]], path: str | Path, meta: dict[str, str]):
    """Write `rows` as table `name` to `path` atomically; returns the pyarrow Table.

    Every key of every row must be a column of the table (SchemaMismatch otherwise); rows
    without study columns get the study of `meta` (rows of a merge keep their own).
    """
    schema = SCHEMAS[name]
    check_rows(name, rows)
    study = {key: meta.get(f"vidcarbon.{key}") or None for key in STUDY_ENVIRONMENT}
    table = pa.Table.from_pylist([{**study, **row} for row in rows], schema=schema)
    return write_arrow(name, table, path, meta)


def with_study(table: pa.Table, meta: dict[str, str]) -> pa.Table:
    """`table` with its study columns set to the study of `meta` (a table of job rows, which
    carry none of their own)."""
    for key in STUDY_ENVIRONMENT:
        value = meta.get(f"vidcarbon.{key}") or None
        column = pa.array([value] * len(table), table.schema.field(key).type)
        table = table.set_column(table.schema.get_field_index(key), key, column)
    return table


def write_arrow(name: str, table: pa.Table, path: str | Path, meta: dict[str, str]) -> pa.Table:
    """Write the pyarrow `table` (of table `name`'s schema) to `path` atomically, with
    `meta`; returns it."""
    table = table.cast(SCHEMAS[name]).replace_schema_metadata({**meta, "vidcarbon.table": name})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return table


def read_table(name: str, path: str | Path) -> pa.Table:
    """Read table `name`, refusing a file of another table or schema version, or one whose
    columns differ from the schema (names the missing, extra and retyped columns)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    table = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    found = (meta.get("vidcarbon.table"), meta.get("vidcarbon.schema_version"))
    if found != (name, SCHEMA_VERSION):
        raise SchemaMismatch(
            f"{path}: holds table {found[0]!r} schema version {found[1]!r}; expected {name!r} "
            f"version {SCHEMA_VERSION!r}. Regenerate it with this vidcarbon version "
            f"({__version__}) or read it with the version that wrote it."
        )
    expected = {f.name: f.type for f in SCHEMAS[name]}
    actual = {f.name: f.type for f in table.schema}
    problems = [
        f"{label}: {', '.join(names)}"
        for label, names in (
            ("missing columns", [c for c in expected if c not in actual]),
            ("unknown columns", [c for c in actual if c not in expected]),
            (
                "columns of another type",
                [
                    f"{c} ({actual[c]}, not {t})"
                    for c, t in expected.items()
                    if actual.get(c, t) != t
                ],
            ),
        )
        if names
    ]
    if problems:
        raise SchemaMismatch(
            f"{path}: table {name!r} version {SCHEMA_VERSION} has been altered: "
            f"{'; '.join(problems)}. Use the file as vidcarbon wrote it."
        )
    return table


def describe(name: str) -> str:
    """Markdown table of the columns of table `name`: name, type, description."""
    lines = [f"### {name}", "", "| column | type | description |", "|---|---|---|"]
    for field in SCHEMAS[name]:
        description = (field.metadata or {}).get(b"description", b"").decode().replace("|", "\\|")
        lines.append(f"| `{field.name}` | {field.type} | {description} |")
    return "\n".join(lines)


def describe_file(path: str | Path) -> str:
    """Markdown of a table file: its columns as described inside it, its row count and its
    provenance metadata."""
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
    name = meta.get("vidcarbon.table")
    what = f"table `{name}`" if name else "not a vidcarbon table (no 'vidcarbon.table' metadata)"
    lines = [f"### {path}", "", f"{what}, {parquet.metadata.num_rows} rows", ""]
    lines += ["| column | type | description |", "|---|---|---|"]
    for field in schema:
        description = (field.metadata or {}).get(b"description", b"").decode().replace("|", "\\|")
        lines.append(f"| `{field.name}` | {field.type} | {description} |")
    provenance = {
        k: v for k, v in meta.items() if k.startswith("vidcarbon.") and k != "vidcarbon.table"
    }
    if provenance:
        lines += ["", "| provenance | value |", "|---|---|"]
        for key, value in provenance.items():
            if key == "vidcarbon.sources":  # a merge: one line per source file
                value = "; ".join(f"{s['path']} ({s['rows']} rows)" for s in json.loads(value))
            lines.append(f"| {key.removeprefix('vidcarbon.')} | {value} |")
    return "\n".join(lines)
