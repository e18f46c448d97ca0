"""Merge result tables from different sites or runs into one file, keeping provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vidcarbon.errors import MergeError, SchemaMismatch
from vidcarbon.tables import SCHEMAS, provenance, read_table, write_table

# Columns that identify a row; tables not listed here are deduplicated on all columns.
IDENTITY = {
    "runs": ["run_id"],
    "steps": ["run_id", "step_index"],
    "traces": ["run_id", "t_s", "component"],
    "llm": ["run_id", "prompt_id"],
}


def file_metadata(path: str | Path) -> dict[str, str]:
    metadata = pq.read_schema(path).metadata or {}
    return {k.decode(): v.decode() for k, v in metadata.items()}


def check_output(paths: list[str | Path], out: str | Path, workdir: str | Path = ".") -> None:
    """Refuse to write the merge over one of its inputs, or over a table the pipeline writes
    in `workdir`/results (the next run would redo everything downstream of it)."""
    target = Path(out).resolve()
    for path in paths:
        if Path(path).resolve() == target:
            raise MergeError(f"-o {out} is one of the inputs; write the merge to another file")
    pipeline = {(Path(workdir) / "results" / f"{n}.parquet").resolve(): n for n in SCHEMAS}
    if target in pipeline:
        raise MergeError(
            f"-o {out} is the pipeline's own results/{pipeline[target]}.parquet: replacing it "
            "would make the next run redo every job downstream of it, and the next run would "
            f"overwrite the merge; write it elsewhere, e.g. -o merged/{pipeline[target]}.parquet"
        )


# what names a measured configuration's rows across studies: the model and the shape
MIXABLE_KEYS = ("model", "llm", "resolution", "frames")


def studies(table: pa.Table) -> list[tuple[str, str, int]]:
    """(study, study_hash, rows) of every study in `table`, in order of first appearance."""
    counts: dict[tuple[str, str], int] = {}
    for row in table.select(["study", "study_hash"]).to_pylist():
        key = (row["study"] or "?", row["study_hash"] or "?")
        counts[key] = counts.get(key, 0) + 1
    return [(name, hash_, n) for (name, hash_), n in counts.items()]


def mixed_studies(table: pa.Table) -> list[str]:
    """Each model and shape whose rows come from more than one study hash, described."""
    keys = [k for k in MIXABLE_KEYS if k in table.column_names]
    if not keys or table.num_rows == 0:
        return []
    found: dict[tuple, set[tuple[str, str]]] = {}
    for row in table.select([*keys, "study", "study_hash"]).to_pylist():
        found.setdefault(tuple(row[k] for k in keys), set()).add((row["study"], row["study_hash"]))
    return [
        f"{', '.join(f'{k} {v}' for k, v in zip(keys, group, strict=True))}: "
        + ", ".join(f"{name} (hash {hash_})" for name, hash_ in sorted(both))
        for group, both in sorted(found.items(), key=str)
        if len(both) > 1
    ]


def merge_tables(
    paths: list[str | Path], out: str | Path, allow_mixed_studies: bool = False
) -> pa.Table:
    """Concatenate files of one table, keeping the first of rows with the same identity.

    Refuses missing files, files of different tables or schema versions, and files whose
    columns were altered (SchemaMismatch, naming the file and the columns), and, unless
    `allow_mixed_studies`, rows of one model and shape measured under different study hashes
    (MergeError naming them: their settings differ, so their figures may not compare). The
    output's metadata lists every source file's provenance under `vidcarbon.sources`.
    """
    if not paths:
        raise ValueError("give at least one table to merge")
    for path in paths:
        if not Path(path).is_file():
            raise MergeError(f"{path}: no such file")
    name = file_metadata(paths[0]).get("vidcarbon.table")
    if name not in SCHEMAS:
        raise SchemaMismatch(f"{paths[0]}: not a vidcarbon table (no 'vidcarbon.table' metadata)")
    tables, sources = [], []
    for path in paths:
        meta = file_metadata(path)
        if meta.get("vidcarbon.table") != name:
            raise SchemaMismatch(
                f"{path}: holds table {meta.get('vidcarbon.table')!r}, but {paths[0]} holds "
                f"{name!r}; merge the files of one table at a time"
            )
        tables.append(read_table(name, path))  # refuses another schema version
        sources.append({"path": str(path), "rows": tables[-1].num_rows, **meta})
    merged = pa.concat_tables([t.replace_schema_metadata(None) for t in tables])
    merged = _first_of_each(merged, IDENTITY.get(name, merged.column_names))
    mixed = mixed_studies(merged)
    if mixed and not allow_mixed_studies:
        shown = "; ".join(mixed[:3]) + (f"; and {len(mixed) - 3} more" if len(mixed) > 3 else "")
        raise MergeError(
            f"rows of the same model and shape come from different studies ({shown}): a study "
            "hash covers the device, fps, models, grid and measurement settings, so their "
            "figures may not be comparable. Merge one study at a time, or pass "
            "--allow-mixed-studies to merge them anyway (every row keeps its study and "
            "study_hash columns)"
        )

    def union(key: str) -> list[str]:
        return sorted({v for s in sources for v in json.loads(s.get(key, "[]"))})

    def joined(key: str) -> str:
        return ",".join(sorted({s.get(key, "") for s in sources}))

    meta = provenance(
        joined("vidcarbon.config_hash"), union("vidcarbon.hostnames"), union("vidcarbon.devices")
    )
    # the rows keep their own study; the file lists every study it holds
    meta.update({key: joined(key) for key in ("vidcarbon.study", "vidcarbon.study_hash")})
    meta["vidcarbon.sources"] = json.dumps(sources)
    return write_table(name, merged.to_pylist(), out, meta)


def _first_of_each(table: pa.Table, keys: list[str]) -> pa.Table:
    indexed = table.append_column("__row", pa.array(range(table.num_rows), pa.int64()))
    first = indexed.group_by(keys, use_threads=False).aggregate([("__row", "min")])
    return table.filter(pc.is_in(indexed["__row"], value_set=first["__row_min"]))
