"""Weight-free quality metrics computed on decoded frames (uint8, frames x height x width x 3).

They need no trained weights, so they are what the default run reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vidcarbon.errors import VidcarbonError

VERSION = "vidcarbon-1"

# ITU-R BT.601 luma weights (what JPEG/ffmpeg use for greyscale).
_LUMA = np.array([0.299, 0.587, 0.114])
# The 4-neighbour Laplacian; and Immerkaer (1996), "Fast noise variance estimation": the
# difference of two Laplacians, which cancels image structure to first order and leaves the
# noise. Both are applied to every frame at once (a kernel one frame deep).
_LAPLACIAN = np.array([[[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]])
_NOISE_MASK = np.array([[[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]]])


class UnscorableVideo(VidcarbonError):
    """The video cannot be scored (unreadable, empty, or too few frames for the metric)."""


def _check(frames: np.ndarray, min_frames: int, metric: str) -> None:
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise UnscorableVideo(
            f"{metric}: frames have shape {frames.shape}; expected (frames, height, width, 3)"
        )
    if frames.shape[0] < min_frames:
        raise UnscorableVideo(
            f"{metric}: the video has {frames.shape[0]} frame(s); it needs at least {min_frames}"
        )
    if frames.shape[1] < 3 or frames.shape[2] < 3:
        raise UnscorableVideo(f"{metric}: frames of {frames.shape[1:3]} pixels are too small")


def _luma(frames: np.ndarray) -> np.ndarray:
    return frames.astype(np.float64) @ _LUMA


def _filtered(frames: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """`kernel` applied to the luma of every frame, on the pixels whose 3x3 neighbourhood lies
    inside the frame (frames x height-2 x width-2)."""
    from scipy import ndimage  # here, not at the top: the Snakefile's parse imports this module

    return ndimage.correlate(_luma(frames), kernel)[:, 1:-1, 1:-1]


def temporal_flickering(frames: np.ndarray) -> float:
    """VBench's temporal flickering: (255 - mean |frame[i+1] - frame[i]|) / 255, in [0, 1].

    The mean runs over every pixel and channel of every consecutive pair; 1 is a still video.
    Needs at least 2 frames.
    """
    _check(frames, 2, "temporal_flickering")
    mae = [
        np.abs(frames[i + 1].astype(np.float32) - frames[i].astype(np.float32)).mean()
        for i in range(len(frames) - 1)
    ]
    return float((255.0 - np.mean(mae)) / 255.0)


def sharpness(frames: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of the luma (grey levels squared), frame mean.

    Higher is sharper; blur lowers it. Not normalised: compare videos of one resolution.
    """
    _check(frames, 1, "sharpness")
    return float(_filtered(frames, _LAPLACIAN).var(axis=(1, 2)).mean())


def noise(frames: np.ndarray) -> float:
    """Immerkaer's estimate of the noise standard deviation of the luma (grey levels), frame mean.

    Higher is noisier. Gaussian noise of sigma s added to the luma of a smooth frame reads
    about s (added independently to R, G and B it reads about 0.67 s).
    """
    _check(frames, 1, "noise")
    conv = _filtered(frames, _NOISE_MASK)
    _, h, w = conv.shape
    return float((np.sqrt(np.pi / 2.0) * np.abs(conv).sum(axis=(1, 2)) / (6.0 * w * h)).mean())


@dataclass(frozen=True)
class WeightFreeMetric:
    """A metric the project computes itself; `unit` is that of its value."""

    name: str
    fn: Callable[[np.ndarray], float]
    unit: str
    version: str = VERSION


WEIGHT_FREE: dict[str, WeightFreeMetric] = {
    m.name: m
    for m in (
        WeightFreeMetric("temporal_flickering", temporal_flickering, "fraction"),
        WeightFreeMetric("sharpness", sharpness, "grey_level2"),
        WeightFreeMetric("noise", noise, "grey_level"),
    )
}
