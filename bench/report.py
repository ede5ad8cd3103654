"""The JSON-lines report every bench writes (not a bench itself: `make bench` skips it).

Each row is printed as one JSON line the moment it is measured, with the machine context
added (`host`, `cpus`, `time` of the run's start, and `load_average_1m` when the row was
emitted; a row's own keys win). The rows are appended to bench/results/<name>.jsonl
when the run ends without an error, or, with ``incremental=True`` (long benches whose
partial results are worth keeping), as each row is emitted; ``save=False`` (`--no-save`)
writes nothing and ``overwrite=True`` replaces the file instead of appending to it.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine_context() -> dict[str, object]:
    """Where and when the run happened (merged into every row)."""
    return {"host": platform.node(), "cpus": os.cpu_count(), "time": int(time.time())}


class Report:
    """Rows of one bench run; see the module docstring for when they reach the file."""

    def __init__(
        self,
        path: Path,
        *,
        save: bool = True,
        incremental: bool = False,
        overwrite: bool = False,
        echo: bool = True,
    ) -> None:
        self.path = path
        self.save = save
        self.incremental = incremental
        self.mode = "w" if overwrite else "a"
        self.echo = echo
        self.context = machine_context()
        self.lines: list[str] = []
        self._file: IO[str] | None = None

    def emit(self, row: Mapping[str, object]) -> None:
        line = json.dumps({"load_average_1m": round(os.getloadavg()[0], 2), **self.context, **row})
        if self.echo:
            print(line, flush=True)
        self.lines.append(line)
        if self.save and self.incremental:
            self._open().write(line + "\n")
            self._open().flush()

    def close(self, *, completed: bool) -> None:
        """Write what is still to write: every row if the run `completed` (and is not
        incremental, whose rows are written already)."""
        if completed and self.save and self.lines and not self.incremental:
            self._open().write("\n".join(self.lines) + "\n")
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self) -> IO[str]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = opened = self.path.open(self.mode)
            return opened
        return self._file


@contextmanager
def bench_report(
    name: str,
    *,
    save: bool = True,
    incremental: bool = False,
    overwrite: bool = False,
    echo: bool = True,
) -> Iterator[Report]:
    """A Report on bench/results/<name>.jsonl for the block (written as the docstring says)."""
    report = Report(
        RESULTS_DIR / f"{name}.jsonl",
        save=save,
        incremental=incremental,
        overwrite=overwrite,
        echo=echo,
    )
    completed = False
    try:
        yield report
        completed = True
    finally:
        report.close(completed=completed)
