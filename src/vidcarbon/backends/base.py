"""The backend protocol: load, then the three phases of text-to-video generation."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

PHASES = ("encode", "denoise", "decode")


@dataclass(frozen=True)
class VideoShape:
    """Requested output: `frames` frames of `height` x `width` pixels."""

    frames: int
    height: int
    width: int


@runtime_checkable
class Backend(Protocol):
    """A text-to-video model split into its phases, so each can be measured on its own.

    Implementations read top to bottom in the order the work happens: encode the prompt,
    denoise the latent video step by step, decode it with the VAE.
    """

    def load(self, device: str, phases: Collection[str]) -> None:
        """Build or load the components that `phases` need, on `device` ("cpu" or "cuda")."""

    def encode(self, prompt: str) -> dict[str, Any]:
        """Text phase: the prompt's embeddings (tensors), as `denoise` takes them."""

    def denoise(
        self,
        embeddings: dict[str, Any],
        shape: VideoShape,
        steps: int,
        seed: int,
        on_step: Callable[[int], None] | None = None,
    ) -> Any:
        """Denoising phase: `steps` steps from seeded noise; `on_step(i)` runs after step i."""

    def decode(self, latents: Any, shape: VideoShape) -> Any:
        """Decoding phase: uint8 frames, numpy array (frames, height, width, 3)."""

    def first_frame(self, latents: Any, shape: VideoShape) -> tuple[Any, VideoShape]:
        """The latents of the first frame alone and its shape, for a cheap warm-up decode
        (the latent layout and the VAE's temporal compression are the backend's own)."""

    def describe(self) -> dict[str, Any]:
        """Facts for the results: parameter counts per component, dtype, attention kernel."""
