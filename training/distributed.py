"""Data-parallel training under ``torchrun``: the process group, the DDP wrapper and replica bookkeeping.

Only CPU-friendly gloo is used. Brevitas' runtime-statistics scales and BatchNorm keep running buffers that each
rank updates from its own batches; DDP's ``broadcast_buffers`` copies rank 0's at the start of every forward,
and :meth:`DistContext.broadcast_module` does so once more before evaluation, checkpoints and BatchNorm folding,
so every rank evaluates and folds the same model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

#: DDP option: every parameter of these models takes part in every forward pass (Brevitas adds ``0 * value``
#: for scales still collecting statistics), so unused-parameter detection stays off (tested under torchrun).
FIND_UNUSED_PARAMETERS = False


@dataclass
class DistContext:
    """This process's place in a data-parallel run (a single process when ``WORLD_SIZE`` is unset or 1)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @classmethod
    def from_env(cls) -> DistContext:
        """Join the ``torchrun`` process group (gloo) when ``WORLD_SIZE > 1``; a single process otherwise."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        owns = False
        if not dist.is_initialized():
            dist.init_process_group(backend="gloo")
            owns = True
        return cls(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), owns)

    @property
    def parallel(self) -> bool:
        """More than one process."""
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes files and prints."""
        return self.rank == 0

    def close(self) -> None:
        """Leave the process group if :meth:`from_env` created it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in DistributedDataParallel (itself for a single process); re-wrap after folding."""
        if not self.parallel:
            return model
        return DistributedDataParallel(
            model, broadcast_buffers=True, find_unused_parameters=FIND_UNUSED_PARAMETERS
        )

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over the ranks (float64)."""
        if not self.parallel:
            return values
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()

    @torch.no_grad()
    def broadcast_module(self, model: nn.Module) -> None:
        """Copy rank 0's parameters and buffers (BatchNorm and Brevitas running statistics) to every rank."""
        if self.parallel:
            for t in [*model.parameters(), *model.buffers()]:
                dist.broadcast(t.data, src=0)

    @torch.no_grad()
    def check_in_sync(self, model: nn.Module) -> None:
        """Raise if the replicas' parameters differ (DistributedDataParallel keeps them equal)."""
        if not self.parallel:
            return
        sums = torch.stack([p.detach().double().sum() for p in model.parameters()])
        lo, hi = sums.clone(), sums.clone()
        dist.all_reduce(lo, op=dist.ReduceOp.MIN)
        dist.all_reduce(hi, op=dist.ReduceOp.MAX)
        if not torch.equal(lo, hi):
            raise RuntimeError("data-parallel replicas diverged: parameters differ between ranks")


__all__ = ["FIND_UNUSED_PARAMETERS", "DistContext"]
