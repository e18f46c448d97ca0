"""The image workload's spec: its backends (text-to-image models behind the video backends'
protocol, one frame), what an image job is asked (its identity) and where its records live.

Images get their own table rather than rows in runs.parquet: a runs row is a grid cell with
frames, fps and a video path, and the video analysis would have to filter images back out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vidcarbon.backends import check_backend, create_backend
from vidcarbon.grid import RESOLUTIONS
from vidcarbon.records import RecordKind

# name -> "module:Class" implementing vidcarbon.backends.Backend for one frame.
IMAGE_BACKENDS: dict[str, str] = {"pixart-tiny": "vidcarbon.backends.pixart_tiny:PixArtTiny"}
RECORDS = (RecordKind("image", "image_records", (("images", ".png"),)),)


def check_image_backend(name: str, key: str = "image.models") -> None:
    check_backend(name, key, registry=IMAGE_BACKENDS, kind="image backend")


def create_image_backend(name: str, options: dict):
    return create_backend(name, options, registry=IMAGE_BACKENDS)


@dataclass(frozen=True)
class Image:
    """One image of the image baseline: the image workload's counterpart of a grid cell."""

    model: str
    prompt_id: str
    resolution: str
    steps: int
    seed: int

    @property
    def image_id(self) -> str:
        """Also the path stem of its record and PNG."""
        return f"{self.model}/{self.prompt_id}/{self.resolution}_s{self.steps}_seed{self.seed}"


def image_identity(
    image: Image, prompt: str, backend: str, device: str, image_path: str
) -> dict[str, Any]:
    """An image's keys, its pixels (Open-Sora's size of its resolution) and where it goes."""
    height, width = RESOLUTIONS[image.resolution]
    return {
        "image_id": image.image_id,
        "model": image.model,
        "prompt_id": image.prompt_id,
        "prompt": prompt,
        "resolution": image.resolution,
        "height": height,
        "width": width,
        "steps": image.steps,
        "seed": image.seed,
        "backend": backend,
        "device": device,
        "image_path": image_path,
    }
