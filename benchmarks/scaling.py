"""Scaling of latte-tiny's phases with steps, resolution and frames, one factor at a time.

Usage: python benchmarks/scaling.py [--threads 1] [--repeats 3]

Runs the backend in-process (no Snakemake) around a base cell (144p, 8 frames, 4 steps),
varying steps 2..32, resolution 144p..480p and frames 4..32, each point `--repeats` times
(median kept), and fits power laws to the denoising and decoding times with
`vidcarbon.fits`. Figures are recorded by hand in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics

import torch

from vidcarbon.backends import VideoShape, create_backend
from vidcarbon.energy.counters import CpuTimeEstimate
from vidcarbon.energy.meter import Meter
from vidcarbon.fits import fit_power_law
from vidcarbon.grid import RESOLUTIONS

BASE = {"steps": 4, "resolution": "144p", "frames": 8}
SWEEPS = {
    "steps": [2, 4, 8, 16, 32],
    "resolution": ["144p", "240p", "360p", "480p"],
    "frames": [4, 8, 16, 32],
}


def measure(backend, embeddings, steps, resolution, frames, repeats):
    height, width = RESOLUTIONS[resolution]
    shape = VideoShape(frames, height, width)
    denoise_s, decode_s = [], []
    for _ in range(repeats):
        meter = Meter([CpuTimeEstimate(1.0)])
        with meter.window("denoise"):
            latents = backend.denoise(embeddings, shape, steps, seed=0)
        with meter.window("decode"):
            backend.decode(latents, shape)
        denoise_s.append(meter.get("denoise").duration_s)
        decode_s.append(meter.get("decode").duration_s)
    return statistics.median(denoise_s), statistics.median(decode_s)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    encoder = create_backend("latte-tiny", {})
    encoder.load("cpu", phases=("encode",))
    embeddings = encoder.encode("a red kite over a windswept hillside")
    backend = create_backend("latte-tiny", {})
    backend.load("cpu", phases=("denoise", "decode"))
    measure(backend, embeddings, 1, "144p", 4, 1)  # warm-up

    for factor, values in SWEEPS.items():
        rows = []
        for value in values:
            point = {**BASE, factor: value}
            denoise_s, decode_s = measure(backend, embeddings, repeats=args.repeats, **point)
            rows.append((point, denoise_s, decode_s))
            print(f"{factor}={value}: denoise {denoise_s:.3f} s, decode {decode_s:.3f} s")
        x = [
            RESOLUTIONS[p["resolution"]][0] * RESOLUTIONS[p["resolution"]][1]
            if factor == "resolution"
            else p[factor]
            for p, _, _ in rows
        ]
        name = "pixels" if factor == "resolution" else factor
        for phase, column in (("denoise", 1), ("decode", 2)):
            fit = fit_power_law([r[column] for r in rows], **{name: x})
            c = fit[name]
            print(
                f"  {phase} time ~ {name}^{c.value:.2f} "
                f"(95% CI {c.ci_low:.2f}..{c.ci_high:.2f}, R2 {fit.r2:.3f}, n {fit.n})"
            )


if __name__ == "__main__":
    main()
