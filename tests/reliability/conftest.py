"""The reliability suite (issue 13) runs only with `make test-reliability`
(WALRUS_RELIABILITY=1): it kills processes, fuzzes every endpoint and takes minutes, so the
default `make test` does not collect it.

Fixture ``scenarios`` (session): the :class:`ScenarioLog` each test adds its counts to; it is
saved to bench/results/reliability.json when the session ends (rendered into
docs/reliability.md by ``python -m tests.reliability.render``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.reliability.scenarios import ScenarioLog

ENABLED = os.environ.get("WALRUS_RELIABILITY") == "1"
collect_ignore_glob = [] if ENABLED else ["test_*.py"]


@pytest.fixture(scope="session")
def scenarios() -> Iterator[ScenarioLog]:
    log = ScenarioLog()
    try:
        yield log
    finally:
        log.save()
