"""The text workload's spec: which LLM answers (`models.LlmSpec`), on which prompts
(`datasets`), how long its answers are, what a shard job is asked, and where its records live.

Output length (`length_policy`), which decides much of a text answer's energy:
- "target": random weights never stop by themselves, so every answer is exactly the dataset's
  target length (`min_new_tokens = max_new_tokens = target`);
- "stop": a pretrained base model stops where the dataset's answer ends, as evaluation
  harnesses decide (`datasets.AnswerEnd`): at EOS, at one of the dataset's stop sequences in
  the generated text, or at its token limit;
- "eos_cap": a chat model (`chat: true`) stops at EOS or at the cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vidcarbon.records import RecordKind
from vidcarbon.workloads.text.datasets import spec as dataset_spec
from vidcarbon.workloads.text.models import LlmSpec

RECORDS = (RecordKind("LLM shard", "llm/requests"),)


@dataclass(frozen=True)
class OutputLength:
    """How long answers are: `policy` (see the module docstring), the token limit (the exact
    length under "target"), and the stop sequences of the "stop" policy."""

    policy: str
    max_new_tokens: int
    stop_sequences: tuple[str, ...] = ()


def output_length(spec: LlmSpec, dataset: str, target_tokens: int, cap_tokens: int):
    """Random weights: the target; a chat model: EOS or the cap; a base model: the dataset's
    answer end (its stop sequences and token limit, the cap where it sets none)."""
    if spec.effective_weights == "random":
        return OutputLength("target", int(target_tokens))
    if spec.chat:
        return OutputLength("eos_cap", int(cap_tokens))
    end = dataset_spec(dataset).answer_end
    return OutputLength("stop", int(end.max_new_tokens or cap_tokens), end.stop_sequences)


def shard_identity(
    llm: str, spec: LlmSpec, dataset: str, shard: int, device: str
) -> dict[str, Any]:
    return {
        "llm": llm,
        "weights": spec.effective_weights,
        "dataset": dataset,
        "shard": shard,
        "device": device,
    }
