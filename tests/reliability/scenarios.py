"""Scenario bookkeeping for the reliability suite: each test records what it tried (a
category, a scenario name, how many runs, failures and blobs lost) into one JSON file, which
`python -m tests.reliability.render` turns into docs/reliability.md.

Counts come from the run itself: a test calls `record.run(...)` per operation it attempted,
so the table says what really happened, not what was planned.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = Path(
    os.environ.get("WALRUS_RELIABILITY_RESULTS", str(REPO_ROOT / "tests/reliability/results.json"))
)


@dataclass
class Scenario:
    category: str
    name: str
    runs: int = 0
    failures: int = 0
    data_lost: int = 0
    note: str = ""

    def run(self, *, failed: bool = False, lost: int = 0) -> None:
        """Count one attempted operation (and whether it failed / lost blobs)."""
        self.runs += 1
        self.failures += int(failed)
        self.data_lost += lost


class ScenarioLog:
    """All scenarios of one pytest session, written to RESULTS_FILE at its end."""

    def __init__(self) -> None:
        self.scenarios: dict[tuple[str, str], Scenario] = {}

    def scenario(self, category: str, name: str) -> Scenario:
        key = (category, name)
        if key not in self.scenarios:
            self.scenarios[key] = Scenario(category, name)
        return self.scenarios[key]

    def save(self, path: Path = RESULTS_FILE) -> None:
        """Merge into the existing file: running one test file replaces only its rows."""
        rows: dict[tuple[str, str], dict[str, object]] = {}
        if path.exists():
            for row in json.loads(path.read_text()):
                rows[(str(row["category"]), str(row["name"]))] = row
        for key, scenario in self.scenarios.items():
            rows[key] = asdict(scenario)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(sorted(rows.values(), key=_order), indent=1) + "\n")


def _order(row: dict[str, object]) -> tuple[str, str]:
    return (str(row["category"]), str(row["name"]))
