"""The logger plugin's stall warning names the status command and, for sacct, the fix (the
test SLURM has no accounting, so the e2e test can only run squeue)."""

import io
import logging
import time
from types import SimpleNamespace

from snakemake_interface_logger_plugins.common import LogEvent

from vidcarbon.console import STATUS_COMMAND, LogHandler, LogHandlerSettings

OUTPUT_SETTINGS = SimpleNamespace(
    stdout=False,
    quiet=None,
    show_failed_logs=False,
    debug_dag=False,
    verbose=False,
    dryrun=False,
    printshellcmds=False,
)


def record(**fields) -> logging.LogRecord:
    """A record as Snakemake's logger makes it: INFO, the event's fields as attributes."""
    return logging.makeLogRecord({"msg": "", "levelno": logging.INFO, **fields})


def test_a_sacct_run_without_state_changes_is_told_the_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no results/ here
    handler = LogHandler(OUTPUT_SETTINGS, LogHandlerSettings(stall_seconds=1))
    handler.out = io.StringIO()
    handler.handle(record(event=LogEvent.WORKFLOW_STARTED))
    handler.handle(record(**{STATUS_COMMAND: "sacct"}))
    job = {"jobid": 3, "rule_name": "generate", "local": False, "output": ["results/cells/a.json"]}
    handler.handle(record(event=LogEvent.JOB_INFO, **job))
    time.sleep(2.5)
    handler.close()
    lines = handler.out.getvalue().splitlines()
    assert lines[:2] == [
        "vidcarbon: jobs go to SLURM; their state comes from `sacct`",
        "vidcarbon: SLURM jobs: 1 queued or running, 0 finished, 0 failed",
    ]
    warning, summary = lines[2:]  # once per stall, not once a second; then the summary
    assert summary.startswith("vidcarbon: no results/runs.parquet yet")
    assert warning.startswith("vidcarbon: warning: no SLURM job has changed state for ")
    assert (
        "the status command (sacct) does not see them finish: without accounting, set " in warning
    )
    assert "`slurm-status-command: squeue` in the profile" in warning
