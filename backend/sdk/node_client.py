"""HTTP client of one storage node (DESIGN.md §5 routes) with a timeout and retries."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

import numpy as np
import requests
import urllib3

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
    """Requests to one node. Connection errors, timeouts and 5xx answers are retried; 4xx
    answers are final. Every failure raises NodeRequestFailed naming the node."""

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
        self._session = requests.Session()

    @property
    def name(self) -> str:
        return f"node {self.node_id} ({self.url})"

    def _request(
        self, method: str, path: str, body: bytes | WireBody | None = None, *, stream: bool = False
    ) -> requests.Response:
        reason = "no attempt made"
        # the node verifies and fsyncs a body before it answers: allow for its size
        timeout = self.timeout + (0 if body is None else len(body) / SLOW_NODE_BYTES_PER_SECOND)
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(RETRY_DELAY * attempt)
            try:
                # a WireBody is an iterable of buffers with a length: requests streams it
                response = self._session.request(
                    method, self.url + path, data=cast(Any, body), timeout=timeout, stream=stream
                )
            except requests.RequestException as error:
                reason = f"{type(error).__name__}: {error}"
                continue
            if response.status_code < 400:
                return response
            reason = f"HTTP {response.status_code} {_error_message(response)}"
            if response.status_code < 500:
                break
        raise NodeRequestFailed(self.name, reason)

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = self._request("GET", routes.HEALTH).json()
        return body

    def put_metadata(self, blob_id: BlobId, metadata: bytes) -> None:
        self._request("PUT", routes.metadata_path(blob_id), metadata)

    def get_metadata(self, blob_id: BlobId) -> bytes:
        return self._request("GET", routes.metadata_path(blob_id)).content

    def put_sliver(
        self, blob_id: BlobId, pair: int, kind: SliverKind, wire: bytes | WireBody
    ) -> None:
        self._request("PUT", routes.sliver_path(blob_id, pair, kind), wire)

    def get_sliver(self, blob_id: BlobId, pair: int, kind: SliverKind) -> bytes:
        return self._request("GET", routes.sliver_path(blob_id, pair, kind)).content

    def get_unverified_sliver(
        self, blob_id: BlobId, pair: int, kind: SliverKind
    ) -> UnverifiedSliver:
        """The sliver, its symbols read from the socket straight into one bytes object:
        `response.content` joins the received chunks and parsing copies the symbols out
        again, which made a 64 MiB read peak at ~6x the blob. InvalidSliver (a CoreError)
        for a malformed header."""
        response = self._request("GET", routes.sliver_path(blob_id, pair, kind), stream=True)
        try:
            length = int(response.headers.get("Content-Length", -1))
            if length < SLIVER_HEADER_BYTES:  # no length given (or too short to be a sliver)
                return UnverifiedSliver.from_bytes(response.content)
            header = UnverifiedSliver.from_bytes(response.raw.read(SLIVER_HEADER_BYTES))
            symbols = response.raw.read(length - SLIVER_HEADER_BYTES)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            raise NodeRequestFailed(self.name, f"{type(error).__name__}: {error}") from None
        finally:
            response.close()
        if len(symbols) != length - SLIVER_HEADER_BYTES:
            raise NodeRequestFailed(
                self.name,
                f"sliver body ended after {SLIVER_HEADER_BYTES + len(symbols)} of {length} bytes",
            )
        return UnverifiedSliver(header.kind, header.index, symbols)

    def confirmation(self, blob_id: BlobId, *, deletable: bool, token_id: int) -> Confirmation:
        path = routes.confirmation_path(blob_id, deletable=deletable, token_id=token_id)
        body = self._request("GET", path).json()
        try:
            return Confirmation(
                int(body["epoch"]), int(body["node_id"]), base64.b64decode(body["signature"])
            )
        except (KeyError, TypeError, ValueError) as error:
            raise NodeRequestFailed(self.name, f"malformed confirmation: {error}") from None

    def status(self, blob_id: BlobId) -> dict[str, Any]:
        body: dict[str, Any] = self._request("GET", routes.status_path(blob_id)).json()
        return body


def _error_message(response: requests.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return response.text[:200]
