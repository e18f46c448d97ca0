import re
from dataclasses import asdict

import pytest

from vidcarbon.grid import (
    BASELINE,
    CELL_STEM,
    RESOLUTIONS,
    WILDCARD_CONSTRAINTS,
    Cell,
    expand,
    frames_for,
    latent_size,
    parse_cell_id,
    tokens_per_frame,
)


def test_open_sora_latent_sizes():
    # Paper Table 1: latent = pixels / 8, padded to the 2x2 patch (240p: 30x53 -> 30x54).
    assert latent_size(*RESOLUTIONS["144p"]) == (18, 32)
    assert latent_size(*RESOLUTIONS["240p"]) == (30, 54)
    assert latent_size(*RESOLUTIONS["720p"]) == (90, 160)
    assert tokens_per_frame(*RESOLUTIONS["144p"]) == 144
    assert tokens_per_frame(*RESOLUTIONS["720p"]) == 3600


def test_frames_from_duration():
    assert frames_for(2, 8) == 16
    assert frames_for(0.5, 8) == 4
    assert frames_for(0.01, 8) == 1


def test_expand_counts_and_dedups():
    cells = expand(["m"], ["p0123456789", "pabcdefabcd"], [4, 8], ["144p", "240p"], [1, 2], 8, [0])
    assert len(cells) == 2 * 2 * 2 * 2
    # two durations that round to the same frame count are one cell
    assert len(expand(["m"], ["p0123456789"], [4], ["144p"], [1.0, 1.01], 8, [0])) == 1


def test_cell_paths_parse_back_unambiguously():
    pattern = CELL_STEM
    for name in ("model", "prompt", "resolution", "frames", "steps", "seed", "lever", "parallel"):
        pattern = pattern.replace("{" + name + "}", f"(?P<{name}>{WILDCARD_CONSTRAINTS[name]})")
    models = ["wan2.1-1.3b", "latte-tiny"]
    levers = (BASELINE, "pab-2", "cfg-off")
    layouts = ((1, 1), (2, 1), (4, 2), (1, 8))
    cells = expand(
        models, ["p0123456789"], [16], ["240p"], [2], 8, [7], levers=levers, layouts=layouts
    )
    assert len(cells) == 2 * 3 * 4
    for cell in cells:
        match = re.fullmatch(pattern, cell.cell_id)
        assert match and match["model"] == cell.model and int(match["frames"]) == cell.frames
        assert int(match["steps"]) == 16 and int(match["seed"]) == 7
        assert match["lever"] == cell.lever
        assert match["parallel"] == cell.parallel
        assert parse_cell_id(cell.cell_id) == cell


def test_cell_ids_follow_the_stem_and_parse_back():
    cell = Cell("wan-2.1", "p0123456789", "480p", 33, 50, 7, size=(480, 832))
    assert cell.cell_id == CELL_STEM.format(**asdict(cell), parallel="")
    assert cell.cell_id.endswith("_seed7_baseline")
    assert parse_cell_id(cell.cell_id) == Cell("wan-2.1", "p0123456789", "480p", 33, 50, 7)
    lever = Cell("wan-2.1", "p0123456789", "480p", 33, 50, 7, lever="fbcache")
    assert parse_cell_id(lever.cell_id) == lever
    assert lever.baseline == Cell("wan-2.1", "p0123456789", "480p", 33, 50, 7)
    with pytest.raises(ValueError, match="not a cell id"):
        parse_cell_id("wan-2.1/p0123456789/480p_f33_s50")
    # on several devices the id ends with the layout; one device keeps the id it had
    split = Cell("wan-2.1", "p0123456789", "480p", 33, 50, 7, ulysses=4, ring=2)
    assert split.gpus == 8 and split.cell_id.endswith("_seed7_baseline_g8u4r2")
    assert parse_cell_id(split.cell_id) == split and split.baseline.cell_id == cell.cell_id
    with pytest.raises(ValueError, match="gpus must be ulysses x ring"):
        parse_cell_id("wan-2.1/p0123456789/480p_f33_s50_seed7_baseline_g4u4r2")


def test_each_lever_cell_follows_its_baseline():
    cells = expand(["m"], ["p0123456789"], [4, 8], ["144p"], [1], 8, [0], levers=("zz", BASELINE))
    assert [(c.steps, c.lever) for c in cells] == [
        (4, BASELINE),
        (4, "zz"),
        (8, BASELINE),
        (8, "zz"),
    ]
