"""The LLM datasets: each hub column layout, templates, filters, sampling, bad input."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO
from vidcarbon.errors import ConfigError
from vidcarbon.prompts import prompt_id
from vidcarbon.workloads.text import datasets

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def hub_tables() -> dict[str, pa.Table]:
    """Five rows per dataset in the hub's column layout (extra columns included)."""
    n = range(5)
    return {
        "alpaca": pa.table(
            {
                "instruction": [f"Instruction {i}." for i in n],
                "input": ["", "some input", "", "", "x"],
                "output": [f"out {i}" for i in n],
                "text": [f"text {i}" for i in n],
            }
        ),
        "gsm8k": pa.table(
            {"question": [f"What is {i} + {i}?" for i in n], "answer": [f"#### {2 * i}" for i in n]}
        ),
        "mmlu": pa.table(
            {
                "question": [f"Pick {i}." for i in n],
                "subject": ["math"] * 5,
                "choices": [["w", "x", "y", "z"]] * 5,
                "answer": pa.array([0, 1, 2, 3, 0], pa.int64()),
            }
        ),
        "nq_open": pa.table(
            {"question": [f"who is number {i}" for i in n], "answer": [[str(i)] for i in n]}
        ),
        "scienceqa": pa.table(
            {
                "image": pa.array(
                    [
                        None,
                        {"bytes": b"png", "path": None},
                        None,
                        {"bytes": b"p", "path": None},
                        None,
                    ],
                    IMAGE,
                ),
                "question": [f"Science {i}?" for i in n],
                "choices": [["yes", "no"]] * 5,
                "answer": [0] * 5,
                "hint": ["", "", "A hint.", "", ""],
                "task": ["closed choice"] * 5,
                "lecture": [""] * 5,
            }
        ),
        "triviaqa": pa.table(
            {
                "question": [f"Trivia {i}?" for i in n],
                "question_id": [f"tq{i}" for i in n],
                "question_source": ["web"] * 5,
                "answer": [{"value": str(i), "aliases": [str(i)]} for i in n],
            }
        ),
    }


@pytest.fixture(scope="module")
def hub_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hub")
    for name, table in hub_tables().items():
        pq.write_table(table, directory / f"{name}.parquet")
    return directory


@pytest.mark.parametrize("name", list(datasets.DATASETS))
def test_every_dataset_loads_from_its_hub_layout(hub_dir, name):
    table = datasets.load_rows(name, str(hub_dir))
    prompts = datasets.sample_prompts(name, table, 10, seed=0)
    expected_rows = 3 if name == "scienceqa" else 5  # two ScienceQA rows have an image
    assert len(prompts) == expected_rows
    assert len({p.row_index for p in prompts}) == expected_rows
    for p in prompts:
        assert p.dataset == name and p.prompt_id == prompt_id(p.text)


def test_templates(hub_dir):
    def by_index(name):
        table = datasets.load_rows(name, str(hub_dir))
        return {p.row_index: p.text for p in datasets.sample_prompts(name, table, 10, 0)}

    alpaca = by_index("alpaca")
    assert "### Input:\nsome input\n\n### Response:\n" in alpaca[1]
    assert "### Input" not in alpaca[0] and "### Instruction:\nInstruction 0." in alpaca[0]
    assert by_index("mmlu")[2] == "Pick 2.\nA. w\nB. x\nC. y\nD. z\nAnswer:"
    assert by_index("gsm8k")[3] == "Question: What is 3 + 3?\nAnswer:"
    assert by_index("nq_open")[0] == "Q: who is number 0?\nA:"
    assert by_index("triviaqa")[4] == "Question: Trivia 4?\nAnswer:"


def test_scienceqa_keeps_text_only_rows_and_formats_hint_and_choices(hub_dir):
    table = datasets.load_rows("scienceqa", str(hub_dir))
    texts = sorted(p.text for p in datasets.sample_prompts("scienceqa", table, 10, 0))
    assert texts == [
        "Context: A hint.\nQuestion: Science 2?\nA. yes\nB. no\nAnswer:",
        "Question: Science 0?\nA. yes\nB. no\nAnswer:",
        "Question: Science 4?\nA. yes\nB. no\nAnswer:",
    ]


def test_sampling_is_deterministic_by_seed():
    table = pa.table({"question": [f"q{i}" for i in range(200)]})
    first = datasets.sample_prompts("gsm8k", table, 5, seed=3)
    assert first == datasets.sample_prompts("gsm8k", table, 5, seed=3)
    assert first != datasets.sample_prompts("gsm8k", table, 5, seed=4)
    # the same seed draws differently per dataset, so datasets are not sampled in lockstep
    other = datasets.sample_prompts("triviaqa", table, 5, seed=3)
    assert [p.row_index for p in other] != [p.row_index for p in first]
    assert len(datasets.sample_prompts("gsm8k", table, 500, seed=0)) == 200


def test_shards_deal_prompts_round_robin():
    prompts = list(range(7))
    shards = [datasets.shard(prompts, 3, i) for i in range(3)]
    assert shards == [[0, 3, 6], [1, 4], [2, 5]]
    assert sorted(x for s in shards for x in s) == prompts


def test_missing_prompt_column_names_dataset_column_and_columns_present(tmp_path):
    pq.write_table(pa.table({"instruction": ["a"], "output": ["b"]}), tmp_path / "alpaca.parquet")
    table = datasets.load_rows("alpaca", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        datasets.sample_prompts("alpaca", table, 1, 0)
    message = str(err.value)
    assert "dataset 'alpaca'" in message and "column(s) input missing" in message
    assert "it has instruction, output" in message


def test_unknown_dataset_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="unknown dataset 'squad'; allowed: alpaca, gsm8k"):
        datasets.load_rows("squad", "builtin")
    with pytest.raises(ConfigError, match="holds no 'mmlu.parquet'"):
        datasets.load_rows("mmlu", str(tmp_path))


@pytest.mark.parametrize("name", list(datasets.DATASETS))
def test_builtin_prompts_follow_each_layout(monkeypatch, name):
    monkeypatch.chdir(REPO)
    table = datasets.load_rows(name, "builtin")
    prompts = datasets.sample_prompts(name, table, 100, seed=0)
    assert len(prompts) == table.num_rows >= 5
    assert len({p.prompt_id for p in prompts}) == len(prompts)


def test_config_rejects_an_unknown_dataset_naming_key_value_and_allowed(tmp_path, monkeypatch):
    from tests.conftest import SCHEMA, small_config
    from vidcarbon.config import validate_config

    monkeypatch.chdir(tmp_path)
    (tmp_path / "config" / "prompts").mkdir(parents=True)
    (tmp_path / "config" / "prompts" / "test.txt").write_text("a fox\n")
    (tmp_path / "config" / "hardware.yaml").write_text((REPO / "config/hardware.yaml").read_text())
    config = small_config()
    config["llm"] = {"models": {"tiny": {}}, "datasets": ["gsm8k", "squad"]}
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert (
        "config key 'llm.datasets[1]': 'squad' is not allowed; allowed: alpaca, gsm8k, mmlu, "
        "nq_open, scienceqa, triviaqa" in str(err.value)
    )
    config["llm"]["datasets"] = ["gsm8k"]
    validate_config(config, SCHEMA)  # defaults filled: every dataset has a target length
    assert config["llm"]["models"]["tiny"] == {
        "model": "llama-tiny",
        "weights": "random",
        "dtype": "auto",
        "weights_seed": 0,
        "context_tokens": 512,
        "hidden_size": 64,
        "layers": 2,
        "chat": False,
        "architecture": {},
    }
    assert set(config["llm"]["output_tokens"]["target"]) == set(datasets.DATASETS)
    assert config["comparison"] == {"intensities_g_per_kwh": {"paper-100g": 100}}


def test_hub_source_without_datasets_says_how_to_install_it():
    import importlib.util

    if importlib.util.find_spec("datasets") is not None:
        pytest.skip("`datasets` is installed; the hub needs a network")
    with pytest.raises(ConfigError, match=r"pip install 'vidcarbon\[cluster\]'"):
        datasets.load_rows("gsm8k", "hub")
    assert datasets.source_file("gsm8k", "hub") is None
