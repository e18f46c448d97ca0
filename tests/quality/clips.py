"""Synthetic clips written by the tests: smooth, flickering, sharp, blurred, noisy."""

from __future__ import annotations

import numpy as np

FRAMES, HEIGHT, WIDTH = 8, 64, 96


def smooth(frames: int = FRAMES) -> np.ndarray:
    """A diagonal gradient with a bar drifting one pixel a frame."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    out = np.empty((frames, HEIGHT, WIDTH, 3), np.uint8)
    for t in range(frames):
        base = 60 + 100 * (xx + yy) / (HEIGHT + WIDTH)
        base = np.where((xx - t) % 32 < 4, 200.0, base)
        out[t] = np.repeat(base[..., None], 3, axis=2).astype(np.uint8)
    return out


def flickering(frames: int = FRAMES) -> np.ndarray:
    """The smooth clip with its brightness jumping by 60 grey levels every other frame."""
    clip = smooth(frames).astype(np.int16)
    clip[1::2] += 60
    return np.clip(clip, 0, 255).astype(np.uint8)


def checkerboard(frames: int = FRAMES, cell: int = 4) -> np.ndarray:
    """A high-contrast checkerboard: lots of edges."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    board = np.where(((yy // cell) + (xx // cell)) % 2 == 0, 40, 215).astype(np.uint8)
    return np.broadcast_to(board[None, ..., None], (frames, HEIGHT, WIDTH, 3)).copy()


def box_blur(clip: np.ndarray, radius: int = 2) -> np.ndarray:
    """Separable box blur of every frame (edge-padded)."""
    k = 2 * radius + 1
    x = np.pad(
        clip.astype(np.float64), ((0, 0), (radius, radius), (radius, radius), (0, 0)), "edge"
    )
    x = sum(x[:, i : i + clip.shape[1]] for i in range(k)) / k
    x = sum(x[:, :, j : j + clip.shape[2]] for j in range(k)) / k
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def with_noise(clip: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = clip.astype(np.float64) + rng.normal(0.0, sigma, clip.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
