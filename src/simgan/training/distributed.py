"""Data parallelism across processes started by torchrun (one process per GPU or CPU slot).

    torchrun --nproc_per_node=4 -m simgan train --synthetic s.h5 --real r.h5 --config eyes

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; `setup` reads them, joins the process group
(NCCL on CUDA, gloo on CPU) and picks cuda:LOCAL_RANK. Every rank then trains on its own
contiguous shard of the synthetic and the real images with batch_size / WORLD_SIZE images
and its own generators; DistributedDataParallel averages the gradients, so one step of K
ranks sees a global batch of train.batch_size images like one step of a single process.

Small control messages (stop flags, NaN flags, per-rank checkpoint state) go through a gloo
group on the CPU, so none of them waits for the GPU.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from simgan.errors import SimganError
from simgan.history import HistoryBuffer

RANK_STRIDE = 10_007  # seed offset between ranks: generators of different ranks never coincide
RESUME_STRIDE = 1_000_003  # seed offset for generators a resume has to create afresh


@dataclass
class DistEnv:
    """Where this process stands among the processes of one run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    control: Any = None  # gloo process group for CPU-side messages (None: single process)
    owns_group: bool = False  # this module created the process group and destroys it

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_from_torchrun() -> DistEnv:
    """RANK / WORLD_SIZE / LOCAL_RANK as torchrun sets them; a single process without them."""
    try:
        rank = int(os.environ.get("RANK", "0"))
        world = int(os.environ.get("WORLD_SIZE", "1"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise SimganError(
            "RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers; start several processes "
            "with torchrun, which sets them"
        ) from None
    if world < 1 or not 0 <= rank < world:
        raise SimganError(f"RANK={rank} is outside WORLD_SIZE={world}; start with torchrun")
    return DistEnv(rank=rank, world_size=world, local_rank=local)


def rank_seed(seed: int, offset: int, rank: int, resume_step: int = 0) -> int:
    """Seed of one generator of one rank; rank 0 of a fresh run gets seed + offset."""
    return seed + offset + RANK_STRIDE * rank + RESUME_STRIDE * resume_step


def setup(device: torch.device) -> tuple[DistEnv, torch.device]:
    """Join torchrun's process group when there is one; returns (env, this rank's device)."""
    env = env_from_torchrun()
    if not env.enabled:
        return env, device
    if device.type == "cuda":
        if env.local_rank >= torch.cuda.device_count():
            raise SimganError(
                f"LOCAL_RANK {env.local_rank} but only {torch.cuda.device_count()} GPU(s) "
                "here; start at most that many processes per node (--nproc_per_node)"
            )
        device = torch.device("cuda", env.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        kwargs = {"device_id": device} if device.type == "cuda" else {}
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30), **kwargs)
        env.owns_group = True
    env.control = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else None
    return env, device


def teardown(env: DistEnv) -> None:
    """Leave what `setup` joined: the whole group if setup created it, else the control group."""
    if not dist.is_initialized():
        return
    if env.owns_group:
        dist.destroy_process_group()
    elif env.control is not None:
        dist.destroy_process_group(env.control)
    env.owns_group, env.control = False, None


def wrap(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around `module` (its parameters are synced from rank 0)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


# -- collectives on small CPU values --------------------------------------------------------


def any_flag(flags: list[bool], env: DistEnv) -> list[bool]:
    """Element-wise OR of boolean flags over all ranks (a no-op for one process)."""
    if not env.enabled:
        return flags
    t = torch.tensor([int(f) for f in flags], dtype=torch.int32)
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=env.control)
    return [bool(v) for v in t.tolist()]


def mean_over_ranks(values: dict[str, float], env: DistEnv) -> dict[str, float]:
    """Average each value over the ranks; every rank must pass the same keys."""
    if not env.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(t, group=env.control)
    return {k: v / env.world_size for k, v in zip(keys, t.tolist(), strict=True)}


def sum_over_ranks(value: float, env: DistEnv) -> float:
    if not env.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t, group=env.control)
    return float(t.item())


def broadcast(obj: Any, env: DistEnv) -> Any:
    """Rank 0's `obj` on every rank (a picklable object)."""
    if not env.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, group=env.control)
    return box[0]


def gather_to_main(obj: Any, env: DistEnv) -> list[Any] | None:
    """Every rank's `obj`, in rank order, on rank 0; None on the other ranks."""
    if not env.enabled:
        return [obj]
    out = [None] * env.world_size if env.is_main else None
    dist.gather_object(obj, out, dst=0, group=env.control)
    return out


def barrier(env: DistEnv) -> None:
    if env.enabled:
        dist.barrier(group=env.control)


# -- per-rank state across a change of world size ------------------------------------------


def resplit_history(
    saved: list[dict], rank: int, world_size: int, capacity: int, seed: int
) -> dict:
    """History state for `rank` of `world_size` ranks from the states of a run saved with
    another number of ranks: the saved images are pooled (rank order) and dealt out round
    robin, each rank keeping at most `capacity`. Generators: the saved rank's own when it
    existed, else a fresh one from `seed`."""
    pool = [s["images"] for s in saved if s["images"] is not None and s["count"] > 0]
    mine = torch.cat(pool)[rank::world_size][:capacity] if pool else None
    base = saved[rank] if rank < len(saved) else HistoryBuffer(capacity, seed=seed).state_dict()
    shape = next((s["image_shape"] for s in saved if s["image_shape"] is not None), None)
    count = 0 if mine is None else len(mine)
    return {
        **base,
        "capacity": capacity,
        "count": count,
        "written": count,
        "image_shape": shape if count else None,
        "images": mine if count else None,
    }
