"""Seal key server processes for tests: `walrus keyserver run` on free ports of 127.0.0.1,
each stopped by its own pid; and an attacker's key server that records every request."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


@dataclass
class AttackerKeyServer:
    """A key server someone registered to collect shares: it answers /v1/seal/info with its
    own key (so a client that trusts it seals to it) and records every request it gets."""

    key: X25519KeyPair
    url: str
    requests: list[str] = field(default_factory=list)


@contextmanager
def attacker_key_servers(chain_id: int, count: int = 2) -> Iterator[list[AttackerKeyServer]]:
    """``count`` recording key servers on free ports of 127.0.0.1 for the block."""
    servers: list[AttackerKeyServer] = []
    httpds: list[ThreadingHTTPServer] = []
    try:
        for _ in range(count):
            server = AttackerKeyServer(X25519KeyPair.generate(), "")
            httpd = ThreadingHTTPServer(("127.0.0.1", 0), _recording_handler(server, chain_id))
            server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
            threading.Thread(target=httpd.serve_forever, daemon=True).start()
            servers.append(server)
            httpds.append(httpd)
        yield servers
    finally:
        for httpd in httpds:
            httpd.shutdown()
            httpd.server_close()


def _recording_handler(server: AttackerKeyServer, chain_id: int) -> type[BaseHTTPRequestHandler]:
    info = json.dumps({"public_key": server.key.public_key.hex(), "chain_id": chain_id}).encode()

    class Recording(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append(f"GET {self.path}")
            self._answer(200 if self.path == KEYSERVER_INFO else 404, info)

        def do_POST(self) -> None:
            server.requests.append(f"POST {self.path}")
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer(403, b'{"error": {"code": "AccessDenied", "message": "recorded"}}')

        def do_OPTIONS(self) -> None:  # a browser's CORS preflight
            server.requests.append(f"OPTIONS {self.path}")
            self._answer(204, b"")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # recorded in server.requests instead of stderr

    return Recording
