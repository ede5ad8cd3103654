"""Child processes the tests start (storage nodes, key servers, `walrus serve`): output
appended to a log file, waited for until they answer over HTTP, stopped by their own pid:
SIGTERM, SIGKILL after 10 s. Never by name: other engineers run the same programs on this
machine."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]


def spawn_logged(
    command: list[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`command` started in the repository root, stdout and stderr appended to `log_path`."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def wait_answering(
    process: subprocess.Popen[bytes],
    url: str,
    log_path: Path,
    timeout: float,
    *,
    name: str,
    need_ok: bool = True,
    poll_seconds: float = 0.1,
    error: type[Exception] = RuntimeError,
) -> None:
    """Until GET `url` answers (with a 2xx/3xx when `need_ok`); `error` naming `name` (with
    the log's tail) if the process exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise error(f"{name} exited: {log_tail(log_path)}")
        try:
            if requests.get(url, timeout=2).ok or not need_ok:
                return
        except requests.RequestException:
            pass
        time.sleep(poll_seconds)
    raise error(f"{name} not serving after {timeout}s")


def log_tail(log_path: Path, characters: int = 2000) -> str:
    try:
        return log_path.read_text(errors="replace")[-characters:]
    except OSError:
        return "(no log)"


def stop_by_pid(process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM to the process's own pid, SIGKILL if it has not exited `timeout` s later."""
    if process is None or process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        kill_by_pid(process)


def kill_by_pid(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL to the process's own pid (no chance to clean up), then reap it."""
    if process is None or process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
