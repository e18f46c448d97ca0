import json

import pyarrow.parquet as pq
import pytest

from vidcarbon.cli import main
from vidcarbon.errors import MergeError, SchemaMismatch
from vidcarbon.merge import check_output, merge_tables
from vidcarbon.tables import provenance, read_table, write_table


def steps_rows(run_id, n):
    return [
        {
            "run_id": run_id,
            "cell_id": "m/p0123456789/144p_f8_s4_seed0_baseline",
            "model": "m",
            "prompt_id": "p0123456789",
            "resolution": "144p",
            "frames": 8,
            "steps": n,
            "seed": 0,
            "lever": "baseline",
            "gpus": 1,
            "ulysses_degree": 1,
            "ring_degree": 1,
            "step_index": i,
            "duration_s": 0.1,
            "energy_j": 25.0,
        }
        for i in range(n)
    ]


@pytest.fixture
def two_sites(tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_table("steps", steps_rows("run-a", 3), a, provenance("h1", ["node-a"], ["A100"]))
    write_table("steps", steps_rows("run-b", 2), b, provenance("h2", ["node-b"], ["H100"]))
    return a, b


def test_merge_unions_dedups_and_keeps_provenance(two_sites, tmp_path):
    a, b = two_sites
    out = tmp_path / "merged.parquet"
    merged = merge_tables([a, b, a], out)  # a twice: its rows must not double
    assert merged.num_rows == 3 + 2
    table = read_table("steps", out)
    assert sorted(set(table.column("run_id").to_pylist())) == ["run-a", "run-b"]
    meta = pq.read_schema(out).metadata
    assert json.loads(meta[b"vidcarbon.hostnames"]) == ["node-a", "node-b"]
    sources = json.loads(meta[b"vidcarbon.sources"])
    assert [s["rows"] for s in sources] == [3, 2, 3]
    assert sources[1]["vidcarbon.devices"] == '["H100"]'
    # and it round-trips: merging the merged file with a source changes nothing
    assert merge_tables([out, b], tmp_path / "again.parquet").num_rows == 5


def test_merge_refuses_another_schema_version_or_table(two_sites, tmp_path):
    a, b = two_sites
    old = tmp_path / "old.parquet"
    table = pq.read_table(b)
    meta = dict(table.schema.metadata)
    meta[b"vidcarbon.schema_version"] = b"0"
    pq.write_table(table.replace_schema_metadata(meta), old)
    with pytest.raises(SchemaMismatch, match="schema version '0'"):
        merge_tables([a, old], tmp_path / "x.parquet")
    traces = tmp_path / "traces.parquet"
    write_table("traces", [], traces, provenance("h", [], []))
    with pytest.raises(SchemaMismatch, match="one table at a time"):
        merge_tables([a, traces], tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()


def test_merge_command(two_sites, tmp_path, capsys):
    a, b = two_sites
    assert main(["merge", str(a), str(b), "-o", str(tmp_path / "m.parquet")]) == 0
    out = capsys.readouterr().out
    # the study the tests run under (tests/conftest.py sets none: the rows say "?")
    assert "5 rows from 2 files; 1 study: " in out and "(hash " in out and ", 5 rows)" in out


def test_merge_names_a_missing_file(two_sites, tmp_path, capsys):
    a, _ = two_sites
    missing = tmp_path / "site-c" / "steps.parquet"
    with pytest.raises(SystemExit) as exit_:
        main(["merge", str(a), str(missing), "-o", str(tmp_path / "m.parquet")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"vidcarbon merge: {missing}: no such file\n"


def test_merge_names_the_file_and_columns_that_differ(two_sites, tmp_path):
    a, b = two_sites
    table = pq.read_table(b)
    pq.write_table(table.drop_columns(["energy_j"]), b)
    with pytest.raises(SchemaMismatch) as err:
        merge_tables([a, b], tmp_path / "m.parquet")
    assert f"{b}: table 'steps'" in str(err.value)
    assert "missing columns: energy_j" in str(err.value)


def test_merge_refuses_to_overwrite_an_input_or_a_pipeline_table(
    two_sites, tmp_path, capsys, monkeypatch
):
    a, b = two_sites
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MergeError, match="is one of the inputs"):
        check_output([a, b], a)
    results = tmp_path / "results"
    results.mkdir()
    with pytest.raises(SystemExit):
        main(["merge", str(a), str(b), "-o", "results/steps.parquet"])
    assert "is the pipeline's own results/steps.parquet" in capsys.readouterr().err
    assert not (results / "steps.parquet").exists()
    check_output([a, b], results / "merged-steps.parquet")  # any other name is fine


def test_merged_rows_keep_the_study_that_measured_them(tmp_path, monkeypatch):
    paths = []
    for study in ("cpu-toy", "paper-opensora-v1.1"):
        monkeypatch.setenv("VIDCARBON_STUDY", study)
        monkeypatch.setenv("VIDCARBON_STUDY_HASH", f"hash-{study}")
        paths.append(tmp_path / f"{study}.parquet")
        write_table("steps", steps_rows(f"run-{study}", 2), paths[-1], provenance("h", [], []))
    monkeypatch.delenv("VIDCARBON_STUDY")
    # the same model and shape under two study hashes: refused, naming both, unless asked
    with pytest.raises(MergeError) as err:
        merge_tables(paths, tmp_path / "merged.parquet")
    assert (
        "rows of the same model and shape come from different studies (model m, resolution "
        "144p, frames 8: cpu-toy (hash hash-cpu-toy), paper-opensora-v1.1 (hash "
        "hash-paper-opensora-v1.1))"
    ) in str(err.value)
    assert "--allow-mixed-studies" in str(err.value)
    assert not (tmp_path / "merged.parquet").exists()
    merged = merge_tables(paths, tmp_path / "merged.parquet", allow_mixed_studies=True)
    merged = merged.to_pandas()
    assert merged.groupby("run_id").study.first().to_dict() == {
        "run-cpu-toy": "cpu-toy",
        "run-paper-opensora-v1.1": "paper-opensora-v1.1",
    }
    meta = pq.read_schema(tmp_path / "merged.parquet").metadata
    assert meta[b"vidcarbon.study"] == b"cpu-toy,paper-opensora-v1.1"
