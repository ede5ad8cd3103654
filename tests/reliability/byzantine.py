"""A lying storage node for the Byzantine tests (issue 13): an HTTP proxy in front of one real
node process, published on chain as that node's URL, which alters the node's answers.

The product has no "lie" mode: the lies are made here, test-side. Modes:

- ``HONEST``: every request is passed through unchanged.
- ``FLIP_BITS``: slivers are served with one bit flipped in their symbols.
- ``OTHER_PAIR``: a sliver request is answered with another pair's sliver of the same blob
  (one the node really stores), relabelled with the requested index.
- ``OTHER_BLOB``: a sliver request is answered with a sliver of the decoy blob, relabelled.
- ``STALE_METADATA``: metadata requests are answered with the decoy blob's (valid) metadata.
- ``CORRUPT_METADATA``: metadata is served with one bit flipped.
- ``LAZY``: metadata and sliver uploads are answered ``201 stored`` and dropped; a storage
  confirmation is signed with the node's own BLS key (``signer``) without holding anything.
  The real node process is expected to be stopped meanwhile (otherwise its recovery would
  fetch the slivers and make it honest again).

``lies`` counts the altered answers per mode: a read that returns the right bytes while
``lies`` grew shows that the reader rejected them.
"""

from __future__ import annotations

import enum
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.pairs import secondary_index_of_pair
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver

SLIVER_PATH = re.compile(r"^/v1/blobs/([^/]+)/slivers/(\d+)/(primary|secondary)$")
METADATA_PATH = re.compile(r"^/v1/blobs/([^/]+)/metadata$")
CONFIRMATION_PATH = re.compile(r"^/v1/blobs/([^/?]+)/confirmation(?:\?(.*))?$")

ConfirmationSigner = Callable[[BlobId, bool, int], dict[str, object]]
"""(blob id, deletable, token id) -> the node's confirmation JSON (epoch, node_id, signature)."""


class Mode(enum.Enum):
    HONEST = "honest"
    FLIP_BITS = "flip_bits"
    OTHER_PAIR = "other_pair"
    OTHER_BLOB = "other_blob"
    STALE_METADATA = "stale_metadata"
    CORRUPT_METADATA = "corrupt_metadata"
    LAZY = "lazy"


def flip_last_bit(body: bytes) -> bytes:
    return body[:-1] + bytes([body[-1] ^ 0x01]) if body else body


class ByzantineProxy:
    """Listens on a free port of 127.0.0.1 and forwards to `target` (the real node)."""

    def __init__(self, target: str, n_shards: int) -> None:
        self.target = target.rstrip("/")
        self.n_shards = n_shards
        self.mode = Mode.HONEST
        self.decoy: BlobId | None = None
        self.signer: ConfirmationSigner | None = None
        self.lies: Counter[Mode] = Counter()
        self.dropped_uploads = 0
        self.requests_seen = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy._answer(self, "GET", b"")

            def do_PUT(self) -> None:
                proxy._answer(self, "PUT", self._body())

            def do_POST(self) -> None:
                proxy._answer(self, "POST", self._body())

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def lie_count(self, mode: Mode) -> int:
        with self._lock:
            return self.lies[mode]

    # ------------------------------------------------------------ answers

    def _answer(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        try:
            status, content_type, payload = self._respond(method, handler.path, body)
        except requests.RequestException as error:
            status, content_type = 503, "application/json"
            payload = json.dumps({"error": "Unavailable", "message": str(error)}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _respond(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        mode = self.mode
        with self._lock:
            self.requests_seen += 1
        if mode is Mode.LAZY:
            lazy = self._lazy(method, path)
            if lazy is not None:
                return lazy
        if method == "GET" and mode is not Mode.HONEST:
            sliver = SLIVER_PATH.match(path)
            if sliver is not None and mode in (Mode.FLIP_BITS, Mode.OTHER_PAIR, Mode.OTHER_BLOB):
                lie = self._lying_sliver(mode, *sliver.groups())
                if lie is not None:
                    self._count(mode)
                    return 200, "application/octet-stream", lie
            metadata = METADATA_PATH.match(path)
            if metadata is not None and mode in (Mode.STALE_METADATA, Mode.CORRUPT_METADATA):
                lie = self._lying_metadata(mode, metadata.group(1))
                if lie is not None:
                    self._count(mode)
                    return 200, "application/octet-stream", lie
        return self._forward(method, path, body)

    def _forward(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        upstream = requests.request(method, self.target + path, data=body or None, timeout=30)
        content_type = upstream.headers.get("Content-Type", "application/octet-stream")
        return upstream.status_code, content_type, upstream.content

    def _upstream(self, path: str) -> bytes | None:
        answer = requests.get(self.target + path, timeout=30)
        return answer.content if answer.status_code == 200 else None

    def _count(self, mode: Mode) -> None:
        with self._lock:
            self.lies[mode] += 1

    def _lying_sliver(
        self, mode: Mode, blob_text: str, pair_text: str, kind_name: str
    ) -> bytes | None:
        """The lie for a sliver request, or None when there is nothing to lie with."""
        blob = BlobId.from_base64(blob_text)
        pair, kind = int(pair_text), routes.SLIVER_KIND_NAMES[kind_name]
        if mode is Mode.FLIP_BITS:
            honest = self._upstream(routes.sliver_path(blob, pair, kind))
            return None if honest is None else flip_last_bit(honest)
        index = pair if kind is SliverKind.PRIMARY else secondary_index_of_pair(pair, self.n_shards)
        source = blob if mode is Mode.OTHER_PAIR else self.decoy
        if source is None:
            return None
        for other in range(self.n_shards):
            if source == blob and other == pair:
                continue
            wire = self._upstream(routes.sliver_path(source, other, kind))
            if wire is not None:
                stolen = UnverifiedSliver.from_bytes(wire)
                return UnverifiedSliver(kind, index, stolen.data).to_bytes()
        return None

    def _lying_metadata(self, mode: Mode, blob_text: str) -> bytes | None:
        if mode is Mode.CORRUPT_METADATA:
            honest = self._upstream(routes.metadata_path(BlobId.from_base64(blob_text)))
            return None if honest is None else flip_last_bit(honest)
        if self.decoy is None:
            return None
        return self._upstream(routes.metadata_path(self.decoy))

    def _lazy(self, method: str, path: str) -> tuple[int, str, bytes] | None:
        """Uploads are dropped, confirmations signed; other requests fall through."""
        json_type = "application/json"
        if method == "PUT" and (SLIVER_PATH.match(path) or METADATA_PATH.match(path)):
            with self._lock:
                self.dropped_uploads += 1
            self._count(Mode.LAZY)
            return 201, json_type, json.dumps({"stored": True}).encode()
        confirmation = CONFIRMATION_PATH.match(path)
        if method == "GET" and confirmation is not None and self.signer is not None:
            blob = BlobId.from_base64(confirmation.group(1))
            query = dict(
                part.split("=", 1) for part in (confirmation.group(2) or "").split("&") if part
            )
            deletable = query.get("deletable") == "true"
            signed = self.signer(blob, deletable, int(query.get("token_id", "0")))
            self._count(Mode.LAZY)
            return 200, json_type, json.dumps(signed).encode()
        return None
