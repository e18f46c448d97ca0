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


def test_a_sacct_run_without_state_changes_is_told_the_fix():
    handler = LogHandler(OUTPUT_SETTINGS, LogHandlerSettings(stall_seconds=1))
    handler.out = io.StringIO()
    handler.handle(logging.makeLogRecord({"msg": "", STATUS_COMMAND: "sacct"}))
    job = {"event": LogEvent.JOB_INFO, "jobid": 3, "rule_name": "generate", "local": False}
    handler.handle(logging.makeLogRecord({**job, "output": ["results/cells/a.json"]}))
    time.sleep(2.5)
    handler.close()
    lines = handler.out.getvalue().splitlines()
    assert lines[:2] == [
        "vidcarbon: jobs go to SLURM; their state comes from `sacct`",
        "vidcarbon: SLURM jobs: 1 queued or running, 0 finished, 0 failed",
    ]
    (warning,) = lines[2:]  # once per stall, not once a second
    assert warning.startswith("vidcarbon: warning: no SLURM job has changed state for ")
    assert (
        "the status command (sacct) does not see them finish: without accounting, set " in warning
    )
    assert "`slurm-status-command: squeue` in the profile" in warning
