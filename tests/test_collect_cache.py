"""Collection with its cache: the same tables as without, and a rerun reads only the records
that are new or changed."""

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from vidcarbon.workloads.video import table as video_table

RECORDS = Path(__file__).parent / "data" / "records"


def write_cells(root: Path, steps: list[int], energy_scale: float = 1.0) -> list[str]:
    template = json.loads((RECORDS / "generate.json").read_text())
    paths = []
    for s in steps:
        for res in ("144p", "240p"):
            record = dict(template, steps=s, resolution=res)
            record["cell_id"] = f"latte-tiny/{template['prompt_id']}/{res}_f8_s{s}_seed0"
            record["windows"] = [
                dict(w, energy_j={c: j * energy_scale for c, j in w["energy_j"].items()})
                for w in template["windows"]
            ]
            path = root / "cells" / f"{record['cell_id']}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(record))
            paths.append(str(path))
    return paths


def collect(root: Path, cells: list[str], out: str, cache: bool) -> dict[str, list[dict]]:
    paths = {t: root / out / f"{t}.parquet" for t in video_table.TABLES}
    video_table.collect(
        cells,
        [str(RECORDS / "encode.json")],
        [str(RECORDS / "idle.json")],
        paths["runs"],
        paths["steps"],
        paths["traces"],
        "hash",
        cache_dir=root / "cache" if cache else None,
        ranks_path=paths["ranks"],
    )
    return {t: sorted_rows(p) for t, p in paths.items()}


def sorted_rows(path: Path) -> list[dict]:
    rows = pq.read_table(path).to_pylist()
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


@pytest.fixture
def reads(monkeypatch):
    """The cell records collection reads."""
    seen = []
    real = video_table.read_json

    def counting(path):
        if "/cells/" in str(path):
            seen.append(str(path))
        return real(path)

    monkeypatch.setattr(video_table, "read_json", counting)
    return seen


def test_cached_collection_reads_only_new_and_changed_records(tmp_path, reads):
    cells = write_cells(tmp_path, [2, 4])
    first = collect(tmp_path, cells, "a", cache=True)
    assert first == collect(tmp_path, cells, "plain", cache=False)
    assert len(first["runs"]) == 4 and len(first["steps"]) == 4 * 4

    reads.clear()
    cells += write_cells(tmp_path, [6])  # a new step count: two new cells
    grown = collect(tmp_path, cells, "b", cache=True)
    assert sorted(reads) == sorted(cells[4:])
    assert grown == collect(tmp_path, cells, "plain", cache=False)
    assert len(grown["runs"]) == 6

    # a cell measured again (a later record, other energies) is read again; a removed one
    # is dropped from the tables
    reads.clear()
    changed = write_cells(tmp_path, [2], energy_scale=2.0)
    for path in changed:
        os.utime(path, ns=(os.stat(path).st_mtime_ns + 10**9,) * 2)
    kept = [c for c in cells if "240p_f8_s4" not in c]
    again = collect(tmp_path, kept, "c", cache=True)
    assert sorted(reads) == sorted(changed)
    assert again == collect(tmp_path, kept, "plain", cache=False)
    energy = {r["cell_id"].split("/")[-1]: r["denoise_energy_j"] for r in again["runs"]}
    assert energy["144p_f8_s2_seed0"] == pytest.approx(2 * energy["144p_f8_s6_seed0"])
    assert "240p_f8_s4_seed0" not in energy


def test_rows_cached_by_other_code_are_built_again(tmp_path, reads, monkeypatch):
    cells = write_cells(tmp_path, [2])
    collect(tmp_path, cells, "a", cache=True)
    reads.clear()
    monkeypatch.setattr(video_table, "builder_version", lambda: "another version")
    collect(tmp_path, cells, "b", cache=True)
    assert sorted(reads) == sorted(cells)


def test_a_row_key_that_is_no_column_is_refused(tmp_path, monkeypatch):
    from vidcarbon.errors import SchemaMismatch

    cells = write_cells(tmp_path, [2])
    real = video_table.run_row
    monkeypatch.setattr(video_table, "run_row", lambda *a: {**real(*a), "enrgy_j": 1.0})
    with pytest.raises(SchemaMismatch, match="enrgy_j"):
        collect(tmp_path, cells, "a", cache=True)
