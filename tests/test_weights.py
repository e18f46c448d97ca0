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


def test_an_unreachable_hub_names_the_model_and_what_to_check(hf_cache, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # as a host without internet
    with pytest.raises(BackendUnavailable) as err:
        fetch("test-org/never-cached", ["*.json"])
    message = str(err.value)
    assert "model 'test-org/never-cached': the Hugging Face hub could not be reached" in message
    assert "check the model id in the config (`vidcarbon check-config`" in message


def wan_config(model: str) -> dict:
    from tests.conftest import small_config

    config = small_config()
    config["models"] = {"wan": {"backend": "diffusers", "options": {"model": model}}}
    return config


def test_check_config_finds_a_misspelled_hub_id_and_suggests_the_right_one(hf_cache, monkeypatch):
    import httpx2
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    from vidcarbon.config import hub_models
    from vidcarbon.errors import ConfigError

    asked = []

    def model_info(self, model, timeout=None):
        asked.append(model)
        request = httpx2.Request("GET", f"https://huggingface.co/api/models/{model}")
        raise RepositoryNotFoundError("404", response=httpx2.Response(404, request=request))

    monkeypatch.setattr(HfApi, "model_info", model_info)
    with pytest.raises(ConfigError) as err:
        hub_models(wan_config("Wan-AI/Wan2.1-T2V-1.3B-Diffuser"))  # pretrained: fetched
    assert asked == ["Wan-AI/Wan2.1-T2V-1.3B-Diffuser"]
    assert str(err.value) == (
        "config key 'models.wan.model': model 'Wan-AI/Wan2.1-T2V-1.3B-Diffuser' does not "
        "exist on the Hugging Face hub (or is private: log in with `hf auth login`); check the "
        f"id; did you mean '{WAN}'?"
    )


def test_check_config_says_when_the_hub_could_not_be_asked(hf_cache, monkeypatch):
    from huggingface_hub import constants

    from vidcarbon.config import hub_models

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    (line,) = hub_models(wan_config("test-org/some-video-model"))
    assert line.startswith("models.wan: 'test-org/some-video-model' not checked: the hub did not")
    # random weights of an embedded architecture fetch nothing, so nothing is asked
    config = wan_config(WAN)
    config["models"]["wan"]["options"]["weights"] = "random"
    assert hub_models(config) == []
