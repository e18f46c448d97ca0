"""Text generation measured per request: a prefill window (the forward pass over the prompt that
yields the first token) and a decode window (every further token), with the video meter.

Output length: with random weights no model stops by itself, so every answer is exactly the
dataset's target length (`min_new_tokens = max_new_tokens = target`, policy "target"); with
pretrained weights the model stops at EOS or at the cap (policy "eos_cap").
A batch of requests shares its windows; each request's share is the batch's prefill energy in
proportion to its input tokens and the decode energy in proportion to its output tokens
(batch_size 1 gives the paper's per-request view).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from vidcarbon.energy.meter import Meter
from vidcarbon.generation import JobContext, Measurement
from vidcarbon.llm.models import LlmSpec, load_llm
from vidcarbon.records import classify_failure

log = logging.getLogger(__name__)

LENGTH_POLICIES = ("target", "eos_cap")


@dataclass(frozen=True)
class OutputLength:
    """How long answers are: `policy` "target" (exactly `target_tokens`) or "eos_cap"."""

    policy: str
    target_tokens: int
    cap_tokens: int

    @property
    def max_new_tokens(self) -> int:
        return self.target_tokens if self.policy == "target" else self.cap_tokens


def output_length(weights: str, target_tokens: int, cap_tokens: int) -> OutputLength:
    """Random weights never stop by themselves: they get the target; pretrained: EOS or cap."""
    policy = "target" if weights == "random" else "eos_cap"
    return OutputLength(policy, int(target_tokens), int(cap_tokens))


def count_output_tokens(new_ids, eos_id: int | None, policy: str) -> list[int]:
    """Generated tokens per sequence of `new_ids` (batch, new): up to and including EOS."""
    counts = []
    for row in new_ids.tolist():
        if policy == "eos_cap" and eos_id is not None and eos_id in row:
            counts.append(row.index(eos_id) + 1)
        else:
            counts.append(len(row))
    return counts


class _FirstToken:
    """A stopping criterion that never stops: its first call closes the prefill window."""

    def __init__(self, meter: Meter, prefill: str, decode: str):
        self.meter, self.prefill, self.decode, self.calls = meter, prefill, decode, 0

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        if self.calls == 0:
            self.meter.end_window(self.prefill)
            self.meter.begin_window(self.decode)
        self.calls += 1
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def _share(weights: list[int], i: int) -> float:
    """Request i's share of a batch window: its tokens over the batch's (equal if none)."""
    return weights[i] / sum(weights) if sum(weights) else 1.0 / len(weights)


def generate_batch(llm, meter: Meter, texts: list[str], length: OutputLength, tag: str) -> dict:
    """Generate answers for `texts` as one batch inside windows prefill/<tag>, decode/<tag>."""
    import torch
    from transformers import StoppingCriteriaList

    inputs = llm.tokenize(texts, return_tensors="pt", padding=True).to(llm.device)
    mask = inputs["attention_mask"]
    prefill, decode = f"prefill/{tag}", f"decode/{tag}"
    first = _FirstToken(meter, prefill, decode)
    new = length.max_new_tokens
    meter.begin_window(prefill)
    try:
        with torch.inference_mode():
            out = llm.model.generate(
                **inputs,
                do_sample=False,
                max_new_tokens=new,
                min_new_tokens=new if length.policy == "target" else 0,
                stopping_criteria=StoppingCriteriaList([first]),
            )
    finally:  # on a failure too, so the next batch can open its windows
        meter.end_window(decode if first.calls else prefill)
    windows = {w.name: w for w in meter.windows if w.name in (prefill, decode)}
    new_ids = out[:, inputs["input_ids"].shape[1] :]
    return {
        "input_tokens": [int(n) for n in mask.sum(dim=1)],
        "output_tokens": count_output_tokens(new_ids, llm.tokenizer.eos_token_id, length.policy),
        "prefill": windows.get(prefill),
        "decode": windows.get(decode),
    }


def run_requests(
    spec: dict[str, Any],
    prompts: list[dict[str, Any]],
    targets_tokens: dict[str, int],
    cap_tokens: int,
    batch_size: int,
    warmup_tokens: int,
    measurement: Measurement,
) -> dict[str, Any]:
    """Answer `prompts` (dicts with prompt_id, dataset, text) in batches of `batch_size`.

    The record's `requests` hold one entry per prompt, in order, each with its status; a
    prompt longer than the context (with its answer) fails alone, a failed batch fails its
    requests only, and a failed load fails them all (status on the record).
    """
    llm_spec = LlmSpec(**spec)
    ctx = JobContext(measurement, {"kind": "llm", "llm_model": llm_spec.model})
    requests: list[dict[str, Any]] = []
    ctx.record["requests"] = requests

    def body(meter: Meter) -> None:
        with meter.window("load"):
            llm = load_llm(llm_spec, measurement.device)
        ctx.record["model_info"] = llm.describe()
        if warmup_tokens > 0:
            with meter.window("warmup"):
                warm = OutputLength("target", warmup_tokens, warmup_tokens)
                generate_batch(llm, meter, ["warm up"], warm, "warmup")
        pending = []
        for p in prompts:
            length = output_length(
                llm_spec.effective_weights, targets_tokens[p["dataset"]], cap_tokens
            )
            entry = {
                **p,
                "length_policy": length.policy,
                "max_new_tokens": length.max_new_tokens,
                "status": "ok",
                "error": None,
            }
            entry["input_tokens"] = len(llm.tokenize([llm.model_text(p["text"])])["input_ids"][0])
            needed = entry["input_tokens"] + length.max_new_tokens
            if needed > llm.context_tokens:
                entry["status"] = "failed"
                entry["error"] = (
                    f"prompt of {entry['input_tokens']} tokens + {length.max_new_tokens} new "
                    f"tokens exceeds the model's context of {llm.context_tokens} tokens"
                )
            else:
                pending.append(entry)
            requests.append(entry)
        # Batch requests of one output length together, so min/max_new_tokens apply to all.
        by_length: dict[tuple[str, int], list[dict]] = {}
        for entry in pending:
            by_length.setdefault((entry["length_policy"], entry["max_new_tokens"]), []).append(
                entry
            )
        batch_index = 0
        for (policy, new), group in by_length.items():
            length = OutputLength(policy, new, new)
            for start in range(0, len(group), batch_size):
                batch = group[start : start + batch_size]
                tag = str(batch_index)
                for entry in batch:
                    entry.update(batch_index=batch_index, batch_size=len(batch))
                batch_index += 1
                try:
                    texts = [llm.model_text(e["text"]) for e in batch]
                    result = generate_batch(llm, meter, texts, length, tag)
                except Exception as exc:  # noqa: BLE001 - a failed batch is data
                    log.exception("batch %s failed", tag)
                    for entry in batch:
                        entry.update(
                            status=classify_failure(exc), error=f"{type(exc).__name__}: {exc}"
                        )
                    continue
                log.info(
                    "batch %s (%s): %d requests, %s input tokens, %s output tokens, %.3f s",
                    tag,
                    ", ".join(sorted({e["dataset"] for e in batch})),
                    len(batch),
                    result["input_tokens"],
                    result["output_tokens"],
                    result["prefill"].duration_s
                    + (result["decode"].duration_s if result["decode"] else 0.0),
                )
                for i, entry in enumerate(batch):
                    entry["input_tokens"] = result["input_tokens"][i]
                    entry["output_tokens"] = result["output_tokens"][i]
                    for phase, weights in (
                        ("prefill", result["input_tokens"]),
                        ("decode", result["output_tokens"]),
                    ):
                        window = result[phase]
                        entry[f"{phase}_window"] = None if window is None else window.name
                        entry[f"{phase}_share"] = _share(weights, i)

    record = ctx.run(body)
    if record["status"] != "ok":
        for entry in requests:
            if entry["status"] == "ok" and "output_tokens" not in entry:
                entry.update(status=record["status"], error=record["error"])
        # failed before every prompt was read: the rest fail with the job
        requests += [
            {**p, "status": record["status"], "error": record["error"]}
            for p in prompts[len(requests) :]
        ]
    return record
