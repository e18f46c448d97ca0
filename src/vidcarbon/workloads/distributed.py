"""A measured job's place in a context-parallel cell (child side): its rank, its device, and
the barriers that make every rank's windows the same windows.

A cell on N devices runs as N processes started by torch's launcher
(`vidcarbon.process.ranks`), which sets RANK, LOCAL_RANK, WORLD_SIZE and the rendezvous
address in each. Each rank meters its own device; every reading of the meter is taken at a
barrier of all ranks, so a window begins and ends at the same instant on every rank and the
cell's energy in a window is the sum of the ranks' (`vidcarbon.process.ranks.merge`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rank:
    """This process's rank among `world_size`, and its device's index on the node."""

    rank: int
    local_rank: int
    world_size: int

    @classmethod
    def from_env(cls) -> Rank | None:
        """The rank the launcher set in the environment; None for a one-device job."""
        if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
            return None
        return cls(
            int(os.environ["RANK"]),
            int(os.environ.get("LOCAL_RANK", os.environ["RANK"])),
            int(os.environ["WORLD_SIZE"]),
        )

    @property
    def leads(self) -> bool:
        """Rank 0: writes the video, holds the devices' locks."""
        return self.rank == 0


class Group:
    """The process group of a cell's ranks (nccl on GPUs, gloo on the CPU)."""

    def __init__(self, rank: Rank, compute_device: str):
        import torch
        import torch.distributed as dist

        self.rank, self.cuda = rank, compute_device == "cuda"
        if self.cuda:
            torch.cuda.set_device(rank.local_rank)  # "cuda" is this rank's GPU from here on
        if not dist.is_initialized():
            dist.init_process_group("nccl" if self.cuda else "gloo")
        self._dist = dist

    def barrier(self) -> None:
        if self.cuda:
            self._dist.barrier(device_ids=[self.rank.local_rank])
        else:
            self._dist.barrier()

    def gather(self, value: Any) -> list[Any]:
        """`value` of every rank, in rank order (a JSON-able object)."""
        found: list[Any] = [None] * self.rank.world_size
        self._dist.all_gather_object(found, value)
        return found

    def close(self) -> None:
        if self._dist.is_initialized():
            self._dist.destroy_process_group()
