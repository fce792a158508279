"""One process or many under `torchrun`: the process group, FSDP2 sharding and the collectives training needs.

Single process: the model stays a plain module. Under torchrun (WORLD_SIZE > 1): NCCL on GPUs, gloo on CPUs, and
each decoder layer then the whole model wrapped with `torch.distributed.fsdp.fully_shard` (FSDP2): parameters,
gradients and optimizer state are sharded across processes; gradients are averaged across processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Runtime:
    rank: int
    world_size: int
    local_rank: int
    device: object  # torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_runtime() -> Runtime:
    """The runtime torchrun describes in the environment (or a single process)."""
    import torch
    import torch.distributed as dist

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
    return Runtime(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def shard_model(model, runtime: Runtime):
    """FSDP2 over the decoder layers, then the root (embeddings, final norm and the tied LM head)."""
    if not runtime.distributed:
        return model.to(runtime.device)
    from torch.distributed.fsdp import fully_shard

    model.to(runtime.device)
    for layer in model.model.layers:
        fully_shard(layer)
    fully_shard(model)
    return model


def all_reduce_sum(value: float, runtime: Runtime) -> float:
    if not runtime.distributed:
        return value
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([value], dtype=torch.float64, device=runtime.device)
    dist.all_reduce(tensor)
    return float(tensor.item())


def barrier(runtime: Runtime) -> None:
    if runtime.distributed:
        import torch.distributed as dist

        dist.barrier()


def broadcast_object(value, runtime: Runtime):
    """Rank 0's `value` on every process (an error found on rank 0 reaches the others instead of a hang)."""
    if not runtime.distributed:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shutdown(runtime: Runtime) -> None:
    if runtime.distributed:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def on_main(runtime: Runtime, work):
    """Run `work` on the main process and hand its result (or its user error) to every process: the others never
    wait on a collective the main process will not reach."""
    from infir_edge.errors import InfirEdgeError

    result = None
    if runtime.is_main:
        try:
            result = work()
        except InfirEdgeError as e:
            result = e
    result = broadcast_object(result, runtime)
    if isinstance(result, Exception):
        raise result
    return result
