"""Where models run: ``--device auto|cpu|cuda[:N]`` resolved once, with the dtype that goes with it.

``auto`` (the default, or env POQ_DEVICE) is CUDA when torch sees a GPU, else the CPU. On CUDA,
weights run in half precision (bfloat16 where the GPU supports it, else float16); on the CPU in
float32 (bfloat16 is no faster on these CPUs). Batch sizes grow on a GPU so one call fills it.
`resolve_device` takes the availability probes as arguments, so its logic is testable without a GPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from offchain.errors import ConfigError

DEVICE_ENV = "POQ_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "cuda")
GPU_BATCH_FACTOR = 8
"""Generation and scoring batches on a GPU are this many times the CPU ones (the paper's profile
batch sizes stay as they are)."""


@dataclass(frozen=True)
class DeviceChoice:
    """A resolved device: ``name`` as torch spells it (``cpu``, ``cuda``, ``cuda:1``) and a dtype name."""

    name: str
    dtype: str
    """``float32``, ``bfloat16`` or ``float16``."""

    @property
    def is_cuda(self) -> bool:
        return self.name.startswith("cuda")

    def torch_device(self) -> Any:
        import torch

        return torch.device(self.name)

    def torch_dtype(self) -> Any:
        import torch

        return getattr(torch, self.dtype)


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _bf16_supported() -> bool:
    import torch

    return bool(torch.cuda.is_bf16_supported())


def resolve_device(device: str | None = None, *, cuda_available: Callable[[], bool] = _cuda_available,
                   bf16_supported: Callable[[], bool] = _bf16_supported) -> DeviceChoice:
    """``device`` (None: env POQ_DEVICE, else ``auto``) as a DeviceChoice.

    ConfigError for an unknown device or ``cuda`` asked for where torch sees no GPU.
    """
    text = (device or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    base, _, index = text.partition(":")
    if base not in DEVICE_CHOICES or (index and (base != "cuda" or not index.isdigit())):
        raise ConfigError(f"unknown device {text!r}: use auto, cpu, cuda or cuda:N")
    if base == "auto":
        base = "cuda" if cuda_available() else "cpu"
    elif base == "cuda" and not cuda_available():
        raise ConfigError(f"device {text!r} asked for, but torch sees no CUDA GPU: use --device cpu or auto")
    if base == "cpu":
        return DeviceChoice("cpu", "float32")
    return DeviceChoice(text if index else "cuda", "bfloat16" if bf16_supported() else "float16")


def batch_for(cpu_batch: int, choice: DeviceChoice) -> int:
    """A batch size for ``choice``: the CPU one, times GPU_BATCH_FACTOR on a GPU."""
    return cpu_batch * GPU_BATCH_FACTOR if choice.is_cuda else cpu_batch


def reset_peak_memory(choice: DeviceChoice) -> None:
    """Start a fresh CUDA peak (a no-op on the CPU, whose peak RSS cannot be reset)."""
    if choice.is_cuda:
        import torch

        torch.cuda.reset_peak_memory_stats(choice.name)


def peak_memory_mb(choice: DeviceChoice) -> tuple[float, str]:
    """(MiB, what was measured): CUDA's peak allocation on a GPU, else this process's peak RSS."""
    if choice.is_cuda:
        import torch

        return torch.cuda.max_memory_allocated(choice.name) / 2**20, "cuda peak"
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "peak RSS"
