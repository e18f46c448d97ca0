import copy
import json

import pytest
import yaml

from tests.conftest import REPO, SCHEMA, small_config
from vidcarbon.carbon.settings import carbon_settings
from vidcarbon.config import (
    cells,
    load_prompts,
    prepare_config,
    read_config_file,
    resolve_grid_references,
    validate_config,
)
from vidcarbon.errors import ConfigError


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config" / "prompts").mkdir(parents=True)
    (tmp_path / "config" / "prompts" / "test.txt").write_text("a fox\na heron\n")
    (tmp_path / "config" / "hardware.yaml").write_text((REPO / "config/hardware.yaml").read_text())
    return small_config()


def check_error(config, *fragments):
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    for fragment in fragments:
        assert fragment in str(err.value), str(err.value)


def test_valid_config_gets_defaults(config):
    del config["measurement"]
    del config["grid"]["seeds"]
    validate_config(config, SCHEMA)
    assert config["grid"]["seeds"] == [0]
    assert config["measurement"]["warmup_steps"] == 1
    assert config["models"]["latte-tiny"]["options"] == {}


def test_unknown_resolution(config):
    config["grid"]["resolutions"] = ["144p", "1080x"]
    check_error(config, "grid.resolutions[1]", "'1080x'", "144p, 240p, 360p, 480p, 720p")


@pytest.mark.parametrize("bad", [0, -4])
def test_steps_not_positive(config, bad):
    config["grid"]["steps"] = [4, bad]
    check_error(config, "grid.steps[1]", repr(bad), ">= 1")


@pytest.mark.parametrize("bad", [2.5, "8", True])
def test_steps_not_integer(config, bad):
    config["grid"]["steps"] = [bad]
    check_error(config, "grid.steps[0]", repr(bad), "integer")


@pytest.mark.parametrize("key", ["steps", "resolutions", "durations_s"])
def test_empty_grid(config, key):
    config["grid"][key] = []
    check_error(config, f"grid.{key}", "empty")


def test_unknown_backend(config):
    config["models"]["latte-tiny"]["backend"] = "sora-pro"
    check_error(config, "models.latte-tiny.backend", "'sora-pro'", "latte-tiny", "module:Class")


def test_missing_prompts_file(config):
    config["prompts"] = "config/prompts/nope.txt"
    check_error(config, "'prompts'", "nope.txt", "does not exist")


def test_empty_prompts_file(config, tmp_path):
    (tmp_path / "config/prompts/test.txt").write_text("# only a comment\n\n")
    check_error(config, "'prompts'", "no prompt")


def test_duplicate_prompts(config, tmp_path):
    (tmp_path / "config/prompts/test.txt").write_text("a fox\na heron\na fox\n")
    check_error(config, "'prompts'", "lines 1 and 3", "'a fox'")


def test_unknown_key_and_unknown_cpu(config):
    bad = copy.deepcopy(config)
    bad["grid"]["step"] = [1]
    check_error(bad, "grid", "'step'", "allowed keys")
    config["measurement"]["cpu"] = "pentium"
    check_error(config, "measurement.cpu", "'pentium'", "epyc-9005-zen5")


def test_all_problems_reported_at_once(config):
    config["grid"]["steps"] = [0]
    config["grid"]["resolutions"] = ["999p"]
    check_error(config, "grid.steps[0]", "grid.resolutions[0]")


def test_cells_cover_the_grid(config):
    validate_config(config, SCHEMA)
    grid = cells(config, load_prompts(config))
    assert len(grid) == 2 * 2  # prompts x steps
    assert {c.frames for c in grid} == {4}


WAN = {"backend": "diffusers", "options": {"model": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"}}


def test_a_size_the_model_cannot_render_fails_validation(config):
    """Wan2.1 renders multiples of 16 pixels and 4k+1 frames: 480p (480x854) at 2 s x 8 fps is
    neither; the message says what was asked, what is possible and how to fix the config."""
    config["models"] = {"wan": copy.deepcopy(WAN)}
    config["grid"].update(resolutions=["480p"], durations_s=[2])
    prefix = (
        "config key 'models.wan': Wan-AI/Wan2.1-T2V-1.3B-Diffusers "
        "(trained at 480x832, 81 frames, 16 fps) cannot render"
    )
    check_error(
        config,
        f"{prefix} 480p: 480x854 pixels: height and width must be multiples of 16",
        "nearest: height 480, width 848 or 864",
        "fix: declare models.wan.resolutions: {480p: [height, width]}",
        f"{prefix} 2 s at 8 fps: 16 frames: frame counts must be 4k+1",
        "nearest: 13 (1.625 s) or 17 (2.125 s)",
        "fix: choose grid.durations_s (and fps)",
    )


def test_a_model_declares_its_own_size_for_a_resolution(config):
    config["models"] = {"wan": {**copy.deepcopy(WAN), "resolutions": {"480p": [480, 832]}}}
    config["fps"] = 16
    config["grid"].update(resolutions=["144p", "480p"], durations_s=[5.0625])  # 81 frames
    validate_config(config, SCHEMA)
    grid = cells(config, load_prompts(config)[:1])
    sizes = {(c.resolution, c.height, c.width, c.frames) for c in grid}
    assert sizes == {("144p", 144, 256, 81), ("480p", 480, 832, 81)}
    # the resolution name stays the cell's name
    assert {c.cell_id.split("/")[-1] for c in grid if c.steps == 1} == {
        "144p_f81_s1_seed0_baseline",
        "480p_f81_s1_seed0_baseline",
    }


def test_diffusers_options_are_checked_at_validation(config):
    config["models"] = {"wan": copy.deepcopy(WAN)}
    config["models"]["wan"]["options"]["weights"] = "fp8"
    check_error(config, "models.wan.options.weights", "'fp8'", "pretrained, random")
    config["models"]["wan"]["options"] = {"model": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"}
    config["models"]["wan"]["resolutions"] = {"1080p": [1080, 1920]}
    check_error(config, "models.wan.resolutions", "1080p")


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "wan-random.yaml"])
def test_shipped_configs_are_valid(name, monkeypatch):
    monkeypatch.chdir(REPO)
    config = validate_config(yaml.safe_load((REPO / "config" / name).read_text()), SCHEMA)
    carbon_settings(config)


def test_a_yaml_syntax_error_names_the_file_line_and_column(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("device: cpu\ngrid:\n  steps: [4, 8\n  resolutions: [144p]\n")
    with pytest.raises(ConfigError) as err:
        read_config_file(path)
    assert str(err.value).startswith(f"{path}, line 4, column 14: not valid YAML: ")
    path.write_text("- a list\n- not a mapping\n")
    with pytest.raises(ConfigError, match="a config is a mapping of keys .* not list"):
        read_config_file(path)


@pytest.mark.parametrize(
    "duration, nearest",
    [
        (
            2.3,
            "2.3 s at 8 fps is 18.4 frames, not a whole number; nearest: 2.25 s (18 frames) "
            "or 2.375 s (19 frames)",
        ),
        (0.05, "0.05 s at 8 fps is 0.4 frames, not a whole number; nearest: 0.125 s (1 frames)"),
    ],
)
def test_a_duration_must_give_whole_frames(config, duration, nearest):
    config["grid"]["durations_s"] = [1, duration]
    check_error(config, f"config key 'grid.durations_s[1]': {nearest}")
    config["grid"]["durations_s"] = [0.5, 1.125, 5.0625]  # 4, 9 and 40.5 frames at 8 fps
    check_error(config, "'grid.durations_s[2]': 5.0625 s at 8 fps is 40.5 frames")
    config["fps"] = 16  # Wan's 81 frames
    validate_config(config, SCHEMA)


def test_settings_naming_grid_values_follow_a_narrowed_grid(config):
    config["grid"]["resolutions"] = ["144p"]
    config["grid"]["durations_s"] = [0.5, 1]
    validate_config(config, SCHEMA)
    assert resolve_grid_references(config) == [
        "analysis.reference_resolution = 144p",
        "carbon.credits.reference_resolution = 144p",
        "carbon.credits.reference_duration_s = 0.5",
        "carbon.credits.reference_steps = 1",  # the middle of 1, 2 (the lower)
    ]
    assert config["analysis"]["reference_resolution"] == "144p"
    assert carbon_settings(config).credits["reference"]["frames"] == 4
    # values in the grid are kept and not reported; one outside it is an error naming it
    config["grid"]["resolutions"] = ["144p", "240p"]
    config["analysis"]["reference_resolution"] = "240p"
    assert "analysis.reference_resolution = 240p" not in resolve_grid_references(config)
    config["carbon"]["credits"]["reference_steps"] = 40
    with pytest.raises(ConfigError) as err:
        resolve_grid_references(config)
    assert str(err.value) == (
        "config key 'carbon.credits.reference_steps': 40 is not in the grid (grid.steps: 1, 2); "
        "pick one of those, or remove the key to use 100 if in the grid, else the first run's "
        "pick, else the middle"
    )


def test_a_picked_reference_stays_put_when_the_grid_grows(config, tmp_path):
    recorded = tmp_path / "results" / "grid_references.json"
    config["grid"]["steps"] = [4, 8, 16]
    validate_config(config, SCHEMA)
    resolve_grid_references(copy.deepcopy(config), recorded, record=False)  # a dry run
    assert not recorded.exists()
    first = copy.deepcopy(config)
    resolve_grid_references(first, recorded, record=True)
    assert first["carbon"]["credits"]["reference_steps"] == 8  # the middle of the first run
    assert json.loads(recorded.read_text())["carbon.credits.reference_steps"] == 8
    grown = copy.deepcopy(config)
    grown["grid"]["steps"] = [4, 8, 16, 24, 32]  # the middle is now 16
    picked = resolve_grid_references(grown, recorded, record=True)
    assert grown["carbon"]["credits"]["reference_steps"] == 8
    assert f"carbon.credits.reference_steps = 8 (kept from {recorded})" in picked
    # the paper's setting wins whenever it is measured; a value gone from the grid is re-picked
    paper = copy.deepcopy(config)
    paper["grid"]["steps"] = [16, 50, 100]
    resolve_grid_references(paper, recorded, record=False)
    assert paper["carbon"]["credits"]["reference_steps"] == 100
    narrowed = copy.deepcopy(config)
    narrowed["grid"]["steps"] = [16, 32, 64]
    resolve_grid_references(narrowed, recorded, record=False)
    assert narrowed["carbon"]["credits"]["reference_steps"] == 32


def test_the_study_hash_covers_what_defines_measured_rows(config):
    original = copy.deepcopy(config)
    study, _ = prepare_config(config, ["config/mine.yaml"], SCHEMA)
    assert study.name == "mine" and study.files == ("config/mine.yaml",)

    def rehash(change) -> str:
        changed = copy.deepcopy(original)
        change(changed)
        return prepare_config(changed, ["config/mine.yaml"], SCHEMA)[0].hash

    assert rehash(lambda c: c.update(carbon={"pue": 1.5})) == study.hash
    assert rehash(lambda c: c.update(quality={"metrics": ["noise"]})) == study.hash
    assert rehash(lambda c: c.update(study="renamed")) == study.hash
    assert rehash(lambda c: c["grid"].update(steps=[1])) != study.hash
    assert rehash(lambda c: c["measurement"].update(warmup_steps=2)) != study.hash
    assert rehash(lambda c: c.update(fps=16)) != study.hash
    image = {"models": {"pixart-tiny": {"backend": "pixart-tiny"}}}
    assert rehash(lambda c: c.update(image=image)) != study.hash
    with open("config/prompts/test.txt", "a") as prompts:
        prompts.write("a third prompt\n")
    assert rehash(lambda c: None) != study.hash
    original["study"] = "paper-rerun"
    assert prepare_config(original, ["config/mine.yaml"], SCHEMA)[0].name == "paper-rerun"


def test_check_config_command_names_file_and_line_where_snakemake_cannot(
    tmp_path, monkeypatch, capsys
):
    from vidcarbon.cli import main

    monkeypatch.chdir(REPO)
    assert main(["check-config", "config/paper.yaml"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("vidcarbon: study 'paper-opensora-v1.1' (hash ")
    assert out.endswith("vidcarbon: config/paper.yaml is valid: 180 video cells\n")
    lines = (REPO / "config" / "paper.yaml").read_text().splitlines()
    fps = next(i for i, line in enumerate(lines) if line.startswith("fps: 8"))
    lines[fps] = lines[fps].replace("fps: 8", "fps: [8")  # an unclosed list
    broken = tmp_path / "broken.yaml"
    broken.write_text("\n".join(lines))
    with pytest.raises(SystemExit) as exit_:
        main(["check-config", str(broken)])
    assert exit_.value.code == 2
    # YAML notices the unclosed list at the next key, one line further
    err = capsys.readouterr().err
    assert err.startswith(f"vidcarbon check-config: {broken}, line {fps + 2}, column ")


def test_a_run_of_another_study_says_it_replaces_the_tables(tmp_path):
    from vidcarbon.config import Study, replaced_study
    from vidcarbon.tables import provenance, write_table

    toy = Study("cpu-toy", "aaaa", ("config/config.yaml",))
    assert replaced_study(toy, tmp_path) is None  # nothing there yet
    meta = {**provenance("h", [], []), "vidcarbon.study": "cpu-toy", "vidcarbon.study_hash": "aaaa"}
    write_table("runs", [], tmp_path / "runs.parquet", meta)
    assert replaced_study(toy, tmp_path) is None  # the same study: nothing to say
    other = Study("site-b-toy", "bbbb", ("config/b.yaml",))
    said = replaced_study(other, tmp_path)
    assert said.startswith(
        f"vidcarbon: {tmp_path}/ holds the tables of study 'cpu-toy' (hash aaaa); this run of "
        "study 'site-b-toy' replaces them."
    )
    assert "snakemake --directory studies/<name> --configfile <config>" in said


def test_a_new_schema_version_changes_every_table_rules_config_hash(monkeypatch):
    """Every rule that writes a table takes config_hash as a param: a new schema version
    reruns it (the table is rewritten), instead of a reader refusing the old table."""
    from vidcarbon import tables
    from vidcarbon.config import config_hash

    before = config_hash({"pue": 1.2})
    monkeypatch.setattr(tables, "SCHEMA_VERSION", tables.SCHEMA_VERSION + "-next")
    assert config_hash({"pue": 1.2}) != before
