"""Real NVML energy and CUDA generation; these run only where a CUDA GPU is visible."""

import time

import pytest
import torch

from vidcarbon.backends import VideoShape, create_backend
from vidcarbon.energy.counters import detect_counters
from vidcarbon.energy.meter import Meter

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine"),
]


def test_nvml_counter_reads_real_energy():
    counters = detect_counters("cuda", cpu_power_per_core_w=5.0)
    gpu = next(c for c in counters if c.component == "gpu")
    assert gpu.method in ("counter", "integrated")
    meter = Meter(counters, synchronize=torch.cuda.synchronize)
    x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    with meter.window("matmul"):
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            x = (x @ x).clamp_(-1, 1)
    window = meter.get("matmul")
    mean_power_w = window.energy_j["gpu"] / window.duration_s
    assert 30 < mean_power_w < 1500  # a busy GPU, not zero and not absurd


def test_latte_tiny_generates_on_cuda():
    encoder = create_backend("latte-tiny", {})
    encoder.load("cuda", phases=("encode",))
    embeddings = encoder.encode("a lighthouse in fog")
    backend = create_backend("latte-tiny", {})
    backend.load("cuda", phases=("denoise", "decode"))
    shape = VideoShape(frames=8, height=240, width=426)
    frames = backend.decode(backend.denoise(embeddings, shape, steps=4, seed=0), shape)
    assert frames.shape == (8, 240, 426, 3)
    assert backend.describe()["dtype"] == "bfloat16"


@pytest.mark.parametrize("attention", ["auto", "sdpa", "flash"])
def test_diffusers_families_generate_on_cuda_in_bf16(attention):
    """Tiny Wan, CogVideoX and Latte in bf16 with each attention choice (flash: Wan needs the
    flash-attn package, which may be absent: then the error says so)."""
    from tests.test_diffusers_video import SHAPES, TINY
    from vidcarbon.errors import BackendUnavailable

    for model, architecture in TINY.items():
        options = {"model": model, "weights": "random", "architecture": architecture}
        encoder = create_backend("diffusers", options)
        encoder.load("cuda", phases=("encode",))
        embeddings = encoder.encode("a lighthouse in fog")
        backend = create_backend("diffusers", {**options, "attention": attention})
        try:
            backend.load("cuda", phases=("denoise", "decode"))
        except BackendUnavailable as exc:
            assert attention == "flash" and "flash-attn" in str(exc)
            continue
        shape = SHAPES[model]
        frames = backend.decode(backend.denoise(embeddings, shape, steps=2, seed=0), shape)
        assert frames.shape == (shape.frames, shape.height, shape.width, 3)
        info = backend.describe()
        assert info["dtype"] == "bfloat16"
        if attention == "sdpa":
            assert info["attention"].startswith("sdpa (")


def test_nvml_names_the_gpu_by_uuid_and_sees_this_process_on_it():
    """The device a job locks and the sharing check, on real NVML (expects a GPU of its own)."""
    counters = detect_counters("cuda", cpu_power_per_core_w=5.0)
    gpu = next(c for c in counters if c.component == "gpu")
    assert gpu.device_id().startswith("gpu:GPU-")
    torch.ones(1, device="cuda")  # this process now holds a CUDA context on the GPU
    watch = gpu.watch()
    watch.poll()
    assert watch.result(None) is None, "another process is on this GPU"
