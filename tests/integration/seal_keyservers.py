"""Seal key server processes for tests: `walrus keyserver run` on free ports of 127.0.0.1,
each stopped by its own pid."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from backend.chain.devnet import free_port
from backend.core.routes import KEYSERVER_INFO
from backend.core.seal.envelope import X25519KeyPair
from tests.processes import spawn_logged, stop_by_pid, wait_answering

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
        self.process = spawn_logged(
            [
                *(sys.executable, "-m", "backend.cli.main", "keyserver", "run"),
                *("--key-file", str(self.key_file), "--rpc-url", self.rpc_url),
                *("--port", str(self.port)),
            ],
            self.log_path,
        )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        if self.process is None:
            raise RuntimeError(f"key server on {self.port} was never started")
        name = f"key server on {self.port}"
        wait_answering(self.process, self.url + KEYSERVER_INFO, self.log_path, timeout, name=name)

    def stop(self) -> None:
        stop_by_pid(self.process)

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


@contextmanager
def key_servers_running(
    rpc_url: str, directory: Path, count: int = 3
) -> Iterator[list[KeyServerProcess]]:
    """start_key_servers for the block; every one stopped by its pid at its end."""
    servers = start_key_servers(rpc_url, directory, count)
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()
