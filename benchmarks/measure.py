"""What `make bench` reads off the machine: CPU time and memory of a server's process tree from /proc,
and wrk's answers. CPU time per operation is steadier than requests per second on shared machines."""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (a server's master and its workers)."""
    tree, index = [pid], 0
    while index < len(tree):
        task_dir = Path(f"/proc/{tree[index]}/task")
        try:
            for task in task_dir.iterdir():
                tree += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            pass
        index += 1
    return tree


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time used so far by the process tree under ``pid``."""
    ticks = 0
    for process in process_tree(pid):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / _TICKS_PER_SECOND


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])


class CpuMeter:
    """CPU seconds a process tree spends between entering and leaving the block."""

    def __init__(self, pid: int):
        self._pid = pid
        self.seconds = 0.0

    def __enter__(self) -> "CpuMeter":
        self._start = cpu_seconds(self._pid)
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = cpu_seconds(self._pid) - self._start


@dataclass(frozen=True)
class WrkResult:
    requests: int
    per_second: float
    failed: int  # non-2xx answers and socket errors
    latency_ms: dict[str, float]


def run_wrk(url: str, script: Path, connections: int, seconds: int, threads: int = 2) -> WrkResult:
    output = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                             "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    failed = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failed += sum(int(n) for n in errors.groups()) if errors else 0
    latency = {f"p{q}": _milliseconds(value) for q, value in re.findall(r"^\s+(50|90|99)%\s+(\S+)", output, re.M)}
    return WrkResult(requests, float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), failed, latency)


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
