"""HTTP client of one storage node (DESIGN.md §5 routes) with a timeout and retries."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import numpy as np
import urllib3
from urllib3.exceptions import HTTPError

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


class NodeClient:
    """Requests to one node. Connection errors, timeouts and 5xx answers are retried; other
    answers of 300 and above are final. Every failure raises NodeRequestFailed naming the
    node.

    Plain urllib3 keep-alive pools, not `requests`: a request through `requests` cost
    ~0.8 ms of client CPU (with the GIL held; a third of it re-reading proxy settings from
    the environment on every call), urllib3 ~0.27 ms, and a store makes ~60 of them. The
    proxy environment (HTTP_PROXY, NO_PROXY...) is honoured, read once per node."""

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
        proxy = _environment_proxy(self.url)
        self._http: urllib3.PoolManager = (
            urllib3.PoolManager(maxsize=CONNECTIONS_PER_NODE)
            if proxy is None
            else urllib3.ProxyManager(proxy, maxsize=CONNECTIONS_PER_NODE)
        )

    @property
    def name(self) -> str:
        return f"node {self.node_id} ({self.url})"

    def _request(
        self, method: str, path: str, body: bytes | WireBody | None = None, *, stream: bool = False
    ) -> urllib3.BaseHTTPResponse:
        """The answer (below 300); with `stream` its body is left on the socket for the
        caller, who must `release` the response."""
        reason = "no attempt made"
        # the node verifies and fsyncs a body before it answers: allow for its size
        seconds = self.timeout + (0 if body is None else len(body) / SLOW_NODE_BYTES_PER_SECOND)
        timeout = urllib3.Timeout(connect=seconds, read=seconds)
        headers = None if body is None else {"Content-Length": str(len(body))}
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(RETRY_DELAY * attempt)
            try:
                # a WireBody is an iterable of buffers: urllib3 sends them one by one
                response = self._http.urlopen(
                    method,
                    self.url + path,
                    body=body,
                    headers=headers,
                    timeout=timeout,
                    retries=False,
                    redirect=False,
                    preload_content=not stream,
                )
            except (HTTPError, OSError) as error:
                reason = f"{type(error).__name__}: {error}"
                continue
            if response.status < 300:
                return response
            try:
                reason = f"HTTP {response.status} {_error_message(_body_of(response, stream))}"
            except (HTTPError, OSError) as error:
                reason = f"HTTP {response.status} ({type(error).__name__}: {error})"
            if response.status < 500:
                break
        raise NodeRequestFailed(self.name, reason)

    def _content(self, method: str, path: str, body: bytes | WireBody | None = None) -> bytes:
        """The answer's whole body."""
        return self._request(method, path, body).data

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
        self._request("PUT", routes.metadata_path(blob_id), metadata)

    def get_metadata(self, blob_id: BlobId) -> bytes:
        return self._content("GET", routes.metadata_path(blob_id))

    def put_sliver(
        self, blob_id: BlobId, pair: int, kind: SliverKind, wire: bytes | WireBody
    ) -> None:
        self._request("PUT", routes.sliver_path(blob_id, pair, kind), wire)

    def get_sliver(self, blob_id: BlobId, pair: int, kind: SliverKind) -> bytes:
        return self._content("GET", routes.sliver_path(blob_id, pair, kind))

    def get_unverified_sliver(
        self, blob_id: BlobId, pair: int, kind: SliverKind
    ) -> UnverifiedSliver:
        """The sliver, its symbols read from the socket straight into one bytes object
        (joining received chunks and then slicing the symbols out made a 64 MiB read peak
        at ~6x the blob). InvalidSliver (a CoreError) for a malformed header."""
        response = self._request("GET", routes.sliver_path(blob_id, pair, kind), stream=True)
        complete = False
        try:
            length = int(response.headers.get("Content-Length", -1))
            if length < SLIVER_HEADER_BYTES:  # no length given (or too short to be a sliver)
                wire = response.read()
                complete = True
                return UnverifiedSliver.from_bytes(wire)
            header = UnverifiedSliver.from_bytes(response.read(SLIVER_HEADER_BYTES))
            symbols = response.read(length - SLIVER_HEADER_BYTES)
            complete = len(symbols) == length - SLIVER_HEADER_BYTES
        except (HTTPError, OSError) as error:
            raise NodeRequestFailed(self.name, f"{type(error).__name__}: {error}") from None
        finally:
            if not complete:  # never hand a half-read connection back to the pool
                response.close()
            response.release_conn()
        if not complete:
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


def _environment_proxy(url: str) -> str | None:
    """The proxy the environment sets for `url` (as `requests` would use), or None."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy is None or urllib.request.proxy_bypass(parts.netloc):
        return None
    return proxy


def _body_of(response: urllib3.BaseHTTPResponse, stream: bool) -> bytes:
    """An error answer's body (a streamed one: its first ERROR_BODY_BYTES, then the
    connection is closed rather than reused)."""
    if not stream:
        return response.data
    try:
        return response.read(ERROR_BODY_BYTES)
    finally:
        response.close()
        response.release_conn()


def _error_message(body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", "replace")
