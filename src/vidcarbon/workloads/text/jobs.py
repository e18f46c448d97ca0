"""The text workload's Snakemake side: what the rule scripts of `llm_prompts`, `llm_weights`
and `llm_request` call."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from vidcarbon.process.isolation import run_isolated
from vidcarbon.records import read_json, write_json_atomic
from vidcarbon.workloads.text.models import LlmSpec
from vidcarbon.workloads.text.spec import shard_identity

log = logging.getLogger(__name__)


def sample_prompts(dataset: str, source: str, requests: int, seed: int, prompts_path: str):
    """On the submitting host: load (download) the dataset and sample its prompts to JSON."""
    from vidcarbon.workloads.text import datasets

    table = datasets.load_rows(dataset, source)
    prompts = [asdict(p) for p in datasets.sample_prompts(dataset, table, requests, seed)]
    log.info("%s: %d of %d rows sampled (seed %d)", dataset, len(prompts), table.num_rows, seed)
    write_json_atomic(prompts_path, prompts)
    return prompts


def fetch_weights(spec: dict[str, Any], record_path: str) -> dict:
    """On the submitting host: download the model's files (nothing for llama-tiny)."""
    from vidcarbon.workloads.text.models import fetch_weights as fetch

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
    from vidcarbon.workloads.text.datasets import shard as take_shard

    prompts = take_shard(read_json(prompts_path), shards, shard)
    identity = shard_identity(llm, LlmSpec(**spec), dataset, shard, measurement["device"])
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
