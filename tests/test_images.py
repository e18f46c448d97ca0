"""The image baseline: pixart-tiny's phases, measured like a video, and its table row."""

from __future__ import annotations

import imageio.v3 as iio
import pytest

from vidcarbon.backends import Backend, VideoShape
from vidcarbon.backends.pixart_tiny import PixArtTiny
from vidcarbon.errors import ConfigError
from vidcarbon.workloads.image.measured import generate_image
from vidcarbon.workloads.image.spec import check_image_backend
from vidcarbon.workloads.image.table import image_row
from vidcarbon.workloads.measured import Measurement


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "image.png"
    rec = generate_image(
        backend="pixart-tiny",
        options={},
        prompt="a red kite over a beach",
        shape=VideoShape(1, 144, 256),
        steps=3,
        seed=0,
        warmup_steps=1,
        image_path=path,
        measurement=Measurement(),
    )
    rec["image_path"] = str(path)
    return rec


def test_pixart_tiny_implements_the_protocol():
    assert isinstance(PixArtTiny(), Backend)


def test_phases_and_steps_are_windows(record):
    assert record["status"] == "ok", record["error"]
    names = [w["name"] for w in record["windows"]]
    assert names[:2] == ["load", "warmup"]
    assert {"encode", "denoise", "decode", "step_0", "step_1", "step_2"} <= set(names)
    assert "step_3" not in names
    assert iio.imread(record["image_path"]).shape == (144, 256, 3)


def test_image_row_sums_its_phases(record):
    row = image_row(record, {"idle_power_w": {"cpu": 1.0}})
    phases = ("encode", "denoise", "decode")
    assert row["energy_j"] == pytest.approx(sum(row[f"{p}_energy_j"] for p in phases))
    assert row["generation_duration_s"] == pytest.approx(
        sum(row[f"{p}_duration_s"] for p in phases)
    )
    assert row["net_energy_j"] == pytest.approx(row["energy_j"] - row["generation_duration_s"])
    assert row["denoise_energy_j"] > row["encode_energy_j"] > 0
    assert row["text_tokens"] > 0 and row["params_transformer"] > 100_000


def test_one_step_fails_with_the_reason(tmp_path):
    rec = generate_image(
        backend="pixart-tiny",
        options={},
        prompt="a kite",
        shape=VideoShape(1, 144, 256),
        steps=1,
        seed=0,
        warmup_steps=0,
        image_path=tmp_path / "x.png",
        measurement=Measurement(),
    )
    assert rec["status"] == "failed" and "use steps >= 2" in rec["error"]
    assert image_row(rec, {})["energy_j"] is None


def test_unknown_image_backend():
    with pytest.raises(ConfigError, match="unknown image backend 'sdxl'; allowed: pixart-tiny"):
        check_image_backend("sdxl")
