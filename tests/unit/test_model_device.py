"""Device resolution (--device auto|cpu|cuda[:N]) with the GPU probes injected: no GPU needed."""

from __future__ import annotations

import pytest

from offchain.errors import ConfigError
from offchain.models.device import DeviceChoice, batch_for, peak_memory_mb, resolve_device


def _resolve(device: str | None, *, gpu: bool, bf16: bool = True) -> DeviceChoice:
    return resolve_device(device, cuda_available=lambda: gpu, bf16_supported=lambda: bf16)


def test_auto_picks_cuda_in_half_precision_when_torch_sees_a_gpu() -> None:
    assert _resolve("auto", gpu=True) == DeviceChoice("cuda", "bfloat16")
    assert _resolve(None, gpu=True, bf16=False) == DeviceChoice("cuda", "float16")
    assert _resolve("auto", gpu=False) == DeviceChoice("cpu", "float32")


def test_explicit_devices() -> None:
    assert _resolve("cpu", gpu=True) == DeviceChoice("cpu", "float32")
    assert _resolve("CUDA:1", gpu=True) == DeviceChoice("cuda:1", "bfloat16")
    assert _resolve("cuda:1", gpu=True).is_cuda and not _resolve("cpu", gpu=True).is_cuda


def test_cuda_without_a_gpu_and_unknown_devices_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="torch sees no CUDA GPU: use --device cpu or auto"):
        _resolve("cuda", gpu=False)
    for bad in ("tpu", "cuda:x", "cpu:0", "mps"):
        with pytest.raises(ConfigError, match="use auto, cpu, cuda or cuda:N"):
            _resolve(bad, gpu=True)


def test_env_var_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POQ_DEVICE", "cpu")
    assert _resolve(None, gpu=True).name == "cpu"
    assert _resolve("cuda", gpu=True).name == "cuda"  # an explicit choice wins


def test_batches_grow_on_a_gpu_and_cpu_memory_is_the_peak_rss() -> None:
    assert batch_for(4, DeviceChoice("cpu", "float32")) == 4
    assert batch_for(4, DeviceChoice("cuda", "bfloat16")) == 32
    mb, what = peak_memory_mb(DeviceChoice("cpu", "float32"))
    assert what == "peak RSS" and mb > 10
