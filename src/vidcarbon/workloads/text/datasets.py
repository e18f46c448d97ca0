"""The six prompt datasets of the paper's RQ2: where each lives, which columns make a prompt,
the template that turns a row into a prompt, and deterministic sampling by seed.

Rows come from one of three sources, all read into a pyarrow Table in the dataset's own column
layout, so column checks, filters and templates are the same code for each:
- `builtin`: config/prompts/llm/<dataset>.jsonl, prompts written for this project in the style of
  the dataset (not copied from it); the embedded default.
- `hub`: the Hugging Face dataset via `datasets.load_dataset` (extra `vidcarbon[cluster]`),
  downloaded on the submitting host by the `llm_prompts` rule.
- a directory: `<dir>/<dataset>.parquet` in the hub's column layout (offline mirrors; the tests).
Parquet and JSONL are read with pyarrow, so neither `make run` nor the tests need `datasets`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from vidcarbon.errors import ConfigError
from vidcarbon.prompts import prompt_id


def _letters(choices) -> str:
    return "\n".join(f"{chr(ord('A') + i)}. {c}" for i, c in enumerate(choices))


def _alpaca(row: dict) -> str:
    # The Alpaca training template (tatsu-lab/stanford_alpaca), with and without an input.
    if (row.get("input") or "").strip():
        return (
            "Below is an instruction that describes a task, paired with an input that provides "
            "further context. Write a response that appropriately completes the request.\n\n"
            f"### Instruction:\n{row['instruction']}\n\n### Input:\n{row['input']}\n\n"
            "### Response:\n"
        )
    return (
        "Below is an instruction that describes a task. Write a response that appropriately "
        f"completes the request.\n\n### Instruction:\n{row['instruction']}\n\n### Response:\n"
    )


def _scienceqa(row: dict) -> str:
    hint = (row.get("hint") or "").strip()
    context = f"Context: {hint}\n" if hint else ""
    return f"{context}Question: {row['question']}\n{_letters(row['choices'])}\nAnswer:"


# lm-evaluation-harness's default generation limit (HFLM max_gen_toks) for tasks that set none.
HARNESS_MAX_GEN_TOKS = 256


@dataclass(frozen=True)
class AnswerEnd:
    """Where a pretrained base model's answer ends, as standard evaluation harnesses decide
    for the dataset: a stop sequence in the generated text, EOS, or `max_new_tokens`
    (None: the config's `llm.output_tokens.cap`). `source` says where the choice comes from."""

    stop_sequences: tuple[str, ...]
    max_new_tokens: int | None
    source: str


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives on the hub, how one of its rows becomes a prompt, and where
    an answer to it ends."""

    name: str
    hf_id: str
    hf_config: str | None
    split: str
    columns: tuple[str, ...]  # the columns the template reads; all must be present
    template: Callable[[dict], str]
    answer_end: AnswerEnd
    text_only_column: str | None = None  # rows where this column is not null are dropped

    def prompt(self, row: dict) -> str:
        return self.template(row)


DATASETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        DatasetSpec(
            "alpaca",
            "tatsu-lab/alpaca",
            None,
            "train",
            ("instruction", "input"),
            _alpaca,
            AnswerEnd(
                (),
                None,
                "free-form instruction following (no lm-evaluation-harness task): the answer "
                "ends at EOS or at llm.output_tokens.cap",
            ),
        ),
        DatasetSpec(
            "gsm8k",
            "openai/gsm8k",
            "main",
            "test",
            ("question",),
            lambda r: f"Question: {r['question']}\nAnswer:",
            AnswerEnd(
                ("Question:",),
                HARNESS_MAX_GEN_TOKS,
                "lm-evaluation-harness lm_eval/tasks/gsm8k/gsm8k.yaml: until 'Question:' "
                "(its other two, '</s>' and '<|im_end|>', are end-of-sequence tokens: EOS), "
                "max_gen_toks 256 (HFLM default)",
            ),
        ),
        DatasetSpec(
            "mmlu",
            "cais/mmlu",
            "all",
            "test",
            ("question", "choices"),
            lambda r: f"{r['question']}\n{_letters(r['choices'])}\nAnswer:",
            AnswerEnd(
                (),
                1,
                "lm-evaluation-harness lm_eval/tasks/mmlu/default: multiple_choice over the "
                "letters A-D after 'Answer:', i.e. one answer token",
            ),
        ),
        DatasetSpec(
            "nq_open",
            "google-research-datasets/nq_open",
            "nq_open",
            "validation",
            ("question",),
            lambda r: f"Q: {r['question']}?\nA:",
            AnswerEnd(
                ("\n", ".", ","),
                HARNESS_MAX_GEN_TOKS,
                "lm-evaluation-harness lm_eval/tasks/nq_open/nq_open.yaml: until '\\n', '.', "
                "','; max_gen_toks 256 (HFLM default)",
            ),
        ),
        DatasetSpec(
            "scienceqa",
            "derek-thomas/ScienceQA",
            None,
            "test",
            ("question", "hint", "choices"),
            _scienceqa,
            AnswerEnd(
                (),
                1,
                "multiple choice with lettered options after 'Answer:', scored as one answer "
                "letter like lm-evaluation-harness's mmlu (lmms-eval's ScienceQA task asks "
                "for the option's letter directly, max_new_tokens 16)",
            ),
            text_only_column="image",
        ),
        DatasetSpec(
            "triviaqa",
            "mandarjoshi/trivia_qa",
            "rc.nocontext",
            "validation",
            ("question",),
            lambda r: f"Question: {r['question']}\nAnswer:",
            AnswerEnd(
                ("\n", ".", ","),
                HARNESS_MAX_GEN_TOKS,
                "lm-evaluation-harness lm_eval/tasks/triviaqa/default.yaml: until '\\n', "
                "'.', ','; max_gen_toks 256 (HFLM default)",
            ),
        ),
    )
}


@dataclass(frozen=True)
class LlmPrompt:
    """One sampled prompt: its id (hash of the text), dataset, source row and text."""

    prompt_id: str
    dataset: str
    row_index: int
    text: str


def spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ConfigError(
            f"config key 'llm.datasets': unknown dataset {name!r}; allowed: {', '.join(DATASETS)}"
        )
    return DATASETS[name]


BUILTIN_DIR = Path("config/prompts/llm")


def source_file(name: str, source: str) -> Path | None:
    """The local file `load_rows` reads for `name` (None for the hub), for rule inputs."""
    if source == "hub":
        return None
    if source == "builtin":
        return BUILTIN_DIR / f"{name}.jsonl"
    return Path(source) / f"{name}.parquet"


def load_rows(name: str, source: str) -> pa.Table:
    """All rows of dataset `name` from `source` ("builtin", "hub" or a directory)."""
    s = spec(name)
    if source == "builtin":
        path = source_file(name, source)
        if not path.is_file():
            raise ConfigError(f"config key 'llm.source': builtin prompt file '{path}' is missing")
        return pajson.read_json(path)
    if source == "hub":
        try:
            from datasets import load_dataset
        except ImportError as exc:
            raise ConfigError(
                "config key 'llm.source': 'hub' needs the Hugging Face `datasets` package; "
                "install it with `pip install 'vidcarbon[cluster]'` or use 'builtin'"
            ) from exc
        dataset = load_dataset(s.hf_id, s.hf_config, split=s.split)
        return dataset.with_format("arrow")[:]
    path = source_file(name, source)
    if not path.is_file():
        raise ConfigError(
            f"config key 'llm.source': {source!r} holds no '{name}.parquet'; give 'builtin', "
            f"'hub' or a directory with one Parquet file per dataset in its hub column layout"
        )
    return pq.read_table(path)


def select_rows(name: str, table: pa.Table) -> pa.Table:
    """Check the prompt columns are present and drop rows the baseline excludes."""
    s = spec(name)
    missing = [c for c in s.columns if c not in table.column_names]
    if missing:
        raise ConfigError(
            f"dataset {name!r}: prompt column(s) {', '.join(missing)} missing; it has "
            f"{', '.join(table.column_names) or 'no columns'}; the template needs "
            f"{', '.join(s.columns)}"
        )
    if s.text_only_column is not None and s.text_only_column in table.column_names:
        table = table.filter(pc.is_null(table[s.text_only_column]))
    return table


def sample_prompts(name: str, table: pa.Table, n: int, seed: int) -> list[LlmPrompt]:
    """`n` prompts drawn without replacement, the same for the same (dataset, rows, seed).

    Fewer rows than `n`: all of them. Row indices refer to `table` after `select_rows`.
    """
    table = select_rows(name, table)
    rng = random.Random(f"{seed}:{name}")
    indices = rng.sample(range(table.num_rows), min(n, table.num_rows))
    rows = table.select(list(spec(name).columns)).take(indices).to_pylist() if indices else []
    prompts = []
    for index, row in zip(indices, rows, strict=True):
        text = spec(name).prompt(row)
        prompts.append(LlmPrompt(prompt_id(text), name, int(index), text))
    return prompts


def shard(prompts: list, shards: int, index: int) -> list:
    """Prompts of shard `index` of `shards`, dealt round robin (sizes differ by one at most)."""
    return prompts[index::shards]
