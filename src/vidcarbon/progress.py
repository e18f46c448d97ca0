"""Condense Snakemake's console output for `make run`: one line of planned jobs, a progress
line (rewritten in place on a terminal, every 10 % otherwise), and everything else verbatim.

Snakemake's `--quiet rules host reason` still prints five lines per job ("Select jobs to
execute...", "Execute 1 jobs...", a timestamp, "Finished jobid", "N of M steps done"): about
400 lines for the default run. Errors, warnings and the run's own messages pass unchanged;
the complete log stays in .snakemake/log/.
"""

from __future__ import annotations

import re
import signal
import sys
from collections import Counter
from typing import IO

NOISE = re.compile(
    r"^(Select jobs to execute\.\.\.|Execute \d+ jobs\.\.\.|\[\w{3} \w{3} +\d+ [\d:]+ \d{4}\]"
    r"|Assuming unrestricted shared filesystem usage\.|Building DAG of jobs\.\.\."
    r"|Using shell: .*|Provided cores: .*|Rules claiming more threads will be scaled down\."
    r"|Elapsed time: .*|Conda environments: ignored|job +count|-+ +-+|\s*"
    r"|Creating report\.\.\.|Loading script code for rule \w+"
    r"|Downloading resources and rendering HTML\.|Adding .+ \([\d.]+ [KMG]?B\)\.)$"
)
FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: (\w+)\)$")
PROGRESS = re.compile(r"^(\d+) of (\d+) steps \((\d+)%\) done$")
STATS_ROW = re.compile(r"^(\w+)\s+(\d+)$")


BANNER = re.compile(r"^(vidcarbon: |Using (workflow specific )?profiles? )")


def condense(lines, out: IO[str], tty: bool, banner: bool = True) -> None:
    """Copy Snakemake's output `lines` to `out`, condensed; `banner=False` also drops the
    lines a run starts with (a second Snakemake call, such as the report, repeats them)."""
    in_stats, planned, done, last = False, Counter(), Counter(), ""
    last_decile, progress_shown = -1, False

    def emit(text: str) -> None:
        nonlocal progress_shown
        if progress_shown:  # end the progress line before anything else
            out.write("\n")
            progress_shown = False
        out.write(text + "\n")
        out.flush()

    for raw in lines:
        line = raw.rstrip("\n")
        if line == "Job stats:":
            in_stats, planned = True, Counter()
            continue
        if in_stats:
            row = STATS_ROW.match(line)
            if row and row[1] == "total":
                in_stats = False
                jobs = ", ".join(f"{n} {rule}" for rule, n in planned.items() if rule != "all")
                emit(f"vidcarbon: {row[2]} jobs to run: {jobs}")
            elif row:
                planned[row[1]] = int(row[2])
            continue
        finished = FINISHED.match(line)
        if finished:
            last = finished[1]
            done[last] += 1
            continue
        progress = PROGRESS.match(line)
        if progress:
            n, total, percent = map(int, progress.groups())
            text = f"vidcarbon: {n} of {total} jobs done ({percent} %)"
            if last in planned:
                text += f"; {last} {done[last]} of {planned[last]}"
            if tty:
                out.write("\r\033[K" + text)
                out.flush()
                progress_shown = True
            elif percent // 10 > last_decile or n == total:
                emit(text)
            last_decile = max(last_decile, percent // 10)
            continue
        if not (NOISE.match(line) or (not banner and BANNER.match(line))):
            emit(line)
    if progress_shown:
        out.write("\n")


def main(banner: bool = True) -> None:
    """Filter stdin to stdout. Ctrl-C reaches Snakemake too: keep reading until it has said
    why it stopped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    condense(sys.stdin, sys.stdout, sys.stdout.isatty(), banner)
