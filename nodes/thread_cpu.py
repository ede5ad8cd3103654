"""CPU seconds this process's threads have used, by role (Linux /proc/self/task).

A finished thread's time is no longer listed, so a role's total can drop when one of its
threads ends; the long-lived roles (HTTP workers, I/O loop, follower) do not end."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

_TASKS = Path("/proc/self/task")
_ROLE_OF_NAME = re.compile(r"^(waitress|recovery|inconsistency)")


def role(thread_name: str) -> str:
    """`waitress-3` -> `waitress`; `MainThread` (waitress's socket loop) -> `io_loop`."""
    if thread_name == "MainThread":
        return "io_loop"
    found = _ROLE_OF_NAME.match(thread_name)
    return found.group(1) if found else thread_name


def cpu_seconds_by_role() -> dict[str, float]:
    """utime + stime per thread role; empty where /proc is not available."""
    ticks = os.sysconf("SC_CLK_TCK")
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    totals: dict[str, float] = {}
    try:
        tasks = list(_TASKS.iterdir())
    except OSError:
        return totals
    for task in tasks:
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        name = role(names.get(int(task.name), "other"))
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return totals
