"""Where a request's time went: named phases, answered as a `Server-Timing` header and summed
into the node's metrics (`walrus_node_request_phase_seconds`)."""

from __future__ import annotations

import time


class RequestPhases:
    """Consecutive phases of one request, each ending at its `mark`."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def restart(self) -> None:
        """Start the next phase now (time since the last mark is not counted)."""
        self._last = time.perf_counter()

    def mark(self, phase: str) -> None:
        """End `phase` now; a phase marked twice adds up."""
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._last
        self._last = now

    def header(self) -> str:
        """The `Server-Timing` value, milliseconds: `read;dur=0.210, verify;dur=1.380`."""
        return ", ".join(f"{name};dur={value * 1000:.3f}" for name, value in self.seconds.items())


def parse_server_timing(header: str) -> dict[str, float]:
    """Milliseconds per phase of a `Server-Timing` value such as `RequestPhases.header`
    makes (for the benches that read the nodes' phases)."""
    phases = {}
    for part in header.split(","):
        name, _, duration = part.strip().partition(";dur=")
        if duration:
            phases[name] = float(duration)
    return phases
