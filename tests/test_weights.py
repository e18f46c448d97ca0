"""What rule fetch_weights records per video model, from a Hugging Face cache without network."""

import pytest

from tests.conftest import cache_snapshot
from vidcarbon.errors import BackendUnavailable
from vidcarbon.weights import fetch, fetch_video_model

WAN = "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"


class Saved:
    """Stands in for a pipeline: save_pretrained writes a diffusers layout's files."""

    def save_pretrained(self, path):
        (path / "transformer").mkdir(parents=True)
        (path / "model_index.json").write_text('{"_class_name": "WanPipeline"}')
        (path / "transformer" / "config.json").write_text("{}")
        (path / "transformer" / "diffusion_pytorch_model.safetensors").write_text("")


def test_models_that_need_no_download_say_so(tmp_path):
    assert fetch_video_model("latte-tiny", {})["source"] == "none"
    record = fetch_video_model("diffusers", {"model": WAN, "weights": "random"})
    assert record == {
        "model": WAN,
        "source": "none",
        "path": None,
        "revision": None,
        "reason": "random weights of the embedded architecture",
    }
    local = fetch_video_model("diffusers", {"model": str(tmp_path)})
    assert local["source"] == "local" and local["path"] == str(tmp_path.resolve())


def test_pretrained_hub_model_records_its_snapshot(hf_cache, monkeypatch):
    from huggingface_hub import constants

    revision = cache_snapshot(hf_cache, "test-org/tiny", Saved())
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the cache answers, not the hub
    record = fetch_video_model("diffusers", {"model": "test-org/tiny"})
    assert record["source"] == "hub" and record["revision"] == revision
    assert record["path"] == str(hf_cache / "models--test-org--tiny" / "snapshots" / revision)
    assert "*/*.safetensors" in record["allow_patterns"]
    configs_only = fetch_video_model("diffusers", {"model": "test-org/tiny", "weights": "random"})
    assert "*/*.safetensors" not in configs_only["allow_patterns"]


def test_an_unknown_model_id_is_named_with_the_fix(monkeypatch):
    import httpx2
    import huggingface_hub
    from huggingface_hub.errors import RepositoryNotFoundError

    def not_found(*args, **kwargs):
        request = httpx2.Request("GET", "https://huggingface.co/api/models/test-org/nope")
        raise RepositoryNotFoundError("404", response=httpx2.Response(404, request=request))

    monkeypatch.setattr(huggingface_hub, "snapshot_download", not_found)
    with pytest.raises(BackendUnavailable) as err:
        fetch("test-org/nope", ["*.json"])
    assert "'test-org/nope' does not exist on the Hugging Face hub" in str(err.value)
    assert "hf auth login" in str(err.value)
