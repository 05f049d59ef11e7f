"""The device choice: CPU, or a GPU whose every requirement is checked first."""

import pytest
import torch

from spacy_xfer import device
from spacy_xfer.device import DeviceError, gpu_problems, use_device


@pytest.fixture
def gpu_calls(monkeypatch):
    """Record thinc's require_gpu calls instead of switching to the GPU."""
    calls = []
    monkeypatch.setattr(device, "require_gpu", calls.append)
    return calls


def fake_machine(monkeypatch, *, cupy: bool, cupy_gpu: bool, torch_cuda, n_devices: int):
    monkeypatch.setattr(device, "has_cupy", cupy)
    monkeypatch.setattr(device, "has_cupy_gpu", cupy_gpu)
    monkeypatch.setattr(torch.version, "cuda", torch_cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n_devices)


def test_cpu_needs_nothing(gpu_calls):
    assert use_device(-1) is False
    assert gpu_calls == []


@pytest.mark.skipif(not gpu_problems(0), reason="this machine has a usable GPU")
def test_this_machine_fails_in_one_line_naming_what_is_missing(gpu_calls):
    with pytest.raises(DeviceError) as info:
        use_device(0)
    message = str(info.value)
    assert "\n" not in message and gpu_calls == []
    assert message.startswith("[E052] GPU 0 was requested, but ")
    assert message.endswith("Or use the CPU: --gpu-id -1.")
    if torch.version.cuda is None:
        assert f"torch {torch.__version__} is a CPU-only build" in message
        assert "https://pytorch.org/get-started/locally/" in message


MACHINES = [
    # (cupy, cupy sees a GPU, torch's CUDA version, torch's devices, gpu id, problems)
    (False, False, None, 0, 0, ["CuPy is not installed (install: pip install cupy-cuda12x", "CPU-only"]),
    (False, False, "12.4", 1, 0, ["CuPy is not installed"]),
    (True, False, "12.4", 0, 0, ["CuPy finds no CUDA device", "torch finds no CUDA device"]),
    (True, True, None, 0, 0, ["CPU-only build"]),
    (True, True, "12.4", 2, 2, ["there is no GPU 2: torch sees GPUs 0 to 1"]),
]


@pytest.mark.parametrize("cupy,cupy_gpu,torch_cuda,n_devices,gpu_id,expected", MACHINES)
def test_each_missing_piece_is_named(
    monkeypatch, gpu_calls, cupy, cupy_gpu, torch_cuda, n_devices, gpu_id, expected
):
    fake_machine(
        monkeypatch, cupy=cupy, cupy_gpu=cupy_gpu, torch_cuda=torch_cuda, n_devices=n_devices
    )
    problems = gpu_problems(gpu_id)
    assert len(problems) == len(expected)
    assert all(part in problem for problem, part in zip(problems, expected))
    with pytest.raises(DeviceError):
        use_device(gpu_id)
    assert gpu_calls == []


def test_a_complete_gpu_setup_is_used(monkeypatch, gpu_calls):
    fake_machine(monkeypatch, cupy=True, cupy_gpu=True, torch_cuda="12.4", n_devices=2)
    assert gpu_problems(1) == []
    assert use_device(1) is True
    assert gpu_calls == [1]
