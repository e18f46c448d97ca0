"""A lock left by a killed run is removed only when no Snakemake runs in the directory."""

import subprocess
import sys
import time

from vidcarbon.locks import live_snakemakes, unlock_if_stale


def lock(workdir):
    locks = workdir / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("results/runs.parquet\n")


def test_no_lock_nothing_to_do(tmp_path):
    assert unlock_if_stale(tmp_path) == (True, "")


def test_a_stale_lock_is_removed(tmp_path):
    lock(tmp_path)
    free, message = unlock_if_stale(tmp_path)
    assert free and message.startswith("removed the lock left by an interrupted run")
    assert not (tmp_path / ".snakemake" / "locks").exists()


def test_a_lock_held_by_a_live_snakemake_is_kept(tmp_path):
    lock(tmp_path)
    # a process named like Snakemake's entry point, running in the directory
    fake = tmp_path / "snakemake"
    fake.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    fake.chmod(0o755)
    proc = subprocess.Popen([str(fake), "--cores", "all"], cwd=tmp_path)
    try:
        # until the kernel shows its command line (a loaded machine takes a while to exec)
        deadline = time.monotonic() + 20
        while not live_snakemakes(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid, _ in live_snakemakes(tmp_path)] == [proc.pid]
        free, message = unlock_if_stale(tmp_path)
        assert not free
        assert message.startswith(f"Snakemake process {proc.pid} is running in this directory")
        assert (tmp_path / ".snakemake" / "locks" / "0.input.lock").exists()
    finally:
        proc.kill()
        proc.wait()
    assert live_snakemakes(tmp_path) == []
