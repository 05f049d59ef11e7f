"""The machine a benchmark runs on: hardware and versions, peak memory, and how busy the
other processes keep the CPU (timings taken while they are busy are not valid)."""

import os
import resource
import sys
import time
from typing import Any, Dict, Optional, Tuple


def hardware_info() -> Dict[str, Any]:
    """CPU, cores (all and usable by this process), torch threads, library versions
    (the grid's `machine_info`, plus what a speed number depends on)."""
    import torch

    from spacy_xfer.experiments.grid import machine_info, usable_cores

    return {
        **machine_info(),
        "usable_cores": usable_cores(),
        "torch_threads": torch.get_num_threads(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "mkl": bool(torch.backends.mkl.is_available()),
    }


def set_threads(threads: Optional[int]) -> None:
    """torch's intra-op threads (None: torch's default, one per core)."""
    import torch

    if threads:
        torch.set_num_threads(threads)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS


class CpuMeter:
    """CPU time of other processes during a span (Linux /proc/stat), in cores.

    children (bool): Count the CPU time of this process's finished (waited-for) child
        processes and theirs as this process's own, not as other processes': for a
        benchmark whose work runs in subprocesses that end before the span does.
    """

    def __init__(self, children: bool = False) -> None:
        self.children = children
        self.start = self._sample()

    def _sample(self) -> Optional[Tuple[float, float, float]]:
        try:
            with open("/proc/stat", encoding="utf8") as file:
                fields = [int(x) for x in file.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
        own = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) if self.children else (resource.RUSAGE_SELF,):
            usage = resource.getrusage(who)
            own += usage.ru_utime + usage.ru_stime
        return time.perf_counter(), busy, own

    def background_cores(self) -> Optional[float]:
        """Cores the other processes used since the meter started; None off Linux."""
        end = self._sample()
        if self.start is None or end is None or end[0] <= self.start[0]:
            return None
        wall = end[0] - self.start[0]
        others = (end[1] - self.start[1]) - (end[2] - self.start[2])
        return round(max(0.0, others / wall), 2)


def wait_quiet(max_wait: float, threshold: float = 0.1, window: float = 2.0) -> Optional[float]:
    """Wait (at most max_wait seconds) until the other processes use less than
    `threshold` cores over `window` seconds; RETURNS the seconds waited, None if the
    machine never became quiet (or max_wait is 0)."""
    if max_wait <= 0:
        return None
    start = time.perf_counter()
    while time.perf_counter() - start < max_wait:
        meter = CpuMeter()
        time.sleep(window)
        busy = meter.background_cores()
        if busy is None:
            return None
        if busy < threshold:
            return round(time.perf_counter() - start, 1)
    return None
