"""Seal key server processes for tests: `walrus keyserver run` on free ports of 127.0.0.1,
each stopped by its own pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from backend.chain.devnet import free_port
from backend.core.routes import KEYSERVER_INFO
from backend.core.seal.envelope import X25519KeyPair

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0


@dataclass
class KeyServerProcess:
    key: X25519KeyPair
    key_file: Path
    rpc_url: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> None:
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "backend.cli.main", "keyserver", "run"),
                *("--key-file", str(self.key_file), "--rpc-url", self.rpc_url),
                *("--port", str(self.port)),
            ],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"key server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if requests.get(self.url + KEYSERVER_INFO, timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"key server on {self.port} not serving after {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def start_key_servers(rpc_url: str, directory: Path, count: int = 3) -> list[KeyServerProcess]:
    servers = []
    try:
        for index in range(count):
            key = X25519KeyPair.generate()
            key_file = directory / f"keyserver-{index}.key"
            key_file.write_text(key.private_key.hex())
            server = KeyServerProcess(
                key, key_file, rpc_url, free_port(), directory / f"keyserver-{index}.log"
            )
            server.spawn()
            servers.append(server)
        for server in servers:
            server.wait_ready()
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers
