import duckdb
import pyarrow as pa
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
            "rank": 0,
            "power_w": 5.5,
            "phase": "denoise",
        },
    ]
    path = tmp_path / "traces.parquet"
    write_table("traces", rows, path, provenance("abc123", ["host-a"], ["Fake H100"]))
    table = read_table("traces", path)
    # outside a run no study is set: the study columns are empty
    assert table.to_pylist() == [{**row, "study": None, "study_hash": None} for row in rows]
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


def test_cli_output_into_a_closed_pipe_ends_quietly():
    import subprocess
    import sys

    # the reader is gone before the command writes (as `| head` is after its lines)
    code = "import time; time.sleep(0.5); from vidcarbon.cli import main; main(['tables'])"
    proc = subprocess.run(
        f"'{sys.executable}' -c \"{code}\" | true",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stderr == ""  # no BrokenPipeError traceback


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


TRACE = {
    "run_id": "r1",
    "job_id": "m/p/c",
    "job_kind": "generate",
    "t_s": 0.1,
    "component": "cpu",
    "rank": 0,
    "power_w": 5.5,
    "phase": "denoise",
}


def test_rows_carry_the_study_of_the_run_that_wrote_them(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDCARBON_STUDY", "paper-opensora-v1.1")
    monkeypatch.setenv("VIDCARBON_STUDY_HASH", "0123456789abcdef")
    path = tmp_path / "traces.parquet"
    write_table("traces", [TRACE], path, provenance("h", [], []))
    (row,) = read_table("traces", path).to_pylist()
    assert (row["study"], row["study_hash"]) == ("paper-opensora-v1.1", "0123456789abcdef")
    assert pq.read_schema(path).metadata[b"vidcarbon.study"] == b"paper-opensora-v1.1"
    # rows that already name a study (those of a merge) keep it
    other = {**TRACE, "study": "cpu-toy", "study_hash": "fedcba9876543210"}
    write_table("traces", [other], path, provenance("h", [], []))
    assert read_table("traces", path).to_pylist()[0]["study"] == "cpu-toy"


def test_an_altered_file_is_refused_naming_its_columns(tmp_path):
    path = tmp_path / "traces.parquet"
    write_table("traces", [TRACE], path, provenance("h", [], []))
    table = pq.read_table(path)
    altered = table.drop_columns(["power_w"]).append_column("note", pa.array(["x"]))
    altered = altered.set_column(
        altered.schema.get_field_index("t_s"), "t_s", pa.array(["0.1"], pa.string())
    )
    pq.write_table(altered.replace_schema_metadata(table.schema.metadata), path)
    with pytest.raises(SchemaMismatch) as err:
        read_table("traces", path)
    assert str(err.value) == (
        f"{path}: table 'traces' version {SCHEMA_VERSION} has been altered: missing columns: "
        "power_w; unknown columns: note; columns of another type: t_s (string, not double). "
        "Use the file as vidcarbon wrote it."
    )


def test_cli_describes_a_table_file(tmp_path, capsys, monkeypatch):
    from vidcarbon.cli import main

    monkeypatch.setenv("VIDCARBON_STUDY", "cpu-toy")
    path = tmp_path / "traces.parquet"
    write_table("traces", [TRACE] * 3, path, provenance("abc", ["host-a"], []))
    assert main(["tables", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"### {path}\n\ntable `traces`, 3 rows\n")
    assert "| `power_w` | double | " in out and "| `study` | string | the study that" in out
    assert "| config_hash | abc |" in out and '| hostnames | ["host-a"] |' in out
    assert "| study | cpu-toy |" in out
    with pytest.raises(SystemExit):
        main(["tables", str(tmp_path / "missing.parquet")])
