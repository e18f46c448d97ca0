"""The `vidcarbon` command: helpers for people who read or share the result tables."""

from __future__ import annotations

import argparse

from vidcarbon import tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vidcarbon", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("tables", help="print the columns of the result tables (Markdown)")
    show.add_argument("names", nargs="*", help=f"tables (default: all of {sorted(tables.SCHEMAS)})")
    args = parser.parse_args(argv)
    if args.command == "tables":
        for name in args.names or tables.SCHEMAS:
            if name not in tables.SCHEMAS:
                parser.error(f"unknown table {name!r}; allowed: {', '.join(tables.SCHEMAS)}")
            print(tables.describe(name), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
