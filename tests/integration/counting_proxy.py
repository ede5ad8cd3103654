"""A byte-counting HTTP proxy in front of storage nodes (127.0.0.1 only, GET only).

Publish ``proxy.url_for(i)`` as node i's URL on chain, and every request other nodes make to
it passes through here: ``bytes_served`` counts the response bodies (what the requester
downloaded), per node and in total. Used to measure recovery bandwidth of a real node.
"""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class CountingProxy:
    def __init__(self, targets: list[str]) -> None:
        self.targets = [target.rstrip("/") for target in targets]
        self.bytes_served: Counter[int] = Counter()
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                _, index, rest = self.path.split("/", 2)
                upstream = requests.get(f"{proxy.targets[int(index)]}/{rest}", timeout=60)
                body = upstream.content
                with proxy._lock:
                    proxy.bytes_served[int(index)] += len(body)
                    proxy.requests[rest.split("/")[3] if rest.count("/") >= 3 else rest] += 1
                self.send_response(upstream.status_code)
                self.send_header("Content-Type", upstream.headers.get("Content-Type", ""))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url_for(self, index: int) -> str:
        return f"http://127.0.0.1:{self.port}/{index}"

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.bytes_served.values())

    def reset(self) -> None:
        with self._lock:
            self.bytes_served.clear()
            self.requests.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
