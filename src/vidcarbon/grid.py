"""The generation grid: resolutions, cells, and the output paths that identify them."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, replace

# Open-Sora 1.x resolution names -> (height, width) in pixels (paper Table 1).
RESOLUTIONS: dict[str, tuple[int, int]] = {
    "144p": (144, 256),
    "240p": (240, 426),
    "360p": (360, 640),
    "480p": (480, 854),
    "720p": (720, 1280),
}

# Wildcard patterns: each field has a disjoint alphabet or a literal prefix, so a cell path
# parses back into exactly one cell.
WILDCARD_CONSTRAINTS: dict[str, str] = {
    "model": r"[A-Za-z0-9][A-Za-z0-9._-]*",
    "prompt": r"p[0-9a-f]{10}",
    "resolution": r"[0-9]+p",
    "frames": r"[0-9]+",
    "steps": r"[0-9]+",
    "seed": r"[0-9]+",
    "lever": r"[a-z][a-z0-9-]*",
    # empty for one device, so one-GPU cells keep their ids
    "parallel": r"(_g[0-9]+u[0-9]+r[0-9]+)?",
    "device": r"cpu|cuda",
}

CELL_STEM = "{model}/{prompt}/{resolution}_f{frames}_s{steps}_seed{seed}_{lever}{parallel}"
# The lever of the reference cells: the model as configured, no inference optimisation.
BASELINE = "baseline"


@dataclass(frozen=True)
class Cell:
    """One generation job: a model renders one prompt at one shape with one step count and seed,
    with one lever (an inference optimisation of `vidcarbon.levers`, or BASELINE: none), on
    `gpus` = `ulysses` x `ring` devices (context parallelism, `vidcarbon.parallel`; 1: one).

    `size` is the (height, width) in pixels where the model declares its own size for the
    resolution name (e.g. Wan's 480p is 480x832); None means RESOLUTIONS[resolution].
    """

    model: str
    prompt: str
    resolution: str
    frames: int
    steps: int
    seed: int
    size: tuple[int, int] | None = None
    lever: str = BASELINE
    ulysses: int = 1
    ring: int = 1

    @property
    def gpus(self) -> int:
        """Devices the cell runs on: one process each (Ulysses x ring degree)."""
        return self.ulysses * self.ring

    @property
    def parallel(self) -> str:
        """The id's layout part: '' on one device, else '_g<gpus>u<ulysses>r<ring>'."""
        if self.gpus == 1:
            return ""
        return f"_g{self.gpus}u{self.ulysses}r{self.ring}"

    @property
    def cell_id(self) -> str:
        # not dataclasses.asdict, which deep-copies: planning a 10,000-cell grid asks this
        # about 50,000 times
        return (
            f"{self.model}/{self.prompt}/{self.resolution}_f{self.frames}_s{self.steps}"
            f"_seed{self.seed}_{self.lever}{self.parallel}"
        )

    @property
    def baseline(self) -> Cell:
        """The cell this one is compared with: the same keys, no lever, one device."""
        return replace(self, lever=BASELINE, ulysses=1, ring=1)

    @property
    def height(self) -> int:
        return (self.size or RESOLUTIONS[self.resolution])[0]

    @property
    def width(self) -> int:
        return (self.size or RESOLUTIONS[self.resolution])[1]


def frames_for(duration_s: float, fps: int) -> int:
    """Number of frames of a clip of `duration_s` seconds at `fps` (at least 1)."""
    return max(1, round(duration_s * fps))


def latent_size(height: int, width: int, downsample: int = 8, patch: int = 2) -> tuple[int, int]:
    """Latent (height, width) of a video: VAE-downsampled, rounded up to a multiple of the patch.

    Open-Sora pads 240p's 30x53.25 latent to 30x54 the same way.
    """
    return (
        math.ceil(height / downsample / patch) * patch,
        math.ceil(width / downsample / patch) * patch,
    )


def tokens_per_frame(height: int, width: int, downsample: int = 8, patch: int = 2) -> int:
    """Number of DiT tokens per latent frame (patch x patch latent pixels each)."""
    lh, lw = latent_size(height, width, downsample, patch)
    return (lh // patch) * (lw // patch)


def expand(
    models: list[str],
    prompt_ids: list[str],
    steps: list[int],
    resolutions: list[str],
    durations_s: list[float],
    fps: int,
    seeds: list[int],
    sizes: dict[str, dict[str, tuple[int, int]]] | None = None,
    levers: tuple[str, ...] = (BASELINE,),
    layouts: tuple[tuple[int, int], ...] = ((1, 1),),
) -> list[Cell]:
    """All cells of models x prompts x steps x resolutions x durations x seeds x levers x
    layouts ((ulysses, ring) degrees), deduplicated.

    `sizes[model][resolution]` is a model's own (height, width) for a resolution name.
    """
    sizes = sizes or {}
    cells = {
        Cell(m, p, r, frames_for(d, fps), s, seed, sizes.get(m, {}).get(r), lever, u, ring)
        for m, p, s, r, d, seed, lever, (u, ring) in itertools.product(
            models, prompt_ids, steps, resolutions, durations_s, seeds, levers, layouts
        )
    }
    return sorted(cells, key=sort_key)


def sort_key(cell: Cell) -> tuple:
    """Cells in grid order, each lever and each layout after its baseline."""
    return (
        cell.model,
        cell.prompt,
        cell.resolution,
        cell.frames,
        cell.steps,
        cell.seed,
        cell.lever != BASELINE,
        cell.lever,
        cell.gpus,
        cell.ulysses,
    )


_CELL_ID = re.compile(
    CELL_STEM.format(**{k: f"(?P<{k}>{v})" for k, v in WILDCARD_CONSTRAINTS.items()}) + "$"
)


def parse_cell_id(cell_id: str) -> Cell:
    """The cell a `Cell.cell_id` names (ValueError if it names none)."""
    match = _CELL_ID.match(cell_id)
    if match is None:
        raise ValueError(f"{cell_id!r} is not a cell id ({CELL_STEM})")
    keys = match.groupdict()
    return Cell(
        keys["model"],
        keys["prompt"],
        keys["resolution"],
        *(int(keys[k]) for k in ("frames", "steps", "seed")),
        lever=keys["lever"],
        **parse_parallel(keys["parallel"]),
    )


_PARALLEL = re.compile(r"_g(?P<gpus>[0-9]+)u(?P<ulysses>[0-9]+)r(?P<ring>[0-9]+)")


def parse_parallel(part: str) -> dict[str, int]:
    """{ulysses, ring} of a cell id's layout part ('' = one device)."""
    if not part:
        return {"ulysses": 1, "ring": 1}
    match = _PARALLEL.fullmatch(part)  # the id's pattern holds: the wildcard is this
    ulysses, ring = int(match["ulysses"]), int(match["ring"])
    if ulysses * ring != int(match["gpus"]):
        raise ValueError(f"{part!r}: gpus must be ulysses x ring")
    return {"ulysses": ulysses, "ring": ring}
