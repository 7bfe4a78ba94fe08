"""Process placement under ``torchrun``: :func:`dist_info` and the process group of :func:`fit`."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "dist_info", "setup_distributed"]


@dataclass(frozen=True)
class DistInfo:
    """Process placement under ``torchrun`` (``world_size == 1`` when not distributed)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def dist_info() -> DistInfo:
    """Read ``RANK``/``LOCAL_RANK``/``WORLD_SIZE`` as set by ``torchrun``."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as err:
        raise RuntimeError(
            f"malformed torchrun environment (RANK/LOCAL_RANK/WORLD_SIZE): {err}"
        ) from err
    if world < 1 or not 0 <= rank < world:
        raise RuntimeError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world}")
    return DistInfo(rank=rank, local_rank=local, world_size=world)


def setup_distributed(info: DistInfo, device: torch.device) -> tuple[torch.device, bool]:
    """Initialise the process group if needed; return the rank's device and whether we own it."""
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    if dist.is_initialized():
        return device, False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    return device, True
