"""The text workload's child side: answers generated and measured per request, a prefill
window (the forward pass over the prompt that yields the first token) and a decode window
(every further token), with the video meter.

How long answers are is `vidcarbon.workloads.text.spec.output_length`. Each request records
how many tokens it generated and why it stopped (`stop_reason`: eos | stop_sequence | length
| target). A stop sequence's own tokens are generated, so they count. A batch of requests
shares its windows; each request's share is the batch's prefill energy in proportion to its
input tokens and the decode energy in proportion to its output tokens (batch_size 1 gives the
paper's per-request view). The shards packed into one SLURM job load their model once
(`vidcarbon.workloads.loaded`): the first shard's record holds the load, the next ones name it.
"""

from __future__ import annotations

import logging
from typing import Any

from vidcarbon.energy.meter import Meter
from vidcarbon.tables import LLM_PHASES
from vidcarbon.workloads import loaded
from vidcarbon.workloads.measured import JobContext, Measurement, classify_failure
from vidcarbon.workloads.text.models import LlmSpec, load_llm
from vidcarbon.workloads.text.spec import OutputLength, output_length

log = logging.getLogger(__name__)


class _Progress:
    """A stopping criterion run after every generated token: its first call closes the prefill
    window; it ends each sequence at EOS or at a stop sequence in its generated text (as
    lm-evaluation-harness's stop criteria do) and remembers when and why."""

    def __init__(self, meter: Meter, prefill: str, decode: str, llm, length: OutputLength):
        self.meter, self.prefill, self.decode = meter, prefill, decode
        self.llm, self.length = llm, length
        self.calls = 0
        self.prompt_tokens: int | None = None
        self.ended: dict[int, tuple[int, str]] = {}  # row -> (tokens, reason)

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        if self.calls == 0:
            self.meter.end_window(self.prefill)
            self.meter.begin_window(self.decode)
            self.prompt_tokens = input_ids.shape[1] - 1
        self.calls += 1
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if self.length.policy == "target":
            return done
        eos = self.llm.tokenizer.eos_token_id
        for row in range(input_ids.shape[0]):
            if row in self.ended:
                done[row] = True
                continue
            new = input_ids[row, self.prompt_tokens :]
            if eos is not None and int(new[-1]) == eos:
                self.ended[row] = (len(new), "eos")
            elif self.length.stop_sequences:
                text = self.llm.tokenizer.decode(new, skip_special_tokens=True)
                if any(stop in text for stop in self.length.stop_sequences):
                    self.ended[row] = (len(new), "stop_sequence")
            done[row] = row in self.ended
        return done

    def outcome(self, rows: int, generated: int) -> tuple[list[int], list[str]]:
        """Tokens and stop reason per row; a row that never ended ran to the limit."""
        unended = (generated, "target" if self.length.policy == "target" else "length")
        ends = [self.ended.get(row, unended) for row in range(rows)]
        return [n for n, _ in ends], [reason for _, reason in ends]


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
    progress = _Progress(meter, prefill, decode, llm, length)
    new = length.max_new_tokens
    meter.begin_window(prefill)
    try:
        with torch.inference_mode():
            out = llm.model.generate(
                **inputs,
                do_sample=False,
                max_new_tokens=new,
                min_new_tokens=new if length.policy == "target" else 0,
                stopping_criteria=StoppingCriteriaList([progress]),
            )
    finally:  # on a failure too, so the next batch can open its windows
        meter.end_window(decode if progress.calls else prefill)
    windows = {w.name: w for w in meter.windows if w.name in (prefill, decode)}
    generated = out.shape[1] - inputs["input_ids"].shape[1]
    output_tokens, reasons = progress.outcome(len(texts), generated)
    return {
        "input_tokens": [int(n) for n in mask.sum(dim=1)],
        "output_tokens": output_tokens,
        "stop_reasons": reasons,
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
    ctx = JobContext.of("llm", measurement, warmup_tokens, llm_model=llm_spec.model)
    requests: list[dict[str, Any]] = []
    ctx.record["requests"] = requests

    # `llm` names the backend in the key of a kept model, so no video model can match it
    model_key = loaded.key("llm", spec, measurement.compute_device, tuple(LLM_PHASES))

    def body(meter: Meter) -> None:
        llm, loaded_by = loaded.get(model_key)
        if llm is None:
            with meter.window("load"):
                llm = load_llm(llm_spec, measurement.compute_device)
            loaded_by = ctx.record["run_id"]
            loaded.keep(model_key, llm, loaded_by)
        ctx.record["model_loaded_by"] = loaded_by
        ctx.record["model_info"] = llm.describe()
        if warmup_tokens > 0:
            with meter.window("warmup"):
                warm = OutputLength("target", warmup_tokens)
                generate_batch(llm, meter, ["warm up"], warm, "warmup")
        pending = []
        for p in prompts:
            length = output_length(llm_spec, p["dataset"], targets_tokens[p["dataset"]], cap_tokens)
            entry = {
                **p,
                "length_policy": length.policy,
                "max_new_tokens": length.max_new_tokens,
                "stop_sequences": list(length.stop_sequences),
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
                pending.append((length, entry))
            requests.append(entry)
        # Batch requests of one output length together, so min/max_new_tokens apply to all.
        by_length: dict[OutputLength, list[dict]] = {}
        for length, entry in pending:
            by_length.setdefault(length, []).append(entry)
        batch_index = 0
        for length, group in by_length.items():
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
                    entry["stop_reason"] = result["stop_reasons"][i]
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
