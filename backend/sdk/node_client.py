"""HTTP client of one storage node (DESIGN.md §5 routes) with a timeout and retries."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import SplitResult, unquote, urlsplit

import numpy as np

from backend.chain.rpc import closed_by_peer
from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver, VerifiedSliver
from backend.sdk.errors import NodeRequestFailed

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2
RETRY_DELAY = 0.2
SLOW_NODE_BYTES_PER_SECOND = 2 * 1024 * 1024
"""A PUT's timeout grows by one second per 2 MiB of body (a loaded node verifying it)."""
SLIVER_HEADER_BYTES = len(UnverifiedSliver(SliverKind.PRIMARY, 0, b"").to_bytes())
FILE_PIECE_BYTES = 1 << 20
"""A body part read from a file goes to the socket in pieces of this size."""
ERROR_BODY_BYTES = 64 * 1024
"""An error answer is read up to this size for its message."""
CONNECTIONS_PER_NODE = 16
"""Idle keep-alive connections kept per node (more may be open at once; the extra ones close)."""


@dataclass(frozen=True)
class Confirmation:
    """A node's signed storage confirmation (EIP-2537 G2 signature)."""

    epoch: int
    node_id: int
    signature: bytes


@dataclass(frozen=True)
class FileRange:
    """`length` bytes at `offset` of an open file, read piece by piece as they are sent
    (the file, not the process, holds them: page cache is not the sender's RSS)."""

    file: BinaryIO
    offset: int
    length: int

    def pieces(self) -> Iterator[bytes]:
        done = 0
        while done < self.length:
            want = min(FILE_PIECE_BYTES, self.length - done)
            piece = os.pread(self.file.fileno(), want, self.offset + done)
            if not piece:
                raise OSError(f"spilled slivers end early at byte {self.offset + done}")
            done += len(piece)
            yield piece


class WireBody:
    """A request body sent part by part without joining the parts: a sliver's symbols go
    to the socket straight from the encoder's arrays (no copy) or from a file, with a
    Content-Length. Iterating again (a retry) sends the same bytes again."""

    def __init__(self, *parts: bytes | memoryview | FileRange) -> None:
        self.parts = [
            part if isinstance(part, FileRange) else memoryview(part).cast("B") for part in parts
        ]

    def __len__(self) -> int:
        return sum(
            part.length if isinstance(part, FileRange) else part.nbytes for part in self.parts
        )

    def __iter__(self) -> Iterator[bytes | memoryview]:
        for part in self.parts:
            if isinstance(part, FileRange):
                yield from part.pieces()
            else:
                yield part

    @classmethod
    def of_sliver(cls, sliver: VerifiedSliver) -> WireBody:
        """The sliver's wire form (DESIGN.md §5): the header of an empty sliver of the same
        kind and index, then the symbol bytes."""
        return cls(
            sliver_header(sliver.kind, sliver.index), np.ascontiguousarray(sliver.symbols).data
        )


def sliver_header(kind: SliverKind, index: int) -> bytes:
    """The wire header of sliver (kind, index): the wire form of an empty one."""
    return UnverifiedSliver(kind, index, b"").to_bytes()


class ConnectionPool:
    """Keep-alive `http.client` connections to one node, idle ones kept for reuse.

    Not `requests` (~0.8 ms of client CPU per request with the GIL held, a third of it
    re-reading the proxy environment every call) nor urllib3 (~0.25 ms): http.client costs
    ~0.14 ms, and a small store makes ~60 requests while the client's GIL is the bottleneck
    of its upload phase. The proxy environment (HTTP(S)_PROXY, NO_PROXY) is honoured,
    read once per node."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if self.scheme == "https" else 80)
        self._lock = threading.Lock()
        self._idle: list[http.client.HTTPConnection] = []
        self._context = ssl.create_default_context() if self.scheme == "https" else None
        self._proxy = _environment_proxy(url)
        self._proxy_headers: dict[str, str] = {}
        if self._proxy is not None and self._proxy.username is not None:
            credentials = f"{unquote(self._proxy.username)}:{unquote(self._proxy.password or '')}"
            token = base64.b64encode(credentials.encode()).decode("ascii")
            self._proxy_headers["Proxy-Authorization"] = f"Basic {token}"
        self.prefix = (  # a plain-HTTP proxy takes the absolute URL as the request target
            f"http://{parts.netloc.rpartition('@')[2]}"
            if self._proxy is not None and self.scheme == "http"
            else ""
        )
        self.headers = self._proxy_headers if self.prefix else {}

    def take(self, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """A connection (an idle one the node has not closed, else a new one) and whether
        it was used before."""
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if not closed_by_peer(connection):
                    break
                connection.close()
            else:
                connection = None
        if connection is None:
            return self._connect(timeout), False
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection, True

    def give_back(self, connection: http.client.HTTPConnection) -> None:
        """Keep a connection whose last answer was read to the end."""
        with self._lock:
            if len(self._idle) < CONNECTIONS_PER_NODE:
                self._idle.append(connection)
                return
        connection.close()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        host, port = self.host, self.port
        if self._proxy is not None:
            host, port = self._proxy.hostname or "", self._proxy.port or 80
        connection: http.client.HTTPConnection
        if self.scheme == "https":
            connection = _NoDelayHttps(host, port, timeout=timeout, context=self._context)
            if self._proxy is not None:
                connection.set_tunnel(self.host, self.port, headers=self._proxy_headers)
        else:
            connection = _NoDelayHttp(host, port, timeout=timeout)
        return connection


class _NoDelayHttp(http.client.HTTPConnection):
    """Headers and body go out in separate writes: without TCP_NODELAY the body of a small
    request can wait for the node's delayed ACK (Nagle)."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _NoDelayHttps(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Answer:
    """A node's answer below 300 whose body is still on the connection: `read` it, then
    `release` (the connection is reused only when the body was read to the end)."""

    def __init__(
        self,
        pool: ConnectionPool,
        connection: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
    ) -> None:
        self.status = response.status
        self.length = response.length  # None when the node sent no Content-Length
        self._pool = pool
        self._connection: http.client.HTTPConnection | None = connection
        self._response = response

    def read(self, size: int | None = None) -> bytes:
        return self._response.read(size)

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._response.isclosed() and not self._response.will_close:
            self._pool.give_back(connection)
        else:
            connection.close()


class NodeClient:
    """Requests to one node. Connection errors, timeouts and 5xx answers are retried; other
    answers of 300 and above are final. Every failure raises NodeRequestFailed naming the
    node. Connections are kept alive (`ConnectionPool`)."""

    def __init__(
        self,
        node_id: int,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        self.node_id = node_id
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self._pool = ConnectionPool(self.url)

    @property
    def name(self) -> str:
        return f"node {self.node_id} ({self.url})"

    def _request(self, method: str, path: str, body: bytes | WireBody | None = None) -> Answer:
        """The answer (below 300), its body unread."""
        reason = "no attempt made"
        # the node verifies and fsyncs a body before it answers: allow for its size
        seconds = self.timeout + (0 if body is None else len(body) / SLOW_NODE_BYTES_PER_SECOND)
        headers = dict(self._pool.headers)
        if body is not None:
            headers["Content-Length"] = str(len(body))
        attempt = 0
        while attempt <= self.retries:
            if attempt:
                time.sleep(RETRY_DELAY * attempt)
            attempt += 1
            connection, reused = self._pool.take(seconds)
            try:
                # a WireBody is an iterable of buffers: each goes to the socket as it is
                connection.request(method, self._pool.prefix + path, body=body, headers=headers)
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                if reused and isinstance(error, _STALE_CONNECTION_ERRORS):
                    attempt -= 1  # the node closed an idle connection: not the node's failure
                    continue
                reason = f"{type(error).__name__}: {error}"
                continue
            answer = Answer(self._pool, connection, response)
            if response.status < 300:
                return answer
            try:
                reason = f"HTTP {response.status} {_error_message(answer.read(ERROR_BODY_BYTES))}"
            except (OSError, http.client.HTTPException) as error:
                reason = f"HTTP {response.status} ({type(error).__name__}: {error})"
            finally:
                answer.release()
            if response.status < 500:
                break
        raise NodeRequestFailed(self.name, reason)

    def _content(self, method: str, path: str, body: bytes | WireBody | None = None) -> bytes:
        """The answer's whole body."""
        answer = self._request(method, path, body)
        try:
            return answer.read()
        except (OSError, http.client.HTTPException) as error:
            raise NodeRequestFailed(self.name, f"{type(error).__name__}: {error}") from None
        finally:
            answer.release()

    def _json(self, path: str) -> dict[str, Any]:
        raw = self._content("GET", path)
        try:
            answer = json.loads(raw)
        except ValueError as error:
            raise NodeRequestFailed(self.name, f"malformed JSON answer: {error}") from None
        if not isinstance(answer, dict):
            raise NodeRequestFailed(self.name, "malformed JSON answer: not an object")
        return answer

    def health(self) -> dict[str, Any]:
        return self._json(routes.HEALTH)

    def put_metadata(self, blob_id: BlobId, metadata: bytes) -> None:
        self._content("PUT", routes.metadata_path(blob_id), metadata)

    def get_metadata(self, blob_id: BlobId) -> bytes:
        return self._content("GET", routes.metadata_path(blob_id))

    def put_sliver(
        self, blob_id: BlobId, pair: int, kind: SliverKind, wire: bytes | WireBody
    ) -> None:
        self._content("PUT", routes.sliver_path(blob_id, pair, kind), wire)

    def get_sliver(self, blob_id: BlobId, pair: int, kind: SliverKind) -> bytes:
        return self._content("GET", routes.sliver_path(blob_id, pair, kind))

    def get_unverified_sliver(
        self, blob_id: BlobId, pair: int, kind: SliverKind
    ) -> UnverifiedSliver:
        """The sliver, its symbols read from the socket straight into one bytes object
        (joining received chunks and then slicing the symbols out made a 64 MiB read peak
        at ~6x the blob). InvalidSliver (a CoreError) for a malformed header."""
        answer = self._request("GET", routes.sliver_path(blob_id, pair, kind))
        try:
            length = -1 if answer.length is None else answer.length
            if length < SLIVER_HEADER_BYTES:  # no length given (or too short to be a sliver)
                return UnverifiedSliver.from_bytes(answer.read())
            header = UnverifiedSliver.from_bytes(answer.read(SLIVER_HEADER_BYTES))
            symbols = answer.read(length - SLIVER_HEADER_BYTES)
        except (OSError, http.client.HTTPException) as error:
            raise NodeRequestFailed(self.name, f"{type(error).__name__}: {error}") from None
        finally:
            answer.release()
        if len(symbols) != length - SLIVER_HEADER_BYTES:
            raise NodeRequestFailed(
                self.name,
                f"sliver body ended after {SLIVER_HEADER_BYTES + len(symbols)} of {length} bytes",
            )
        return UnverifiedSliver(header.kind, header.index, symbols)

    def confirmation(self, blob_id: BlobId, *, deletable: bool, token_id: int) -> Confirmation:
        path = routes.confirmation_path(blob_id, deletable=deletable, token_id=token_id)
        body = self._json(path)
        try:
            return Confirmation(
                int(body["epoch"]), int(body["node_id"]), base64.b64decode(body["signature"])
            )
        except (KeyError, TypeError, ValueError) as error:
            raise NodeRequestFailed(self.name, f"malformed confirmation: {error}") from None

    def status(self, blob_id: BlobId) -> dict[str, Any]:
        return self._json(routes.status_path(blob_id))


_STALE_CONNECTION_ERRORS = (
    http.client.RemoteDisconnected,
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
)
"""How sending on a keep-alive connection the node closed meanwhile fails."""


def _environment_proxy(url: str) -> SplitResult | None:
    """The proxy the environment sets for `url` (as `requests` would use), or None."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy is None or urllib.request.proxy_bypass(parts.netloc):
        return None
    return urlsplit(proxy if "://" in proxy else f"http://{proxy}")


def _error_message(body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")
