"""A synthetic paper-sized study: the measured jobs' records of a 10,000-cell grid, written
without generating a video, so that everything after them can be run and timed at scale.

Usage: python benchmarks/synthetic_study.py DEST [--cells 10000] [--failed 20] [--seed 0]
       python benchmarks/synthetic_study.py DEST --add-steps 22   (a study grown by a step count)

DEST becomes a Snakemake working directory: `config/` (the repository's, with
`config/config.yaml` set to the grid of `benchmarks/planning.py`: 10 prompts x 10 step counts x
5 resolutions x 5 durations x 4 seeds) and, under `results/`, every output of the measured
rules: weights records, the idle baseline, one text encoding per prompt, one record and one
placeholder mp4 per cell, the LLM shards and the images of the baselines. Then `snakemake -s
<repo>/Snakefile -d DEST --cores 2` runs only what reads them: quality scoring (each video's
score is written here as already stored, so the batches reuse it), collection, carbon, FLOPs,
findings, charts. A file that exists is kept, so `--add-steps` writes only the new cells.

The figures are plausible, not measured: the default toy model on this CPU (energy estimated
at 4 W per busy thread, as CodeCarbon's default) with wall times following power laws of the
form `vidcarbon.laws` fits, y = c x steps^a x pixels^b x frames^f: a denoising step 0.02 s at
144p and 4 frames, linear in pixels and frames (a = b = f = 1 for denoising, b = f = 1 for
decoding, 0.05 s at 144p and 4 frames; text encoding 5 ms), each window and sample with a few
per cent of noise. Power is sampled every 0.05 s, the pipeline's default
(`measurement.trace_interval_s`), so the traces hold about 1.5 million samples. `--failed N`
cells end out of memory at their largest shapes (no video, a 0-byte placeholder). The LLM and
image records are the real default-run records of `tests/data/records/`, renamed per job.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import shutil
import sys
import uuid
from pathlib import Path

import yaml
from planning import REPO, grid_config  # benchmarks/ is this script's folder

from vidcarbon.grid import RESOLUTIONS, expand
from vidcarbon.prompts import read_prompts
from vidcarbon.quality.batches import score_inputs
from vidcarbon.quality.metrics import WEIGHT_FREE
from vidcarbon.records import write_json_atomic
from vidcarbon.workloads.video.spec import cell_identity

TEMPLATES = REPO / "tests" / "data" / "records"
INTERVAL_S = 0.05
POWER_W = 4.0  # one thread at CodeCarbon's default 4 W per thread
BASE_PIXELS = 144 * 256
STEP_S, DECODE_S, ENCODE_S, LOAD_S = 0.02, 0.05, 0.005, 0.03


def template(name: str) -> dict:
    return json.loads((TEMPLATES / f"{name}.json").read_text())


class Clock:
    """Windows and the power trace of one job, laid end to end from t = 0."""

    def __init__(self, rng: random.Random):
        self.rng, self.t_s, self.windows, self.trace = rng, 0.0, [], []

    def window(self, name: str, duration_s: float, inside: bool = False) -> dict:
        duration_s *= self.rng.uniform(0.95, 1.05)
        power_w = POWER_W * self.rng.uniform(0.9, 1.0)
        w = {
            "name": name,
            "start_s": self.t_s,
            "duration_s": duration_s,
            "energy_j": {"cpu": power_w * duration_s},
        }
        self.windows.append(w)
        if not inside:
            self.sample(duration_s, power_w)
        return w

    def sample(self, duration_s: float, power_w: float) -> None:
        n = int(duration_s / INTERVAL_S)
        self.trace += [
            [self.t_s + (i + 0.5) * INTERVAL_S, "cpu", power_w * self.rng.uniform(0.97, 1.03)]
            for i in range(n)
        ]
        self.t_s += duration_s


def job_record(kind: str, base: dict, clock: Clock, **fields) -> dict:
    record = copy.deepcopy(base)
    record.update(
        fields,
        kind=kind,
        run_id=uuid.UUID(int=clock.rng.getrandbits(128)).hex,
        windows=clock.windows,
        trace=clock.trace,
        history=[],
        shared={},
    )
    return record


def denoise(clock: Clock, step_s: float, steps: int) -> None:
    start = clock.t_s
    steps_w = [clock.window(f"step_{i}", step_s) for i in range(steps)]
    clock.windows.append(
        {
            "name": "denoise",
            "start_s": start,
            "duration_s": clock.t_s - start,
            "energy_j": {"cpu": sum(w["energy_j"]["cpu"] for w in steps_w)},
        }
    )


def write_cell(results: Path, cell, generate: dict, fps: int, failed: bool, rng) -> None:
    record_path = results / "cells" / f"{cell.cell_id}.json"
    if record_path.exists():
        return
    scale = cell.height * cell.width / BASE_PIXELS * cell.frames / 4
    step_s = STEP_S * scale
    clock = Clock(rng)
    clock.window("load", LOAD_S)
    clock.window("warmup", step_s)
    video = results / "videos" / f"{cell.cell_id}.mp4"
    identity = cell_identity(cell, "latte-tiny", fps, "cpu", str(video.relative_to(results.parent)))
    video.parent.mkdir(parents=True, exist_ok=True)
    if failed:
        video.write_bytes(b"")
        record = job_record("generate", generate, clock, **identity, status="oom")
        record.update(error="CUDA out of memory (synthetic)", frames_written=0)
    else:
        denoise(clock, step_s, cell.steps)
        clock.window("decode", DECODE_S * scale)
        video.write_bytes(b"synthetic placeholder, not a video")
        record = job_record("generate", generate, clock, **identity, status="ok")
        record.update(error=None, frames_written=cell.frames)
    write_json_atomic(record_path, record)


def write_score(results: Path, cell, failed: bool, metrics: list[str], rng) -> None:
    """The cell's stored quality score, as `quality.batches` keeps it (so it is reused)."""
    path = results / "quality" / f"{cell.cell_id}.json"
    if path.exists():
        return
    video = results / "videos" / f"{cell.cell_id}.mp4"
    inputs = score_inputs(
        str(video),
        str(results / "cells" / f"{cell.cell_id}.json"),
        str(results / "encode" / cell.model / f"{cell.prompt}.json"),
        metrics,
        {"enabled": False},  # what a scoring job is given while VBench is off
    )
    keys = {
        "cell_id": cell.cell_id,
        "model": cell.model,
        "resolution": cell.resolution,
        "frames": cell.frames,
        "steps": cell.steps,
        "seed": cell.seed,
        "prompt_id": cell.prompt,
    }
    value = {"temporal_flickering": 0.97, "sharpness": 40.0, "noise": 2.0}
    rows = []
    for metric in metrics:
        row = {
            **keys,
            "metric": metric,
            "metric_version": WEIGHT_FREE[metric].version,
            "unit": WEIGHT_FREE[metric].unit,
            "pretrained": None,
            "value": None if failed else value[metric] * rng.uniform(0.9, 1.1),
            "status": "failed" if failed else "ok",
            "error": "no video to score: generation ended with status 'oom'" if failed else None,
        }
        if not failed:
            row["duration_s"] = 0.01
        rows.append(row)
    record = {
        "cell_id": cell.cell_id,
        "video_path": str(video.relative_to(results.parent)),
        "hostname": "synthetic",
        "inputs": inputs,
        "rows": rows,
    }
    write_json_atomic(path, record)


def write_baselines(results: Path, config: dict, prompts: dict[str, str], rng) -> None:
    llm, image = config["llm"], config["image"]
    for dataset in llm["datasets"]:
        write_once(results / "llm" / "prompts" / f"{dataset}.json", {"synthetic": True})
    for name in llm["models"]:
        write_once(results / "llm" / "weights" / f"{name}.json", {"synthetic": True})
    for model in image["models"]:
        write_once(results / "weights" / f"{model}.json", {"synthetic": True})
    shard = template("llm")
    for name in llm["models"]:
        for dataset in llm["datasets"]:
            for i in range(llm["shards"]):
                record = copy.deepcopy(shard)
                record.update(llm=name, dataset=dataset, shard=i, run_id=uuid.uuid4().hex)
                for request in record["requests"]:
                    request["dataset"] = dataset
                path = results / "llm" / "requests" / name / dataset / f"shard{i}.json"
                write_once(path, record)
    picture = template("image")
    for model in image["models"]:
        for prompt_id, text in prompts.items():
            for res in image["resolutions"]:
                for steps in image["steps"]:
                    for seed in image.get("seeds", [0]):
                        stem = f"{model}/{prompt_id}/{res}_s{steps}_seed{seed}"
                        png = results / "images" / f"{stem}.png"
                        png.parent.mkdir(parents=True, exist_ok=True)
                        if not png.exists():
                            png.write_bytes(b"synthetic placeholder")
                        record = copy.deepcopy(picture)
                        height, width = RESOLUTIONS[res]
                        record.update(
                            model=model,
                            prompt_id=prompt_id,
                            prompt=text,
                            resolution=res,
                            steps=steps,
                            seed=seed,
                            height=height,
                            width=width,
                            image_id=stem,
                            image_path=str(png.relative_to(results.parent)),
                            run_id=uuid.uuid4().hex,
                        )
                        write_once(results / "image_records" / f"{stem}.json", record)


def write_once(path: Path, data) -> None:
    if not path.exists():
        write_json_atomic(path, data)


def write_study(
    dest: Path, cells: int = 10_000, failed: int = 20, seed: int = 0, add_steps=()
) -> int:
    """Write (or grow) the synthetic study in `dest`; the number of cells written."""
    dest = Path(dest)
    config_path = dest / "config" / "config.yaml"
    if not config_path.exists():
        shutil.copytree(REPO / "config", dest / "config", dirs_exist_ok=True)
        config, prompt_lines = grid_config(cells)
        config["study"] = f"synthetic-{cells}"
        (dest / config["prompts"]).write_text("\n".join(prompt_lines) + "\n")
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    config = yaml.safe_load(config_path.read_text())
    if add_steps:
        config["grid"]["steps"] = sorted(set(config["grid"]["steps"]) | set(add_steps))
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    prompts = {p.prompt_id: p.text for p in read_prompts(dest / config["prompts"])}
    g = config["grid"]
    grid = expand(
        list(config["models"]),
        list(prompts),
        g["steps"],
        g["resolutions"],
        g["durations_s"],
        config["fps"],
        g["seeds"],
    )
    rng = random.Random(seed)
    results = dest / "results"
    # every file after the files it is computed from, as Snakemake would have run the jobs
    for model, entry in config["models"].items():
        write_once(results / "weights" / f"{model}.json", {"synthetic": True, **entry})
    idle = template("idle")
    write_once(results / "idle" / f"{config['device']}.json", idle)
    encode = template("encode")
    for model in config["models"]:
        for prompt_id, text in prompts.items():
            path = results / "encode" / model / f"{prompt_id}.json"
            if path.exists():
                continue
            clock = Clock(rng)
            clock.window("load", LOAD_S)
            clock.window("warmup", ENCODE_S)
            clock.window("encode", ENCODE_S)
            path.with_suffix(".pt").parent.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".pt").write_bytes(b"")
            fields = {"model": model, "prompt_id": prompt_id, "prompt": text}
            write_json_atomic(path, job_record("encode", encode, clock, **fields))
    write_baselines(results, config, prompts, rng)
    largest = sorted(grid, key=lambda c: (c.height * c.width * c.frames, c.steps))[-failed:]
    failing = set(largest) if failed else set()
    generate = template("generate")
    written = 0
    for cell in grid:
        if not (results / "cells" / f"{cell.cell_id}.json").exists():
            written += 1
        write_cell(results, cell, generate, config["fps"], cell in failing, rng)
    metrics = config.get("quality", {}).get("metrics", list(WEIGHT_FREE))
    for cell in grid:
        write_score(results, cell, cell in failing, metrics, rng)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--failed", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--add-steps", type=int, nargs="*", default=())
    args = parser.parse_args()
    written = write_study(args.dest, args.cells, args.failed, args.seed, args.add_steps)
    print(f"{written} cells written to {args.dest}/results", file=sys.stderr)


if __name__ == "__main__":
    main()
