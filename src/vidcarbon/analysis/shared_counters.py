"""Rows whose energy holds another process's: left out of findings, charts and comparisons.

A row is flagged when a device-wide counter it read (NVML for the GPU, RAPL for the CPU
package or DRAM) was driven by another process during its job (`{gpu,cpu,dram}_shared`,
`vidcarbon.energy.sharing`). Its energy is not its own, so every analysis drops it here, in
one place, and says how many it dropped and why.
"""

from __future__ import annotations

import pandas as pd

from vidcarbon.tables import COMPONENTS

SHARED_COLUMNS = tuple(f"{c}_shared" for c in COMPONENTS)


def shared(table: pd.DataFrame) -> pd.Series:
    """True for rows with a shared device-wide counter (tables without the columns: none)."""
    flags = [table[c].fillna(False).astype(bool) for c in SHARED_COLUMNS if c in table]
    if not flags:
        return pd.Series(False, index=table.index)
    return pd.concat(flags, axis=1).any(axis=1)


def without_shared(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The rows whose counters were their job's alone, and how many were left out."""
    mask = shared(table)
    return table[~mask], int(mask.sum())


def without_cells(table: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Rows of a per-cell table (carbon, quality) whose cell is flagged in `runs`."""
    return table[~table.cell_id.isin(runs.cell_id[shared(runs)])]


def note(left_out: int, what: str = "cells") -> str:
    """One line saying what was left out, for findings.md and the logs ('' when nothing)."""
    if not left_out:
        return ""
    return (
        f"{left_out} {what} left out: another process drove a device-wide energy counter "
        "(NVML, RAPL) during their job, so their energy holds its energy too "
        "(runs.shared_detail)."
    )
