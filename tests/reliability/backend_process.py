"""`walrus serve` as a subprocess on a free port of 127.0.0.1: started, SIGKILLed and stopped
by its own pid (the reliability tests kill it mid-upload and start it again)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from backend.chain.devnet import free_port
from tests.processes import spawn_logged, stop_by_pid, wait_answering


class BackendProcess:
    def __init__(self, env: dict[str, str], log_path: Path, data_dir: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        command = [sys.executable, "-m", "backend.cli.main", "serve", "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir)]
        self.process = spawn_logged(command, self.log_path, self.env)
        wait_answering(
            self.process,
            self.url + "/v1/api",
            self.log_path,
            timeout,
            name="walrus serve",
            need_ok=False,
            poll_seconds=0.2,
        )

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()

    def kill(self) -> None:
        """SIGKILL by pid: no cleanup, as a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        stop_by_pid(self.process)
