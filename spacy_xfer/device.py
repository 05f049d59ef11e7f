"""Choose the device: the CPU, or a CUDA GPU, checked before anything is created.

A GPU run needs CuPy (thinc's ops on the GPU) that finds a CUDA device, and a CUDA build
of torch (the encoders and CRF are PyTorch models) that finds the same device.
"""

from typing import List

import torch
from thinc.api import require_gpu
from thinc.compat import has_cupy, has_cupy_gpu

from .errors import Errors

CUPY_INSTALL = "pip install cupy-cuda12x, or cupy-cuda11x for CUDA 11"
TORCH_INSTALL = "a CUDA build of torch: see https://pytorch.org/get-started/locally/"
DRIVER_HINT = "check that `nvidia-smi` lists the GPU"


class DeviceError(ValueError):
    """A GPU was asked for, and something it needs is missing."""


def gpu_problems(gpu_id: int) -> List[str]:
    """What is missing for running on CUDA GPU `gpu_id`, each with how to get it.

    gpu_id (int): The GPU id (>= 0).
    RETURNS (List[str]): One entry per missing piece; empty if the GPU can be used.
    """
    problems = []
    if not has_cupy:
        problems.append(f"CuPy is not installed (install: {CUPY_INSTALL})")
    elif not has_cupy_gpu:
        problems.append(f"CuPy finds no CUDA device ({DRIVER_HINT})")
    n_devices = torch.cuda.device_count()
    if torch.version.cuda is None:
        problems.append(f"torch {torch.__version__} is a CPU-only build (install {TORCH_INSTALL})")
    elif not n_devices:
        problems.append(f"torch finds no CUDA device ({DRIVER_HINT})")
    elif gpu_id >= n_devices:
        problems.append(f"there is no GPU {gpu_id}: torch sees GPUs 0 to {n_devices - 1}")
    return problems


def use_device(gpu_id: int) -> bool:
    """Run on GPU `gpu_id` (thinc's `require_gpu`: CuPy ops, torch on the same device), or
    on the CPU when `gpu_id` is negative. Everything the GPU needs is checked first, so a
    command that calls this before writing anything fails without leaving files.

    gpu_id (int): The GPU id, or -1 for the CPU.
    RETURNS (bool): Whether the GPU is used.
    RAISES DeviceError: One line naming each missing piece and how to install it.
    """
    if gpu_id < 0:
        return False
    problems = gpu_problems(gpu_id)
    if problems:
        raise DeviceError(Errors.E052.format(gpu_id=gpu_id, problems="; ".join(problems)))
    require_gpu(gpu_id)
    return True
