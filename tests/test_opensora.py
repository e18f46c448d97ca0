"""The `opensora` backend against a test double of the `opensora` package
(tests/opensora_double/package/opensora: tiny CPU modules with the real package's module paths,
registry names and signatures, described in its __init__). These tests check the backend's
hooking and timing logic; they do not run Open-Sora itself."""

from __future__ import annotations

import logging
import sys
from importlib.util import find_spec

import numpy as np
import pytest
import torch

from tests.conftest import REPO
from vidcarbon.backends import VideoShape, create_backend
from vidcarbon.errors import BackendUnavailable, ConfigError
from vidcarbon.workloads.measured import Measurement
from vidcarbon.workloads.video.measured import encode_prompt, generate_cell

SHAPE_240P = VideoShape(frames=3, height=240, width=426)


DOUBLE = REPO / "tests" / "opensora_double"


def _forget_opensora() -> None:
    stubs = ("opensora", "xformers", "flash_attn", "apex")
    for name in [n for n in sys.modules if n.split(".")[0] in stubs]:
        del sys.modules[name]


@pytest.fixture
def use_double(monkeypatch):
    """Put the double's directories ("package", "deps", "kernels") first on sys.path."""

    def use(*parts: str) -> None:
        for part in parts:
            monkeypatch.syspath_prepend(str(DOUBLE / part))
        _forget_opensora()

    yield use
    _forget_opensora()


@pytest.fixture
def double(use_double):
    """The whole double; yields a function returning one of its imported modules."""
    use_double("package", "deps", "kernels")
    return lambda name: sys.modules[name]


@pytest.fixture
def local_checkpoint(tmp_path):
    path = tmp_path / "stdit2-stage3.pt"
    path.write_bytes(b"")
    return str(path)


def backend(phases, **options):
    model = create_backend("opensora", options)
    model.load("cpu", phases=phases)
    return model


@pytest.mark.parametrize(
    ("version", "install", "env"),
    [("1.1", "@v1.1.0", "envs/opensora.yaml"), ("1.2", "@v1.2.0", "envs/opensora-v1.2.yaml")],
)
def test_missing_package_names_the_install_command(version, install, env):
    if find_spec("opensora") is not None:
        pytest.skip("Open-Sora is installed here")
    model = create_backend("opensora", {"version": version})
    with pytest.raises(BackendUnavailable) as err:
        model.load("cuda", phases=("encode",))
    message = str(err.value)
    assert "module 'opensora' is missing" in message
    assert f'pip install "git+https://github.com/hpcaitech/Open-Sora.git{install}"' in message
    assert env in message and "xformers" in message


def test_missing_dependency_of_opensora_is_named(use_double):
    if find_spec("xformers") is not None:
        pytest.skip("xformers is installed here")
    use_double("package")  # no xformers stub
    with pytest.raises(BackendUnavailable, match="module 'xformers' is missing"):
        backend(("denoise",))


def test_v11_phases_encode_once_step_in_order_and_guide_with_batch_two(double, local_checkpoint):
    encoder = backend(("encode",), checkpoint=local_checkpoint)
    embeddings = encoder.encode("  A Heron  ")
    t5 = double("opensora.models.text_encoder.t5").T5Encoder
    assert t5.encode_calls == 1 and t5.texts == ["a heron"]  # text_preprocessing ran
    assert embeddings["y"].shape == (1, 1, 200, 4096) and embeddings["text_tokens"] == 7

    generator = backend(("denoise", "decode"), checkpoint=local_checkpoint)
    seen = []
    latents = generator.denoise(embeddings, SHAPE_240P, steps=4, seed=0, on_step=seen.append)
    assert seen == [0, 1, 2, 3]
    assert t5.encode_calls == 1  # the sampler encoded nothing
    calls = double("opensora.models.stdit").TinySTDiT.calls
    assert [c["batch"] for c in calls] == [2, 2, 2, 2]
    assert calls[0]["y_shape"] == (2, 1, 200, 4096) and calls[0]["mask_shape"] == (1, 200)
    assert calls[0]["size"] == (3, 240, 426) and calls[0]["fps"] == 24
    assert calls[0]["ar"] == pytest.approx(240 / 426)
    assert tuple(latents.shape) == (1, 4, 3, 30, 53)  # Open-Sora's 240p latent (floor of /8)

    frames = generator.decode(latents, SHAPE_240P)
    assert frames.shape == (3, 240, 426, 3) and frames.dtype == np.uint8
    # The VAE decodes 424 columns; the two missing ones repeat the edge.
    assert np.array_equal(frames[:, :, 0], frames[:, :, 1])
    assert np.array_equal(frames[:, :, -1], frames[:, :, -2])


def test_text_encoder_is_the_hub_id_or_a_local_cache(double, tmp_path):
    backend(("encode",), text_encoder=str(tmp_path))
    assert double("opensora.models.text_encoder.t5").T5Encoder.cache_dir == str(tmp_path)
    with pytest.raises(ConfigError, match="the only model Open-Sora's T5 encoder loads"):
        backend(("encode",), text_encoder="google/t5-v1_1-base")


def test_denoise_is_seeded(double, local_checkpoint):
    embeddings = backend(("encode",)).encode("a fox")
    generator = backend(("denoise",), checkpoint=local_checkpoint)
    first = generator.denoise(embeddings, SHAPE_240P, steps=2, seed=3)
    again = generator.denoise(embeddings, SHAPE_240P, steps=2, seed=3)
    other = generator.denoise(embeddings, SHAPE_240P, steps=2, seed=4)
    assert torch.equal(first, again) and not torch.equal(first, other)
    with pytest.raises(ConfigError, match="cannot sample 1 step"):
        generator.denoise(embeddings, SHAPE_240P, steps=1, seed=0)


def test_local_checkpoint_applies_the_kernel_flags(double, local_checkpoint, caplog):
    with caplog.at_level(logging.WARNING):
        info = backend(("denoise",), checkpoint=local_checkpoint).describe()
    assert info["checkpoint_local"] is True and info["warnings"] == [] and not caplog.records
    assert info["enable_flash_attn"] is True and info["enable_layernorm_kernel"] is True
    assert info["attention"] == "flash-attn (self), xformers (cross)"


def test_v11_hub_id_warns_that_open_sora_ignores_the_kernel_flags(double, caplog):
    with caplog.at_level(logging.WARNING):
        info = backend(("denoise",)).describe()  # default: hpcai-tech/OpenSora-STDiT-v2-stage3
    assert info["checkpoint_local"] is False
    assert info["enable_flash_attn"] is False and info["enable_layernorm_kernel"] is False
    assert info["attention"] == "math (self), xformers (cross)"
    (warning,) = info["warnings"]
    assert "ignores enable_flash_attn / enable_layernorm_kernel" in warning
    assert warning in caplog.text


def test_v12_hub_id_keeps_the_flags_and_needs_17_frames(double):
    encoder = backend(("encode",), version="1.2")
    embeddings = encoder.encode("a fox")
    t5 = double("opensora.models.text_encoder.t5").T5Encoder
    assert t5.texts == ["a fox aesthetic score: 6.5."]
    assert embeddings["y"].shape == (1, 1, 300, 4096)

    generator = backend(("denoise", "decode"), version="1.2")
    info = generator.describe()
    assert info["warnings"] == [] and info["enable_flash_attn"] is True
    shape = VideoShape(frames=17, height=144, width=256)
    seen = []
    latents = generator.denoise(embeddings, shape, steps=3, seed=0, on_step=seen.append)
    assert seen == [0, 1, 2] and t5.encode_calls == 1
    assert [c["batch"] for c in double("opensora.models.stdit").TinySTDiT.calls] == [2, 2, 2]
    assert tuple(latents.shape) == (1, 4, 5, 18, 32)  # 17 frames -> 5 latent frames
    assert generator.decode(latents, shape).shape == (17, 144, 256, 3)
    # The warm-up decodes one latent frame as one frame.
    assert generator.decode(latents[:, :, :1], VideoShape(1, 144, 256)).shape == (1, 144, 256, 3)
    with pytest.raises(ConfigError, match="cannot produce 8 frames"):
        generator.denoise(embeddings, VideoShape(8, 144, 256), steps=1, seed=0)


def test_v12_local_checkpoint_must_be_a_directory(double, local_checkpoint):
    with pytest.raises(ConfigError, match="only from a directory"):
        backend(("denoise",), version="1.2", checkpoint=local_checkpoint)


def test_missing_kernel_fails_at_load_with_the_fix(use_double, local_checkpoint):
    use_double("package", "deps")  # no flash_attn, apex stubs
    if find_spec("flash_attn") is not None or find_spec("apex") is not None:
        pytest.skip("flash-attn or apex is installed here")
    with pytest.raises(BackendUnavailable, match="flash-attn --no-build-isolation"):
        backend(("denoise",), checkpoint=local_checkpoint)
    with pytest.raises(BackendUnavailable, match="'apex' is not installed"):
        backend(("denoise",), checkpoint=local_checkpoint, enable_flash_attn=False)
    flags = {"enable_flash_attn": False, "enable_layernorm_kernel": False}
    backend(("denoise",), checkpoint=local_checkpoint, **flags)


def test_encode_and_generate_jobs_measure_each_phase(double, local_checkpoint, tmp_path):
    """The real job functions: embeddings through torch.save/torch.load, warm-up, step windows."""
    options = {"checkpoint": local_checkpoint}
    measurement = Measurement(device="cpu", trace_interval_s=0.5)
    embeddings_path = tmp_path / "prompt.pt"
    encoded = encode_prompt("opensora", options, "a fox", embeddings_path, measurement)
    assert encoded["status"] == "ok", encoded["error"]
    assert encoded["text_tokens"] == 5
    record = generate_cell(
        "opensora",
        options,
        VideoShape(frames=2, height=144, width=256),
        steps=3,
        seed=0,
        fps=8,
        warmup_steps=2,  # IDDPM cannot sample one step
        embeddings_path=embeddings_path,
        video_path=tmp_path / "video.mp4",
        measurement=measurement,
    )
    assert record["status"] == "ok", record["error"]
    names = [w["name"] for w in record["windows"]]
    assert names == ["load", "warmup", "step_0", "step_1", "step_2", "denoise", "decode"]
    assert record["frames_written"] == 2
    # T5 runs in the encode job only: a warm-up pass, then the measured one
    assert [w["name"] for w in encoded["windows"]] == ["load", "warmup", "encode"]
    assert double("opensora.models.text_encoder.t5").T5Encoder.encode_calls == 2
    assert len(double("opensora.models.stdit").TinySTDiT.calls) == 2 + 3  # warm-up + steps
