"""Entry points of the LLM and image rules: each rule script unpacks its inputs and calls one."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from vidcarbon.jobs import setup_logging
from vidcarbon.records import read_json, write_json_atomic
from vidcarbon.worker import run_isolated

log = logging.getLogger(__name__)


def sample_prompts(
    dataset: str, source: str, requests: int, seed: int, prompts_path: str, log_path: str
) -> list[dict]:
    """On the submitting host: load (download) the dataset and sample its prompts to JSON."""
    from vidcarbon.llm import datasets

    setup_logging(log_path)
    table = datasets.load_rows(dataset, source)
    prompts = [asdict(p) for p in datasets.sample_prompts(dataset, table, requests, seed)]
    log.info("%s: %d of %d rows sampled (seed %d)", dataset, len(prompts), table.num_rows, seed)
    write_json_atomic(prompts_path, prompts)
    return prompts


def fetch_weights(spec: dict[str, Any], record_path: str, log_path: str) -> dict:
    """On the submitting host: download the model's files (nothing for llama-tiny)."""
    from vidcarbon.llm.models import LlmSpec
    from vidcarbon.llm.models import fetch_weights as fetch

    setup_logging(log_path)
    record = fetch(LlmSpec(**spec))
    write_json_atomic(record_path, record)
    return record


def llm_request(
    llm: str,
    dataset: str,
    shard: int,
    shards: int,
    spec: dict[str, Any],
    prompts_path: str,
    targets_tokens: dict[str, int],
    cap_tokens: int,
    batch_size: int,
    warmup_tokens: int,
    measurement: dict[str, Any],
    record_path: str,
    log_path: str,
    attempt: int = 1,
) -> dict:
    """Answer one shard of one dataset's prompts, isolated in a child process."""
    from vidcarbon.llm.datasets import shard as take_shard
    from vidcarbon.llm.models import LlmSpec

    setup_logging(log_path)
    prompts = take_shard(read_json(prompts_path), shards, shard)
    identity = {
        "llm": llm,
        "weights": LlmSpec(**spec).effective_weights,
        "dataset": dataset,
        "shard": shard,
        "device": measurement["device"],
    }
    kwargs = {
        "spec": spec,
        "prompts": prompts,
        "targets_tokens": targets_tokens,
        "cap_tokens": cap_tokens,
        "batch_size": batch_size,
        "warmup_tokens": warmup_tokens,
        "measurement": measurement,
    }
    record = run_isolated("llm", kwargs, identity, record_path, [], log_path, attempt)
    if record["status"] != "ok" and not record.get("requests"):
        # the child died before writing: every request of the shard gets the job's status
        record["requests"] = [
            {**p, "status": record["status"], "error": record["error"]} for p in prompts
        ]
        write_json_atomic(record_path, record)
    return record


def generate_image(
    model: str,
    prompt_id: str,
    prompt: str,
    resolution: str,
    steps: int,
    seed: int,
    backend: str,
    options: dict,
    warmup_steps: int,
    measurement: dict[str, Any],
    image_path: str,
    record_path: str,
    log_path: str,
    attempt: int = 1,
) -> dict:
    """One image of the image baseline, isolated in a child process."""
    from vidcarbon.grid import RESOLUTIONS

    setup_logging(log_path)
    height, width = RESOLUTIONS[resolution]
    identity = {
        "image_id": f"{model}/{prompt_id}/{resolution}_s{steps}_seed{seed}",
        "model": model,
        "prompt_id": prompt_id,
        "prompt": prompt,
        "resolution": resolution,
        "height": height,
        "width": width,
        "steps": steps,
        "seed": seed,
        "backend": backend,
        "device": measurement["device"],
        "image_path": image_path,
    }
    kwargs = {
        "backend": backend,
        "options": options,
        "prompt": prompt,
        "shape": {"frames": 1, "height": height, "width": width},
        "steps": steps,
        "seed": seed,
        "warmup_steps": warmup_steps,
        "image_path": image_path,
        "measurement": measurement,
    }
    return run_isolated("image", kwargs, identity, record_path, [image_path], log_path, attempt)
