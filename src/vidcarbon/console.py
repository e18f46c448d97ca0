"""What a run prints: Snakemake's `--logger vidcarbon`, set in profiles/default (which every
run loads, `--profile slurm` too). The planned jobs, a progress line from Snakemake's job events
(rewritten in place on a terminal, every 10 % otherwise), each cell that ends failed, SLURM
jobs as the executor reports them, a warning when none has changed state for a while, and the
end summary. Errors and warnings pass in full; a dry run prints what Snakemake prints; the
complete log stays in .snakemake/log/.
"""

import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from logging import WARNING, LogRecord
from pathlib import Path

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.settings import LogHandlerSettingsBase

from vidcarbon.summary import summarise

# the rules of video cells: on one device, and on several (docs/parallel.md)
CELL_RULES = ("generate", "generate_parallel")
# set on the record the workflow logs before submitting to SLURM (workflow/rules/common.smk)
STATUS_COMMAND = "vidcarbon_status_command"


@dataclass
class LogHandlerSettings(LogHandlerSettingsBase):
    stall_seconds: int = field(
        default=120,
        metadata={
            "help": "On SLURM, warn when no job has changed state for this many seconds (0: never)"
        },
    )


class LogHandler(LogHandlerBase):
    """Snakemake's log records in, vidcarbon's console out."""

    def __post_init__(self) -> None:
        from snakemake.logging import DefaultFilter, DefaultFormatter

        s = self.common_settings
        self.out = sys.stdout if s.stdout else sys.stderr
        self.tty = self.out.isatty()
        self.verbatim = DefaultFormatter(s.quiet, s.show_failed_logs)
        self.verbatim_filter = DefaultFilter(
            s.quiet, s.debug_dag, s.verbose, s.dryrun, s.printshellcmds
        )
        self.jobs: dict[int, dict] = {}  # jobid -> its JOB_INFO fields
        self.planned, self.done, self.cells = Counter(), Counter(), Counter()
        self.started, self.decile, self.live = False, -1, False
        self.status_command: str | None = None
        self.slurm, self.slurm_line = Counter(), ""  # submitted, finished, failed; as printed
        self.units: dict[int, str] = {}  # jobid -> the SLURM submission it runs in
        self.unit_left: Counter = Counter()  # submission -> its jobs not finished
        self.changed = time.monotonic()
        self.stop = threading.Event()

    writes_to_stream = True
    writes_to_file = False
    has_filter = True
    has_formatter = True
    needs_rulegraph = False

    def emit(self, record: LogRecord) -> None:
        event = getattr(record, "event", None)
        if event == LogEvent.WORKFLOW_STARTED:
            self.started = True
        # what is no run (--lint, --unlock, --summary, a dry run) prints what Snakemake prints
        if not self.started or self.common_settings.dryrun:
            if self.verbatim_filter.filter(record):
                self.echo(record)
        elif hasattr(record, STATUS_COMMAND):
            self.watch(getattr(record, STATUS_COMMAND))
        elif event == LogEvent.RUN_INFO:
            self.plan(record.stats)
        elif event == LogEvent.JOB_INFO:
            self.submitted(record)
        elif event == LogEvent.GROUP_INFO and self.status_command:
            self.group_submitted(record)
        elif event == LogEvent.JOB_FINISHED:
            self.finished(record.job_id)
        elif event == LogEvent.PROGRESS:
            self.progress(record.done, record.total)
        elif event in (LogEvent.JOB_ERROR, LogEvent.GROUP_ERROR):
            self.failed(record)
            self.echo(record)
        elif record.levelno >= WARNING or event == LogEvent.ERROR:
            self.echo(record)

    def echo(self, record: LogRecord) -> None:
        """The record as Snakemake's own console prints it."""
        text = self.verbatim.format(record)
        if text and text != "None":
            self.say(text)

    def say(self, text: str) -> None:
        """A line of its own (ending the live progress line first)."""
        if self.live:
            self.out.write("\n")
            self.live = False
        self.out.write(text + "\n")
        self.out.flush()

    def plan(self, stats: dict) -> None:
        self.planned = Counter({r: n for r, n in stats.items() if r not in ("all", "total")})
        jobs = ", ".join(f"{n} {rule}" for rule, n in self.planned.items())
        self.say(f"vidcarbon: {stats['total']} jobs to run: {jobs}")

    def submitted(self, record: LogRecord) -> None:
        self.jobs[record.jobid] = {"rule": record.rule_name, "output": record.output}
        if self.status_command and not record.local and record.jobid not in self.units:
            self.units[record.jobid] = f"job {record.jobid}"
            self.unit_left[f"job {record.jobid}"] += 1
            self.slurm["submitted"] += 1
            self.slurm_changed()

    def group_submitted(self, record: LogRecord) -> None:
        """A SLURM job that runs several of Snakemake's jobs (group_id names the group, which
        many SLURM jobs share)."""
        unit = f"group {record.group_id} {min(job.jobid for job in record.jobs)}"
        self.slurm["submitted"] += 1
        for job in record.jobs:
            self.units[job.jobid] = unit
            self.unit_left[unit] += 1
        self.slurm_changed()

    def finished(self, jobid: int) -> None:
        rule = self.jobs.get(jobid, {}).get("rule")
        self.done[rule] += 1
        if rule in CELL_RULES:
            self.cell_ended(jobid)
        unit = self.units.pop(jobid, None)
        if unit:
            self.unit_left[unit] -= 1
            if not self.unit_left[unit]:
                self.slurm["finished"] += 1
            self.slurm_changed()

    def cell_ended(self, jobid: int) -> None:
        """Count the cell by the status in its record; name it when it failed."""
        (path,) = [p for p in self.jobs[jobid]["output"] if p.endswith(".json")]
        try:
            record = json.loads(Path(path).read_text())
        except (OSError, ValueError):
            record = {"status": "unreadable", "cell_id": path, "error": f"cannot read {path}"}
        self.cells[record["status"]] += 1
        if record["status"] != "ok":
            error = (record.get("error") or "").splitlines()[:1]
            self.say(f"vidcarbon: cell {record['cell_id']} {record['status']}: {''.join(error)}")

    def failed(self, record: LogRecord) -> None:
        """A job that failed (each job of a failed group follows as its own JOB_ERROR)."""
        if record.event == LogEvent.GROUP_ERROR:
            unit = self.units.get(record.job_error_info[0]["jobid"])
        else:
            if record.rule_name in CELL_RULES:
                self.cells["error"] += 1
            unit = None if record.indent else self.units.get(record.jobid)
        if unit and self.status_command:
            # a retry submits its jobs again
            self.units = {job: u for job, u in self.units.items() if u != unit}
            self.unit_left.pop(unit, None)
            self.slurm["failed"] += 1
            self.slurm_changed()

    def progress(self, done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        text = f"vidcarbon: {done} of {total} jobs done ({percent} %)"
        text += "".join(  # the rules under way
            f"; {rule} {self.done[rule]} of {n}"
            for rule, n in self.planned.items()
            if 0 < self.done[rule] < n
        )
        if self.cells:
            ranked = sorted(self.cells.items(), key=lambda c: (c[0] != "ok", c[0]))
            text += "; cells " + ", ".join(f"{n} {status}" for status, n in ranked)
        if self.tty:
            self.out.write("\r\033[K" + text)
            self.out.flush()
            self.live = True
        elif percent // 10 > self.decile or done == total:
            self.say(text)
        self.decile = max(self.decile, percent // 10)

    def slurm_changed(self) -> None:
        self.changed = time.monotonic()
        s = self.slurm
        active = s["submitted"] - s["finished"] - s["failed"]
        line = (
            f"vidcarbon: SLURM jobs: {active} queued or running, {s['finished']} finished, "
            f"{s['failed']} failed"
        )
        if line != self.slurm_line:  # a job of a packed SLURM job that ends changes no count
            self.slurm_line = line
            self.say(line)

    def watch(self, status_command: str) -> None:
        """Jobs go to SLURM: warn whenever none has changed state for `stall_seconds`."""
        self.status_command = status_command
        self.say(f"vidcarbon: jobs go to SLURM; their state comes from `{status_command}`")
        stall = self.settings.stall_seconds if self.settings else 120
        if stall > 0:
            threading.Thread(target=self.stall_warnings, args=(stall,), daemon=True).start()

    def stall_warnings(self, stall: int) -> None:
        warned = None
        while not self.stop.wait(min(stall, 5)):
            with self.lock:
                s = self.slurm
                active = s["submitted"] - s["finished"] - s["failed"]
                quiet = time.monotonic() - self.changed
                if active and quiet >= stall and warned != self.changed:
                    warned = self.changed
                    self.say(self.stall_warning(quiet, active))

    def stall_warning(self, quiet: float, active: int) -> str:
        """What a stall looks like and its likely cause: the status command."""
        fix = ""
        if self.status_command == "sacct":
            fix = ": without accounting, set `slurm-status-command: squeue` in the profile"
        return (
            f"vidcarbon: warning: no SLURM job has changed state for {quiet:.0f} s ({active} "
            f"queued or running). If `squeue --me` no longer lists them, the status command "
            f"({self.status_command}) does not see them finish{fix}. Jobs that simply run long: "
            "raise logger-vidcarbon-stall-seconds in the profile."
        )

    def close(self) -> None:
        """End of the run (once: logging's shutdown closes it again): the summary and where
        the complete log is."""
        if self.stop.is_set():
            return
        self.stop.set()
        if self.started and not self.common_settings.dryrun:
            self.say(summarise("results"))
            logs = sorted(Path(".snakemake/log").glob("*.snakemake.log"))
            if logs:
                self.say(f"vidcarbon: complete log {logs[-1]}")
        super().close()
