"""A node's Server-Timing header reads back as the phases it measured (the benches rely on it)."""

import pytest

from nodes.phases import RequestPhases, parse_server_timing


def test_header_reads_back_per_phase_in_milliseconds() -> None:
    phases = RequestPhases()
    phases.mark("read")
    phases.mark("verify")
    phases.mark("read")  # marked twice: adds up
    parsed = parse_server_timing(phases.header())
    assert list(parsed) == ["read", "verify"]
    for name, seconds in phases.seconds.items():
        assert parsed[name] == pytest.approx(seconds * 1000, abs=0.001)


def test_items_without_a_duration_are_skipped() -> None:
    assert parse_server_timing("") == {}
    assert parse_server_timing("cache, sync;dur=2.5") == {"sync": 2.5}
