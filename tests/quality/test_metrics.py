"""Weight-free metrics on synthetic clips, raw and after an H.264 round trip."""

import numpy as np
import pytest

from tests.quality import clips
from vidcarbon.quality import metrics
from vidcarbon.quality.scoring import decode
from vidcarbon.video import write_mp4


def roundtrip(tmp_path, frames, name="clip.mp4"):
    path = tmp_path / name
    write_mp4(path, frames, fps=8)
    return decode(path)


def test_temporal_flickering_is_vbench_formula():
    still = np.full((5, 8, 8, 3), 100, np.uint8)
    assert metrics.temporal_flickering(still) == 1.0
    alternating = still.copy()
    alternating[1::2] += 10  # every consecutive pair differs by 10 grey levels everywhere
    assert metrics.temporal_flickering(alternating) == pytest.approx((255 - 10) / 255)
    one_pair = still[:2].copy()
    one_pair[1, :4] = 255  # half the pixels differ by 155: mean |diff| 77.5
    assert metrics.temporal_flickering(one_pair) == pytest.approx((255 - 77.5) / 255)


def test_smooth_clip_scores_higher_than_flickering(tmp_path):
    smooth = roundtrip(tmp_path, clips.smooth(), "smooth.mp4")
    flicker = roundtrip(tmp_path, clips.flickering(), "flicker.mp4")
    s, f = metrics.temporal_flickering(smooth), metrics.temporal_flickering(flicker)
    assert 0.0 <= f < s <= 1.0
    assert s - f > 0.1  # 60 grey levels every other frame is far from a 1-px drift


def test_blurred_clip_is_less_sharp_than_original(tmp_path):
    for name, clip in (("board", clips.checkerboard()), ("smooth", clips.smooth())):
        sharp = roundtrip(tmp_path, clip, f"{name}.mp4")
        blurred = roundtrip(tmp_path, clips.box_blur(clip), f"{name}-blur.mp4")
        assert metrics.sharpness(blurred) < 0.5 * metrics.sharpness(sharp), name


def test_sharpness_of_flat_frame_is_zero_and_of_an_edge_known():
    flat = np.full((1, 10, 10, 3), 77, np.uint8)
    assert metrics.sharpness(flat) == 0.0
    edge = flat.copy()
    edge[0, :, 5:] = 177  # a vertical step of 100: Laplacian +-100 on two of eight columns
    lap = np.zeros((8, 8))
    lap[:, 3], lap[:, 4] = 100.0, -100.0
    assert metrics.sharpness(edge) == pytest.approx(lap.var())


def test_noise_estimate_tracks_added_noise():
    clean = clips.smooth()
    estimates = [metrics.noise(clips.with_noise(clean, s)) for s in (0, 4, 12)]
    assert estimates[0] < estimates[1] < estimates[2]
    # noise added independently to R, G, B shows in the luma at 0.669 of its sigma
    assert estimates[2] == pytest.approx(12 * 0.669, rel=0.15)


def test_one_frame_cannot_flicker_but_has_a_sharpness():
    frame = clips.checkerboard(frames=1)
    with pytest.raises(metrics.UnscorableVideo, match="has 1 frame.*at least 2"):
        metrics.temporal_flickering(frame)
    assert metrics.sharpness(frame) > 0


def test_every_metric_has_a_unit_and_version():
    assert set(metrics.WEIGHT_FREE) == {"temporal_flickering", "sharpness", "noise"}
    for m in metrics.WEIGHT_FREE.values():
        assert m.unit and m.version


def test_sharpness_and_noise_are_their_written_out_formulas():
    """scipy.ndimage computes them; the values are those of the formulas written out with
    slices (the project's own loops before), to rounding."""
    frames = np.random.default_rng(0).integers(0, 256, (3, 17, 23, 3), dtype=np.uint8)
    y = frames.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    lap = y[:, :-2, 1:-1] + y[:, 2:, 1:-1] + y[:, 1:-1, :-2] + y[:, 1:-1, 2:] - 4 * y[:, 1:-1, 1:-1]
    assert metrics.sharpness(frames) == pytest.approx(lap.var(axis=(1, 2)).mean(), rel=1e-12)
    mask = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]])
    conv = sum(mask[i, j] * y[:, i : 15 + i, j : 21 + j] for i in range(3) for j in range(3))
    sigma = np.sqrt(np.pi / 2) * np.abs(conv).sum(axis=(1, 2)) / (6 * 21 * 15)
    assert metrics.noise(frames) == pytest.approx(sigma.mean(), rel=1e-12)
