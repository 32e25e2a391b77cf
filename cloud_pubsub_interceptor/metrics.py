"""Per-process counters of push outcomes, served at /metrics in Prometheus text format."""
from __future__ import annotations

import threading
from collections import Counter


class PushCounters:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def count(self, route: str, outcome: str) -> None:
        with self._lock:
            self._counts[(route, outcome)] += 1

    def render(self) -> str:
        lines = [
            "# HELP aa_pushes_total Pub/Sub pushes received, by route and outcome.",
            "# TYPE aa_pushes_total counter",
        ]
        with self._lock:
            for (route, outcome), value in sorted(self._counts.items()):
                lines.append(f'aa_pushes_total{{route="{route}",outcome="{outcome}"}} {value}')
        return "\n".join(lines) + "\n"
