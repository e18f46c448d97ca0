"""The GPU check's pre-flight: can this machine run the check at all? (well under 60 s)

Imports every module the check's jobs import (the workflow engine, the meter, the three video
pipelines, the LLM, the tables), reads the versions of every package they come from and of
the CUDA driver, and on a GPU opens the GPU through NVML, reads its energy counter twice, both
directly and through the meter's own counter (Zeus), and runs one CUDA matrix product. Prints
one JSON object; exits 0 when everything passed, 1 otherwise. `--cpu` skips the GPU steps.

    python benchmarks/gpu_check_preflight.py [--cpu]
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

# what the check's jobs import, in the order a job meets them
MODULES = (
    "yaml",
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "jsonschema",
    "snakemake.api",
    "torch",
    "transformers",
    "diffusers",
    "imageio",
    "imageio_ffmpeg",
    "codecarbon.core.cpu",
    "psutil",
    "pynvml",
    "zeus.device",
    "vidcarbon.energy.check",
    "vidcarbon.energy.counters",
    "vidcarbon.backends.diffusers_video",
    "vidcarbon.workloads.text.models",
    "vidcarbon.tables",
)
# the classes the GPU configs build
CLASSES = (
    ("diffusers", "WanPipeline"),
    ("diffusers", "CogVideoXPipeline"),
    ("diffusers", "LattePipeline"),
    ("transformers", "UMT5EncoderModel"),
    ("transformers", "T5EncoderModel"),
    ("transformers", "LlamaForCausalLM"),
)
# the distributions those modules come from: the carried wheels and the machine's own packages
# that the check's import closure touches
LISTS = ("gpu_check_wheels.txt", "gpu_machine_packages.txt")


def packages() -> list[str]:
    names = []
    for name in LISTS:
        for line in (Path(__file__).parent / name).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line.split("==")[0])
    return sorted(set(names), key=str.lower)


def _step(results: list[dict[str, Any]], name: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    try:
        value = action()
        results.append({"step": name, "ok": True, "s": time.perf_counter() - started})
        return value
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the others
        results.append({"step": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return None


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for name in packages():
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def _gpu_steps(results: list[dict[str, Any]], found: dict[str, str]) -> None:
    import pynvml
    import torch

    from vidcarbon.energy.check import NvmlReference
    from vidcarbon.energy.counters import detect_counters

    reference = _step(results, "nvml: open the GPU", NvmlReference)
    if reference is not None:
        found["gpu"] = reference.device_name
        found["driver"] = pynvml.nvmlSystemGetDriverVersion()
        cuda = pynvml.nvmlSystemGetCudaDriverVersion()
        found["driver_cuda"] = f"{cuda // 1000}.{cuda % 1000 // 10}"

        def counter_reads() -> None:
            first = reference.energy_j()
            time.sleep(0.3)
            second = reference.energy_j()
            if not 0 < first <= second:
                raise RuntimeError(f"NVML energy counter read {first} J, then {second} J")

        _step(results, "nvml: read the energy counter", counter_reads)

    def meter_reads() -> None:
        (gpu, *_) = detect_counters("cuda", 1.0)
        if gpu.energy_j() < 0:
            raise RuntimeError(f"the meter's GPU counter read {gpu.energy_j()} J")

    _step(results, "meter: read the GPU counter (Zeus)", meter_reads)
    found["torch_cuda"] = str(torch.version.cuda)

    def matmul() -> None:
        a = torch.randn(1024, 1024, device="cuda", dtype=torch.bfloat16)
        product = (a @ a).float().sum().item()
        torch.cuda.synchronize()
        if product != product:  # NaN
            raise RuntimeError("a 1024^2 bf16 product on the GPU gave NaN")

    _step(results, "cuda: one matrix product", matmul)


def preflight(cpu: bool) -> dict[str, Any]:
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    for name in MODULES:
        _step(results, f"import {name}", lambda name=name: importlib.import_module(name))
    for module, cls in CLASSES:
        _step(
            results,
            f"{module}.{cls}",
            lambda m=module, c=cls: getattr(importlib.import_module(m), c),
        )

    def ffmpeg() -> None:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()

    _step(results, "imageio-ffmpeg: the ffmpeg binary", ffmpeg)
    found = versions()
    if not cpu:
        _gpu_steps(results, found)
    failed = [r for r in results if not r["ok"]]
    return {
        "ok": not failed,
        "mode": "cpu" if cpu else "gpu",
        "seconds": round(time.perf_counter() - started, 2),
        "versions": found,
        "failed": failed,
        "steps": results,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="skip NVML and CUDA")
    result = preflight(parser.parse_args(argv).cpu)
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
