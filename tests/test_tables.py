import duckdb
import pyarrow.parquet as pq
import pytest

from vidcarbon.errors import SchemaMismatch
from vidcarbon.tables import RUNS, SCHEMA_VERSION, provenance, read_table, write_table


def test_units_in_every_measured_column():
    for field in RUNS:
        if any(word in field.name for word in ("energy", "duration", "power")):
            assert field.name.endswith(("_j", "_s", "_w")), field.name


def test_roundtrip_with_provenance_pyarrow_and_duckdb(tmp_path):
    rows = [
        {
            "run_id": "r1",
            "job_id": "m/p/c",
            "job_kind": "generate",
            "t_s": 0.1,
            "component": "cpu",
            "power_w": 5.5,
            "phase": "denoise",
        },
    ]
    path = tmp_path / "traces.parquet"
    write_table("traces", rows, path, provenance("abc123", ["host-a"], ["Fake H100"]))
    table = read_table("traces", path)
    assert table.to_pylist() == rows
    meta = pq.read_schema(path).metadata
    assert meta[b"vidcarbon.schema_version"] == SCHEMA_VERSION.encode()
    assert meta[b"vidcarbon.config_hash"] == b"abc123"
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away
    con = duckdb.connect()
    assert con.execute(f"select avg(power_w) from '{path}'").fetchall() == [(5.5,)]
    kv = dict(
        con.execute(
            f"select decode(key), decode(value) from parquet_kv_metadata('{path}')"
        ).fetchall()
    )
    assert kv["vidcarbon.table"] == "traces"


def test_read_refuses_other_table_or_version(tmp_path):
    path = tmp_path / "steps.parquet"
    write_table("steps", [], path, provenance("h", [], []))
    with pytest.raises(SchemaMismatch, match="expected 'runs'"):
        read_table("runs", path)


def test_schema_rejects_wrong_types(tmp_path):
    with pytest.raises(Exception):  # noqa: B017 - pyarrow raises ArrowInvalid/TypeError
        write_table(
            "traces",
            [{"job_id": "x", "job_kind": "g", "t_s": "soon", "component": "cpu"}],
            tmp_path / "t.parquet",
            {},
        )


def test_every_column_is_described_and_the_description_travels_with_the_file(tmp_path):
    from vidcarbon.tables import SCHEMAS, describe

    for name, schema in SCHEMAS.items():
        for field in schema:
            assert (field.metadata or {}).get(b"description"), f"{name}.{field.name}"
        assert describe(name).count("\n| `") == len(schema)
    path = tmp_path / "steps.parquet"
    write_table("steps", [], path, provenance("h", [], []))
    field = pq.read_schema(path).field("duration_s")
    assert field.metadata[b"description"] == b"wall time of the step, seconds"


def test_cli_prints_table_docs(capsys):
    from vidcarbon.cli import main

    assert main(["tables", "runs"]) == 0
    assert "| `energy_j` | double |" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["tables", "nope"])


def test_a_misspelled_row_key_is_an_error_naming_key_and_table(tmp_path):
    row = {
        "run_id": "r1",
        "job_id": "m/p/c",
        "job_kind": "generate",
        "t_s": 0.1,
        "component": "cpu",
        "powr_w": 5.5,  # pyarrow alone would drop it and write power_w as null
    }
    path = tmp_path / "traces.parquet"
    with pytest.raises(SchemaMismatch, match=r"table 'traces': row 0 has key\(s\) 'powr_w'"):
        write_table("traces", [row], path, provenance("h", [], []))
    assert not path.exists()
