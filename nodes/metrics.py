"""Prometheus text-format counters of one node (no client library needed for a few series)."""

from __future__ import annotations

import threading
from collections import Counter

from nodes.thread_cpu import cpu_seconds_by_role


class NodeMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, int]] = Counter()
        self._phase_seconds: dict[tuple[str, str], float] = {}
        self._phase_counts: Counter[tuple[str, str]] = Counter()
        self.recovery_backlog = 0
        self.event_lag_blocks = 0
        self.events_applied = 0
        self.slivers_migrated = 0
        self.slivers_recovered = 0
        self.synced_epoch = 0
        self.corrupt_records = 0
        self.scrub_records_checked = 0

    def count_request(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._requests[(endpoint, status)] += 1

    def add_phases(self, endpoint: str, seconds: dict[str, float]) -> None:
        """Sum one request's phase times (see nodes/phases.py)."""
        with self._lock:
            for phase, value in seconds.items():
                key = (endpoint, phase)
                self._phase_seconds[key] = self._phase_seconds.get(key, 0.0) + value
                self._phase_counts[key] += 1

    def render(self, slivers_stored: int, sliver_bytes: int) -> str:
        lines = [
            "# TYPE walrus_node_slivers_stored gauge",
            f"walrus_node_slivers_stored {slivers_stored}",
            "# TYPE walrus_node_sliver_bytes gauge",
            f"walrus_node_sliver_bytes {sliver_bytes}",
            "# TYPE walrus_node_recovery_backlog gauge",
            f"walrus_node_recovery_backlog {self.recovery_backlog}",
            "# TYPE walrus_node_event_lag_blocks gauge",
            f"walrus_node_event_lag_blocks {self.event_lag_blocks}",
            "# TYPE walrus_node_events_applied_total counter",
            f"walrus_node_events_applied_total {self.events_applied}",
            "# TYPE walrus_node_slivers_migrated_total counter",
            f"walrus_node_slivers_migrated_total {self.slivers_migrated}",
            "# TYPE walrus_node_slivers_recovered_total counter",
            f"walrus_node_slivers_recovered_total {self.slivers_recovered}",
            "# TYPE walrus_node_synced_epoch gauge",
            f"walrus_node_synced_epoch {self.synced_epoch}",
            "# TYPE walrus_node_corrupt_records_total counter",
            f"walrus_node_corrupt_records_total {self.corrupt_records}",
            "# TYPE walrus_node_scrub_records_checked_total counter",
            f"walrus_node_scrub_records_checked_total {self.scrub_records_checked}",
            "# TYPE walrus_node_requests_total counter",
            "# TYPE walrus_node_errors_total counter",
        ]
        with self._lock:
            items = sorted(self._requests.items())
            phases = sorted(self._phase_seconds.items())
            phase_counts = dict(self._phase_counts)
        for (endpoint, status), count in items:
            labels = f'endpoint="{endpoint}",status="{status}"'
            lines.append(f"walrus_node_requests_total{{{labels}}} {count}")
            if status >= 400:
                lines.append(f"walrus_node_errors_total{{{labels}}} {count}")
        lines.append("# TYPE walrus_node_thread_cpu_seconds_total counter")
        for thread_role, seconds in sorted(cpu_seconds_by_role().items()):
            lines.append(
                f'walrus_node_thread_cpu_seconds_total{{thread="{thread_role}"}} {seconds:.2f}'
            )
        lines.append("# TYPE walrus_node_request_phase_seconds summary")
        for (endpoint, phase), seconds in phases:
            labels = f'endpoint="{endpoint}",phase="{phase}"'
            lines.append(f"walrus_node_request_phase_seconds_sum{{{labels}}} {seconds:.6f}")
            count = phase_counts[(endpoint, phase)]
            lines.append(f"walrus_node_request_phase_seconds_count{{{labels}}} {count}")
        return "\n".join(lines) + "\n"
