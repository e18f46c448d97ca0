"""The `vidcarbon` command: helpers for people who run the pipeline, or read or share the
result tables."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from vidcarbon import defaults
from vidcarbon.errors import VidcarbonError
from vidcarbon.grid import BASELINE

# Each command imports what it needs when it runs: `make run` calls several of them, and
# pyarrow, pandas and jsonschema cost a second of CPU each time.


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader went away (`vidcarbon tables runs | head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="vidcarbon", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser(
        "tables", help="print the columns of the result tables, or of table files (Markdown)"
    )
    show.add_argument(
        "names",
        nargs="*",
        help="table names (default: all tables) or Parquet files, e.g. "
        "results/quality.parquet (adds its row count and provenance)",
    )
    merge = commands.add_parser("merge", help="merge files of one table from several sites")
    merge.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        help="Parquet files of one table (e.g. site-a/runs.parquet site-b/runs.parquet)",
    )
    merge.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="the merged file (not one of the inputs, nor the pipeline's own results/ table)",
    )
    merge.add_argument(
        "--allow-mixed-studies",
        action="store_true",
        help="merge rows of one model and shape from different studies (refused by default)",
    )
    summary = commands.add_parser(
        "summary", help="cells ok/failed, where the results are, headline findings"
    )
    summary.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="the run's results folder (default: results)",
    )
    unlock = commands.add_parser(
        "unlock",
        help="remove Snakemake's lock on this directory if no Snakemake process runs in it",
    )
    unlock.add_argument("--quiet", action="store_true", help="say nothing when there is no lock")
    check = commands.add_parser(
        "check-config",
        help="check a config file as a run would (YAML syntax with its line, keys, grid, models)",
    )
    check.add_argument("config", type=Path, help="e.g. config/paper.yaml")
    est = commands.add_parser(
        "estimate", help="predict energy and carbon of an unmeasured configuration"
    )
    est.add_argument(
        "--runs", type=Path, default=Path("results/runs.parquet"), help="runs table to fit on"
    )
    est.add_argument("--model", required=True, help="a model of the runs table, e.g. latte-tiny")
    est.add_argument(
        "--resolution", required=True, help="144p, 240p, 360p, 480p or 720p (Open-Sora's)"
    )
    est.add_argument("--duration", type=float, required=True, help="video length, seconds")
    est.add_argument("--steps", type=int, required=True, help="denoising steps, >= 1")
    est.add_argument(
        "--study",
        help="the study whose rows to fit, when the runs table holds several (a merge)",
    )
    est.add_argument(
        "--intensity",
        default="gas",
        help="an energy source (coal, gas, oil, biomass, solar, geothermal, hydro, nuclear, "
        "wind), a number of g/kWh, or a country's ISO 3166 alpha-3 code (FRA, DEU, USA)",
    )
    est.add_argument(
        "--fps", type=int, help="frames per second (default: the model's, from its runs)"
    )
    est.add_argument(
        "--pue",
        type=float,
        help="power usage effectiveness, >= 1 (default: the study's, from the carbon.parquet "
        f"beside --runs; else the paper's {defaults.PUE:g})",
    )
    est.add_argument(
        "--lever",
        default=BASELINE,
        help="lever (config levers.variants) whose cells the law is fitted on (default: none, "
        "the model as configured)",
    )
    est.add_argument("--device", help="hardware.yaml entry whose embodied carbon to charge")
    est.add_argument(
        "--hardware",
        type=Path,
        default=Path("config/hardware.yaml"),
        help="the hardware file --device is read from",
    )
    again = commands.add_parser(
        "retry",
        help="make the next run redo the jobs that ended with a status (e.g. oom)",
        description="Moves the records of the jobs that ended with STATUS to their history "
        "(<record>.history.jsonl) and deletes their outputs, so that the next `snakemake` or "
        "`make run` redoes exactly those jobs (with attempt n+1 in their rows).",
    )
    again.add_argument(
        "--status",
        action="append",
        required=True,
        help="oom | failed | killed (repeat for several)",
    )
    again.add_argument("--results", type=Path, default=Path("results"), help="results folder")
    args = parser.parse_args(argv)
    if args.command == "retry":
        from vidcarbon.retry import retry

        try:
            reset = retry(args.status, args.results)
        except ValueError as exc:
            parser.exit(2, f"vidcarbon retry: {exc}\n")
        for kind, path in reset:
            print(f"{kind}: {path}")
        print(
            f"{len(reset)} job(s) with status {' or '.join(args.status)} will run again on "
            "the next `snakemake` (or `make run`); their earlier attempts are kept beside "
            "each record in <record>.history.jsonl"
        )
    if args.command == "estimate":
        try:
            print(_estimate(args))
        except VidcarbonError as exc:
            parser.exit(2, f"vidcarbon estimate: {exc}\n")
    if args.command == "merge":
        from vidcarbon.merge import check_output, merge_tables, studies

        try:
            check_output(args.inputs, args.output)
            table = merge_tables(args.inputs, args.output, args.allow_mixed_studies)
        except VidcarbonError as exc:
            parser.exit(2, f"vidcarbon merge: {exc}\n")
        files = f"{len(args.inputs)} file{'s' if len(args.inputs) != 1 else ''}"
        found = studies(table)
        print(
            f"{args.output}: {table.num_rows} rows from {files}; "
            f"{len(found)} stud{'y' if len(found) == 1 else 'ies'}: "
            + ", ".join(f"{name} (hash {hash_}, {n} rows)" for name, hash_, n in found)
        )
    if args.command == "tables":
        from vidcarbon import tables

        for name in args.names or tables.SCHEMAS:
            if name in tables.SCHEMAS:
                print(tables.describe(name), end="\n\n")
            elif Path(name).is_file():
                print(tables.describe_file(name), end="\n\n")
            else:
                parser.error(
                    f"{name!r} is neither a table name ({', '.join(tables.SCHEMAS)}) nor a file"
                )
    if args.command == "summary":
        from vidcarbon.summary import summarise

        print(summarise(args.results))
    if args.command == "unlock":
        from vidcarbon.locks import unlock_if_stale

        free, message = unlock_if_stale()
        if message or not args.quiet:
            print(f"vidcarbon unlock: {message or 'no lock on this directory'}", file=sys.stderr)
        return 0 if free else 1
    if args.command == "check-config":
        from vidcarbon.config import check_config_file

        try:
            print(check_config_file(args.config))
        except VidcarbonError as exc:
            parser.exit(2, f"vidcarbon check-config: {exc}\n")
    return 0


def _read_runs(path: Path):
    """The runs table at --runs, or a VidcarbonError naming the flag and what to do."""
    import pyarrow as pa

    from vidcarbon import tables
    from vidcarbon.errors import SchemaMismatch

    if not path.is_file():
        raise VidcarbonError(
            f"--runs {path}: no such file; run the pipeline first (make run) or pass the "
            "results/runs.parquet of a finished run"
        )
    try:
        return tables.read_table("runs", path).to_pandas()
    except (OSError, pa.ArrowException, SchemaMismatch) as exc:
        raise VidcarbonError(f"--runs {path}: not a readable vidcarbon runs table: {exc}") from exc


def _one_study(runs, study: str | None, path: Path):
    """The rows of one study: `study`, or the only one the table holds (a merged table of
    several must be narrowed with --study, naming them)."""
    found = sorted(set(runs.study.fillna("?")))
    if study is not None:
        if study not in found:
            raise VidcarbonError(f"--study {study!r} is not in {path}; studies: {', '.join(found)}")
        return runs[runs.study == study], study
    if len(set(runs.study_hash.fillna("?"))) > 1:
        raise VidcarbonError(
            f"{path} holds rows of several studies ({', '.join(found)}): their settings differ, "
            "so one law cannot be fitted across them; pick one with --study"
        )
    named = [name for name in found if name != "?"]
    return runs, named[0] if named else None


def _study_settings(runs_path: Path, study: str | None) -> dict[str, float]:
    """PUE and lifetime of `study` from the carbon.parquet beside the runs table, if any."""
    import pyarrow.parquet as pq

    carbon = runs_path.parent / "carbon.parquet"
    if not carbon.is_file():
        return {}
    table = pq.read_table(carbon, columns=["study", "pue", "lifetime_years"]).to_pandas()
    if study is not None:
        table = table[table.study == study]
    settings = {}
    for key in ("pue", "lifetime_years"):
        values = set(table[key].dropna())
        if len(values) == 1:
            settings[key] = float(values.pop())
    return settings


def _estimate(args) -> str:
    from vidcarbon.analysis.estimate import check_request, estimate
    from vidcarbon.carbon.embodied import source_table
    from vidcarbon.config import load_hardware

    runs, study = _one_study(_read_runs(args.runs), args.study, args.runs)
    settings = _study_settings(args.runs, study)
    carbon_file = args.runs.parent / "carbon.parquet"
    if args.pue is not None:
        pue, pue_source = args.pue, "--pue"
    elif "pue" in settings:
        pue, pue_source = settings["pue"], f"the study's, from {carbon_file}"
    else:
        pue, pue_source = defaults.PUE, f"the paper's: no {carbon_file} with one PUE"
    lifetime_years = settings.get("lifetime_years", defaults.LIFETIME_YEARS)
    check_request(args.resolution, args.duration, args.steps, args.fps, pue)
    embodied_g, sources = None, []
    if args.device:
        devices = load_hardware(args.hardware)
        units = [k for k, v in devices.items() if v.get("kind") in ("gpu", "cpu")]
        if args.device not in units:
            raise VidcarbonError(
                f"--device {args.device!r} is not a gpu or cpu entry of {args.hardware}; "
                f"allowed: {', '.join(units)}"
            )
        sources = source_table(args.device, devices)  # ACT's model first: the headline
        embodied_g = sources[0]["embodied_g"]
    e = estimate(
        runs,
        args.model,
        args.resolution,
        args.duration,
        args.steps,
        args.intensity,
        fps=args.fps,
        pue=pue,
        embodied_g=embodied_g,
        lifetime_years=lifetime_years,
        lever=args.lever,
        sources=sources,
    )

    def band(interval, unit, scale=1.0):
        low, mid, high = (v * scale for v in (interval.low, interval.value, interval.high))
        return f"{mid:.4g} {unit}  (95 % prediction interval {low:.4g} .. {high:.4g})"

    lines = [
        f"{args.model}, {args.resolution} ({e.height}x{e.width} pixels, {e.size_source}), "
        f"{args.duration:g} s at {e.fps} fps = {e.frames} frames, {args.steps} steps, "
        f"lever {args.lever} (laws fitted on {e.n} baseline cells of study "
        f"{study or 'unnamed'}, R² {e.r2:.3f})",
        *(
            [
                f"  lever {args.lever}: the baseline law x {e.lever_ratio:.3g}, its energy "
                f"ratio to its baseline cells (mean over {e.lever_cells} cells; time by its "
                "own ratio)"
            ]
            if e.lever_cells
            else []
        ),
        f"  energy        {band(e.energy_j, 'Wh', 1 / 3600)}",
        f"  time          {band(e.duration_s, 's')}",
        f"  operational   {band(e.operational_g, 'g CO2e')}  at {e.scenario.name} "
        f"({e.scenario.intensity_g_per_kwh:g} g/kWh), PUE {pue:g} ({pue_source})",
    ]
    if e.embodied_g:
        lines.append(
            f"  embodied      {band(e.embodied_g, 'g CO2e')}  of {args.device}, "
            f"{lifetime_years:g} y (ACT's model, the headline)"
        )
        lines.append(
            "  by embodied source (break-even: the grid intensity below which embodied "
            "exceeds operational):"
        )
        for s in e.by_source:
            lines.append(
                f"    {s.source:<20} {s.counts:<13} embodied {s.embodied_g.value:.4g} g CO2e"
                f"  break-even {s.breakeven_intensity_g_per_kwh:.4g} g/kWh"
            )
    for name, (asked, low, high) in e.extrapolated.items():
        lines.append(
            f"  EXTRAPOLATES: {name} = {asked:g} lies outside the measured {low:g} .. {high:g}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
