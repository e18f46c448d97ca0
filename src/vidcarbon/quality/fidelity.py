"""Fidelity of a video to a reference video: PSNR and SSIM from scikit-image.

Both are full-reference, weight-free measures of how far a lever's video is from its
baseline's (same prompt, shape, steps and seed): on random weights they are the lever's
approximation error, which quality scores on the video alone cannot be. They are computed on
the frames read back from the mp4s, so they include the codec's error; two identical frame
sequences give identical files, hence PSNR inf and SSIM 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

METHOD = "scikit-image peak_signal_noise_ratio, structural_similarity (per frame, RGB, mean)"


@dataclass(frozen=True)
class Fidelity:
    """psnr_db: over the whole video, decibels (inf: identical); ssim: mean of the frames'."""

    psnr_db: float
    ssim: float


def fidelity(video: np.ndarray, reference: np.ndarray) -> Fidelity:
    """Fidelity of uint8 frames `video` (frames, height, width, 3) to `reference`."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    if video.shape != reference.shape:
        raise ValueError(
            f"fidelity: the video's frames {video.shape} differ from the reference's "
            f"{reference.shape}; a lever keeps the shape of its baseline"
        )
    if np.array_equal(video, reference):  # scikit-image divides by a zero error here
        return Fidelity(psnr_db=math.inf, ssim=1.0)
    psnr = peak_signal_noise_ratio(reference, video, data_range=255)
    ssim = np.mean(
        [
            structural_similarity(r, v, channel_axis=-1, data_range=255)
            for r, v in zip(reference, video, strict=True)
        ]
    )
    return Fidelity(psnr_db=float(psnr), ssim=float(ssim))
