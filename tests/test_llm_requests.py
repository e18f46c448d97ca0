"""llama-tiny answering requests: prefill/decode windows, token counts, policies, failures."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import cache_snapshot
from vidcarbon.workloads.measured import Measurement
from vidcarbon.workloads.text import measured as llm_requests
from vidcarbon.workloads.text.measured import run_requests
from vidcarbon.workloads.text.models import LlmSpec, LoadedLlm, load_llm
from vidcarbon.workloads.text.spec import OutputLength, output_length
from vidcarbon.workloads.text.table import request_rows

SHORT = {"prompt_id": "p1", "dataset": "gsm8k", "text": "Question: what is 2 + 2?\nAnswer:"}
LONGER = {"prompt_id": "p2", "dataset": "gsm8k", "text": "Question: " + "and then " * 20}
TOO_LONG = {"prompt_id": "p3", "dataset": "nq_open", "text": "Q: " + "x" * 600 + "?\nA:"}
OTHER = {"prompt_id": "p4", "dataset": "nq_open", "text": "Q: who wrote frankenstein?\nA:"}
TARGETS = {"gsm8k": 12, "nq_open": 5}


def rows_of(record):
    return {r["prompt_id"]: r for r in request_rows(record, {})}


@pytest.fixture(scope="module")
def single():
    prompts = [SHORT, TOO_LONG, OTHER]
    return run_requests({}, prompts, TARGETS, 64, 1, 2, Measurement())


def test_random_weights_answer_exactly_the_target(single):
    assert single["status"] == "ok"
    rows = rows_of(single)
    assert rows["p1"]["output_tokens"] == 12 and rows["p4"]["output_tokens"] == 5
    assert {r["length_policy"] for r in rows.values()} == {"target"}
    tokenizer = load_llm(LlmSpec(), "cpu").tokenizer
    assert rows["p1"]["input_tokens"] == len(tokenizer(SHORT["text"]).input_ids)


def test_prefill_and_decode_windows_add_up(single):
    names = [w["name"] for w in single["windows"]]
    assert names.index("prefill/0") < names.index("decode/0") < names.index("prefill/1")
    assert "load" in names and "warmup" in names
    for row in rows_of(single).values():
        if row["status"] != "ok":
            continue
        assert row["prefill_duration_s"] > 0 and row["decode_duration_s"] > 0
        assert row["energy_j"] == pytest.approx(row["prefill_energy_j"] + row["decode_energy_j"])
        assert row["energy_per_output_token_j"] == pytest.approx(
            row["energy_j"] / row["output_tokens"]
        )
    # each measured batch (batch size 1: each ok request) has its own prefill and decode
    # window, besides the warm-up's; the too-long prompt is refused before any window
    ok = [r for r in rows_of(single).values() if r["status"] == "ok"]
    measured = [n for n in names if n.split("/")[0] in ("prefill", "decode")]
    assert len(measured) == 2 * (len(ok) + 1) and "prefill/warmup" in measured


def test_too_long_prompt_fails_alone(single):
    rows = rows_of(single)
    assert rows["p3"]["status"] == "failed"
    assert "exceeds the model's context of 512 tokens" in rows["p3"]["error"]
    assert rows["p3"]["energy_j"] is None
    assert rows["p1"]["status"] == rows["p4"]["status"] == "ok"


def test_a_batch_shares_its_windows_by_tokens():
    record = run_requests({}, [SHORT, LONGER, OTHER], TARGETS, 64, 2, 0, Measurement())
    rows = rows_of(record)
    assert rows["p1"]["batch_index"] == rows["p2"]["batch_index"] == 0
    assert rows["p1"]["batch_size"] == 2 and rows["p4"]["batch_size"] == 1
    window = {w["name"]: w for w in record["windows"]}["prefill/0"]
    total = sum(window["energy_j"].values())
    assert rows["p1"]["prefill_energy_j"] + rows["p2"]["prefill_energy_j"] == pytest.approx(total)
    share = rows["p1"]["input_tokens"] / (rows["p1"]["input_tokens"] + rows["p2"]["input_tokens"])
    assert rows["p1"]["prefill_energy_j"] == pytest.approx(total * share)
    assert rows["p1"]["output_tokens"] == rows["p2"]["output_tokens"] == 12


def test_output_length_policy_per_weights_chat_and_dataset():
    random = output_length(LlmSpec(model="m", weights="random"), "gsm8k", 40, 512)
    assert (random.policy, random.max_new_tokens) == ("target", 40)
    base = LlmSpec(model="m", weights="pretrained")
    assert output_length(base, "gsm8k", 40, 512) == OutputLength("stop", 256, ("Question:",))
    assert output_length(base, "nq_open", 40, 512) == OutputLength("stop", 256, ("\n", ".", ","))
    assert output_length(base, "mmlu", 40, 512) == OutputLength("stop", 1)  # one answer letter
    assert output_length(base, "alpaca", 40, 300) == OutputLength("stop", 300)  # free-form
    chat = LlmSpec(model="m", weights="pretrained", chat=True)
    assert output_length(chat, "nq_open", 40, 512) == OutputLength("eos_cap", 512)


class NeverEos:
    """A causal LM that never emits EOS: each next token is `chain[last token]`, else "it"
    (after any prompt it answers "it is a . the and it is a . ...")."""

    @staticmethod
    def build(eos_after: str | None = None) -> LoadedLlm:
        import types

        tiny = load_llm(LlmSpec(), "cpu")
        vocab = tiny.tokenizer.get_vocab()
        words = ["\u2581it", "\u2581is", "\u2581a", ".", "\u2581the", "\u2581and"]
        ids = [vocab[w] for w in words]
        chain = dict(zip(ids, ids[1:] + ids[:1], strict=True))
        if eos_after is not None:
            chain[vocab[eos_after]] = tiny.tokenizer.eos_token_id
        forward = tiny.model.forward

        def chained(self, *args, **kwargs):
            out = forward(*args, **kwargs)
            given = kwargs["input_ids"]
            # the prompt pass sees the whole prompt, which the tokenizer ends with </s>
            last = given[:, -2 if given.shape[1] > 1 else -1].tolist()
            logits = torch.full_like(out.logits, -1e4)
            for row, token in enumerate(last):
                logits[row, -1, chain.get(token, ids[0])] = 0.0
            out.logits = logits
            return out

        tiny.model.forward = types.MethodType(chained, tiny.model)
        return tiny


def never_eos_rows(monkeypatch, prompts, cap=12, eos_after=None):
    llm = NeverEos.build(eos_after)
    monkeypatch.setattr(llm_requests, "load_llm", lambda spec, device: llm)
    record = run_requests(
        {"model": "a-base-model", "weights": "pretrained"},
        prompts,
        {**TARGETS, "mmlu": 3, "alpaca": 3},  # targets apply to random weights only
        cap,
        1,
        2,
        Measurement(),
    )
    assert record["status"] == "ok", record["error"]
    return rows_of(record)


def test_stop_sequences_end_the_answers_of_a_model_that_never_emits_eos(monkeypatch):
    mmlu = {"prompt_id": "p5", "dataset": "mmlu", "text": "Pick one\nA. x\nB. y\nAnswer:"}
    alpaca = {"prompt_id": "p6", "dataset": "alpaca", "text": "### Instruction:\nGo\n"}
    rows = never_eos_rows(monkeypatch, [OTHER, SHORT, mmlu, alpaca], cap=12)
    # nq_open stops at "." (lm-evaluation-harness): "it is a ." is 4 tokens
    assert rows["p4"]["stop_reason"] == "stop_sequence" and rows["p4"]["output_tokens"] == 4
    # gsm8k's stop is "Question:", which this model never writes: it runs to 256 tokens
    assert rows["p1"]["stop_reason"] == "length" and rows["p1"]["output_tokens"] == 256
    assert rows["p5"]["stop_reason"] == "length" and rows["p5"]["output_tokens"] == 1
    assert rows["p6"]["stop_reason"] == "length" and rows["p6"]["output_tokens"] == 12
    assert {r["length_policy"] for r in rows.values()} == {"stop"}
    assert rows["p4"]["energy_per_output_token_j"] == pytest.approx(rows["p4"]["energy_j"] / 4)


def test_eos_ends_an_answer_before_its_stop_sequence(monkeypatch):
    rows = never_eos_rows(monkeypatch, [OTHER], eos_after="\u2581is")
    assert rows["p4"]["stop_reason"] == "eos" and rows["p4"]["output_tokens"] == 3  # it is </s>


def test_a_batch_ends_each_answer_on_its_own(monkeypatch):
    llm = NeverEos.build()
    monkeypatch.setattr(llm_requests, "load_llm", lambda spec, device: llm)
    longer = {**OTHER, "prompt_id": "p7", "text": "Q: and who wrote the sequel, if any?\nA: the"}
    record = run_requests(
        {"model": "m", "weights": "pretrained"}, [OTHER, longer], TARGETS, 8, 2, 0, Measurement()
    )
    rows = rows_of(record)
    assert rows["p4"]["batch_index"] == rows["p7"]["batch_index"]
    # after "the" it goes on "and it is a .": one token more than after "A:"
    assert (rows["p4"]["output_tokens"], rows["p7"]["output_tokens"]) == (4, 5)
    assert {rows["p4"]["stop_reason"], rows["p7"]["stop_reason"]} == {"stop_sequence"}


def test_hub_layout_checkpoint_pretrained_stops_and_random_runs_to_target(tmp_path):
    """The hub code path on a local checkpoint directory (what snapshot_download gives)."""
    tiny = load_llm(LlmSpec(), "cpu")
    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    pretrained = run_requests(
        {"model": str(tmp_path), "weights": "pretrained"}, [SHORT], TARGETS, 7, 1, 0, Measurement()
    )
    row = rows_of(pretrained)["p1"]
    assert row["status"] == "ok", row["error"]
    # a base model answering gsm8k stops as lm-evaluation-harness does: "Question:", EOS, 256
    assert row["length_policy"] == "stop" and row["max_new_tokens"] == 256
    assert 1 <= row["output_tokens"] <= 256
    assert row["stop_reason"] in ("eos", "stop_sequence", "length")
    assert pretrained["model_info"]["params"] == sum(p.numel() for p in tiny.model.parameters())
    random = run_requests(
        {"model": str(tmp_path), "weights": "random"}, [SHORT], TARGETS, 7, 1, 0, Measurement()
    )
    assert rows_of(random)["p1"]["output_tokens"] == 12


def test_a_load_failure_fails_every_request():
    record = run_requests(
        {"model": "/nonexistent/model"}, [SHORT, OTHER], TARGETS, 8, 1, 0, Measurement()
    )
    assert record["status"] == "failed"
    rows = rows_of(record)
    assert {r["status"] for r in rows.values()} == {"failed"} and len(rows) == 2
    assert all("nonexistent" in r["error"] for r in rows.values())


def test_llama_tiny_is_always_random_so_it_answers_the_target():
    record = run_requests({"weights": "pretrained"}, [OTHER], TARGETS, 64, 1, 0, Measurement())
    row = rows_of(record)["p4"]
    assert row["length_policy"] == "target" and row["output_tokens"] == 5


def test_chat_models_read_the_prompt_as_a_user_turn(tmp_path):
    tiny = load_llm(LlmSpec(), "cpu")
    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.chat_template = "[INST] {{ messages[0]['content'] }} [/INST]"
    tiny.tokenizer.save_pretrained(tmp_path)
    spec = {"model": str(tmp_path), "weights": "random"}
    plain = rows_of(run_requests(spec, [OTHER], TARGETS, 8, 1, 0, Measurement()))["p4"]
    chat = rows_of(run_requests({**spec, "chat": True}, [OTHER], TARGETS, 8, 1, 0, Measurement()))[
        "p4"
    ]
    assert chat["status"] == plain["status"] == "ok"
    tokenizer = tiny.tokenizer
    wrapped = f"[INST] {OTHER['text']} [/INST]"
    assert chat["input_tokens"] == len(tokenizer(wrapped, add_special_tokens=False).input_ids)
    assert chat["input_tokens"] > plain["input_tokens"]


def test_chat_without_a_template_fails_with_the_fix():
    record = run_requests({"chat": True}, [OTHER], TARGETS, 8, 1, 0, Measurement())
    assert record["status"] == "failed"
    assert "has no chat template" in rows_of(record)["p4"]["error"]


def test_fetch_weights_needs_nothing_for_tiny_or_a_local_directory(tmp_path):
    from vidcarbon.workloads.text.models import fetch_weights

    assert fetch_weights(LlmSpec())["source"] == "none"
    local = fetch_weights(LlmSpec(model=str(tmp_path), weights="pretrained"))
    assert local["source"] == "local" and local["path"] == str(tmp_path.resolve())


def test_hub_model_loads_offline_from_the_cache(hf_cache):
    from vidcarbon.errors import BackendUnavailable

    tiny = load_llm(LlmSpec(), "cpu")
    cache_snapshot(hf_cache, "test-org/tiny-llama", tiny.model, tiny.tokenizer)
    spec = LlmSpec(model="test-org/tiny-llama", weights="pretrained")
    llm = load_llm(spec, "cpu")
    for a, b in zip(llm.model.parameters(), tiny.model.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(BackendUnavailable, match="'test-org/absent' are not in the Hugging Face"):
        load_llm(LlmSpec(model="test-org/absent", weights="random"), "cpu")
