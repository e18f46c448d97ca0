import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from vidcarbon.analysis.efficiency import phase_efficiency
from vidcarbon.flops import (
    COUNTED,
    COUNTED_ON_SHAPES,
    count_models_flops,
    count_phase_flops,
    flop_counter,
)
from vidcarbon.gpu_check import WAN_DENOISE_FLOPS_META


def test_attention_flops_are_counted_on_cpu():
    import torch
    import torch.nn.functional as F

    q = torch.randn(2, 4, 100, 8)
    k = torch.randn(2, 4, 60, 8)
    with flop_counter() as counter:
        F.scaled_dot_product_attention(q, k, k)
    assert counter.get_total_flops() == 2 * (2 * 4 * 100 * 60 * 8) * 2


def test_latte_tiny_flops_scale_with_the_shape():
    rows = count_phase_flops(
        "latte-tiny", "latte-tiny", {}, "a heron", [("144p", 4), ("144p", 8), ("240p", 4)]
    )
    by_shape = {(r["resolution"], r["frames"]): r for r in rows}
    small, long, wide = by_shape["144p", 4], by_shape["144p", 8], by_shape["240p", 4]
    assert small["encode_flops"] == long["encode_flops"] > 0  # one prompt, any shape
    # decoding is per frame: twice the frames, twice the FLOPs
    assert long["decode_flops"] == 2 * small["decode_flops"]
    # denoising: linear parts double with frames (temporal attention adds a little more)
    assert 1.9 < long["denoise_step_flops"] / small["denoise_step_flops"] < 2.3
    # 240p has 405 tokens per frame against 144: spatial attention makes it super-linear
    assert wide["denoise_step_flops"] / small["denoise_step_flops"] > 405 / 144


def gpu_check_model(part: str, tiny: bool) -> tuple[dict, tuple[str, list[int]]]:
    """The options and (resolution, [height, width]) of a GPU check model, tiny or full size."""
    full = yaml.safe_load((REPO / "config" / "gpu-check" / f"{part}.yaml").read_text())
    (name, spec), size = next(iter(full["models"].items())), None
    options = dict(spec["options"])
    size = next(iter(spec["resolutions"].items()))
    if tiny:
        cpu = yaml.safe_load((REPO / "config" / "gpu-check" / "cpu" / f"{part}.yaml").read_text())
        options.update(cpu["models"][name]["options"])
        size = next(iter(cpu["models"][name]["resolutions"].items()))
    return options, size


@pytest.mark.parametrize(("part", "frames"), [("wan", 5), ("cogvideox", 9), ("latte", 16)])
def test_counting_on_shapes_equals_a_real_run(part, frames):
    options, (resolution, size) = gpu_check_model(part, tiny=True)
    counted = {}
    for on_shapes in (False, True):
        (row,) = count_phase_flops(
            part, "diffusers", options, "a heron", [(resolution, frames)],
            {resolution: tuple(size)}, on_shapes=on_shapes,
        )  # fmt: skip
        assert row["method"] == (COUNTED_ON_SHAPES if on_shapes else COUNTED)
        counted[on_shapes] = {k: row[k] for k in ("encode_flops", "denoise_step_flops", "dtype")}
        assert row["encode_flops"] > 0 and row["decode_flops"] > 0
    assert counted[True] == counted[False]


def test_wan_at_full_size_is_counted_on_shapes_without_its_weights_or_a_gpu():
    """Wan2.1-1.3B at 480x832, 81 frames, as the GPU check's wan-flops part counts it: the
    same denoising FLOPs as the transformer alone on the meta device (two passes a step)."""
    options, (resolution, size) = gpu_check_model("wan", tiny=False)
    (row,) = count_phase_flops(
        "wan2.1-1.3b", "diffusers", {**options, "weights": "pretrained"}, "a heron",
        [(resolution, 81)], {resolution: tuple(size)}, device="cuda",
    )  # fmt: skip
    assert row["denoise_step_flops"] * 50 == WAN_DENOISE_FLOPS_META
    assert row["dtype"] == "bfloat16"  # what it runs in on cuda, though counted on the CPU
    assert row["method"] == COUNTED_ON_SHAPES


def test_opensora_is_counted_without_its_package_and_v1_2_is_left_out(caplog):
    # Open-Sora is not installed here (its jobs run in envs/opensora.yaml on clusters)
    models = {
        "tiny": {"backend": "latte-tiny", "options": {}},
        "opensora": {"backend": "opensora", "options": {"version": "1.1"}},
        "opensora-v1.2": {"backend": "opensora", "options": {"version": "1.2"}},
    }
    sizes = {"tiny": {}, "opensora": {}, "opensora-v1.2": {}}
    rows = count_models_flops(models, "a heron", [("144p", 4)], sizes, "cpu")
    assert [r["model"] for r in rows] == ["tiny", "opensora"]
    tiny, opensora = rows
    assert tiny["method"].startswith("counted") and "formula" in opensora["method"]
    # T5-XXL over Open-Sora's 200 tokens: 2 x 200 x (24 layers x 4.9e8 weights) ~ 1.87e12
    assert opensora["encode_flops"] == pytest.approx(1.868e12, rel=1e-3)
    assert opensora["dtype"] == "bfloat16"
    assert "FLOPs of model opensora-v1.2 not counted: no FLOP formula for Open-Sora 1.2" in (
        caplog.text
    )
    # its efficiency rows follow: a bf16 cell on an A100 gets a utilisation of the peak
    step_s = opensora["denoise_step_flops"] / 156e12  # half of the A100's 312 TFLOP/s
    cell = {
        "cell_id": "c",
        "model": "opensora",
        "resolution": "144p",
        "frames": 4,
        "steps": 100,
        "status": "ok",
        "device_name": "NVIDIA A100-SXM4-80GB",
        "dtype": "bfloat16",
        **{f"{p}_energy_j": 1.0 for p in ("encode", "denoise", "decode")},
        "encode_duration_s": 1.0,
        "denoise_duration_s": 100 * step_s,
        "decode_duration_s": 1.0,
    }
    table = phase_efficiency(
        pd.DataFrame([cell]), pd.DataFrame(rows), {"NVIDIA A100-SXM4-80GB": 312.0}
    ).set_index("phase")
    assert table.loc["denoise", "utilisation"] == pytest.approx(0.5)
    assert "formula" in table.loc["denoise", "flops_method"]


def test_efficiency_arithmetic():
    runs = pd.DataFrame(
        [
            {
                "cell_id": "c",
                "model": "m",
                "resolution": "240p",
                "frames": 16,
                "steps": 10,
                "status": "ok",
                "device_name": "NVIDIA H100 80GB HBM3",
                "dtype": "bfloat16",
                "encode_energy_j": 1.0,
                "encode_duration_s": 0.01,
                "denoise_energy_j": 500.0,
                "denoise_duration_s": 1.0,
                "decode_energy_j": 50.0,
                "decode_duration_s": 0.5,
            }
        ]
    )
    flops = pd.DataFrame(
        [
            {
                "model": "m",
                "resolution": "240p",
                "frames": 16,
                "encode_flops": 1e10,
                "denoise_step_flops": 5e13,
                "decode_flops": 1e13,
            }
        ]
    )
    table = phase_efficiency(runs, flops, {"NVIDIA H100 80GB HBM3": 989.0}).set_index("phase")
    assert table.loc["denoise", "flops"] == 5e14
    assert table.loc["denoise", "j_per_tflop"] == pytest.approx(1.0)
    assert table.loc["denoise", "achieved_tflops"] == pytest.approx(500.0)
    assert table.loc["denoise", "utilisation"] == pytest.approx(500 / 989)
    assert table.loc["decode", "achieved_tflops"] == pytest.approx(20.0)
    cpu = phase_efficiency(runs.assign(device_name="cpu"), flops, {})
    assert cpu.utilisation.isna().all()  # no peak known: no utilisation claimed
    fp32 = phase_efficiency(runs.assign(dtype="float32"), flops, {"NVIDIA H100 80GB HBM3": 989})
    assert fp32.utilisation.isna().all()  # the peak is for bf16: no utilisation for fp32


def test_gpu_peaks_come_from_hardware_yaml():
    from tests.conftest import REPO
    from vidcarbon.analysis.efficiency import gpu_peaks
    from vidcarbon.config import load_hardware

    peaks = gpu_peaks(load_hardware(REPO / "config" / "hardware.yaml"))
    assert peaks["NVIDIA H100 80GB HBM3"] == 989.0 and peaks["NVIDIA A100-SXM4-80GB"] == 312.0
