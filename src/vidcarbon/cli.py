"""The `vidcarbon` command: helpers for people who read or share the result tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from vidcarbon import tables
from vidcarbon.errors import SchemaMismatch
from vidcarbon.merge import merge_tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vidcarbon", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("tables", help="print the columns of the result tables (Markdown)")
    show.add_argument("names", nargs="*", help=f"tables (default: all of {sorted(tables.SCHEMAS)})")
    merge = commands.add_parser("merge", help="merge files of one table from several sites")
    merge.add_argument("inputs", nargs="+", type=Path, help="Parquet files of one table")
    merge.add_argument("-o", "--output", type=Path, required=True, help="merged Parquet file")
    args = parser.parse_args(argv)
    if args.command == "merge":
        try:
            table = merge_tables(args.inputs, args.output)
        except SchemaMismatch as exc:
            parser.exit(2, f"vidcarbon merge: {exc}\n")
        print(f"{args.output}: {table.num_rows} rows from {len(args.inputs)} files")
    if args.command == "tables":
        for name in args.names or tables.SCHEMAS:
            if name not in tables.SCHEMAS:
                parser.error(f"unknown table {name!r}; allowed: {', '.join(tables.SCHEMAS)}")
            print(tables.describe(name), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
