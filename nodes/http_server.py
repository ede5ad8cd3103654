"""The node's waitress server: JSON error answers (backend/http_server.py), and request
bodies received into a buffer grown by doubling.

waitress keeps a body in a `BytesIO` that grows by 1/8 at a time (CPython's policy), so a
1 MiB sliver arriving in 64-256 KiB reads is copied again at nearly every read: ~6 % of a
node's CPU under concurrent sliver PUTs went to those reallocations (perf), on waitress's
one I/O thread, holding the GIL. Here a body with a Content-Length starts in a buffer of
up to `FIRST_CAPACITY` bytes and doubles (capped at its length), so a 1 MiB sliver is never
copied and a 16 MiB one at most once over. The buffer never grows beyond twice what the
client has sent: announcing a large body costs the node nothing until its bytes arrive.
The app still sees a `BytesIO` holding exactly the body (nodes/app.py borrows it).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, ClassVar

from waitress.parser import HTTPRequestParser
from waitress.receiver import FixedStreamReceiver
from waitress.server import BaseWSGIServer

from backend.http_server import JsonErrorChannel, JsonErrorTask, create_json_server

FIRST_CAPACITY = 1 << 20


class GrowingBody:
    """A body of a known length, in one `BytesIO` (the part of waitress's buffer interface
    that a `FixedStreamReceiver` and the parser use)."""

    def __init__(self, length: int) -> None:
        self._length = length
        self._file = io.BytesIO()
        self._capacity = 0
        self._received = 0
        self._grow_to(min(length, FIRST_CAPACITY))

    def _grow_to(self, capacity: int) -> None:
        # Writing past the end sizes the BytesIO in one step (zero-filled up to there);
        # the bytes up to `capacity` are overwritten as they arrive.
        if capacity > self._capacity:
            self._file.seek(capacity - 1)
            self._file.write(b"\0")
            self._capacity = capacity

    def append(self, data: bytes) -> None:
        end = self._received + len(data)
        if end > self._capacity:
            self._grow_to(min(self._length, max(end, 2 * self._capacity)))
        self._file.seek(self._received)
        self._file.write(data)
        self._received = end
        self._file.seek(0)

    def __len__(self) -> int:
        return self._received

    def __bool__(self) -> bool:
        return True

    def getfile(self) -> io.BytesIO:
        """The body (read from the start). Once the receiver is done it holds exactly the
        body: the receiver stops at `length`, which the capacity never exceeds."""
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        self._file.close()


class _Parser(HTTPRequestParser):  # type: ignore[misc]  # waitress ships no type hints
    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        receiver = getattr(self, "body_rcv", None)
        # bodies waitress would put in a temp file, or refuses (413), keep waitress's buffer
        limit = min(self.adj.inbuf_overflow, self.adj.max_request_body_size)
        if isinstance(receiver, FixedStreamReceiver) and self.content_length <= limit:
            self.body_rcv = FixedStreamReceiver(
                self.content_length, GrowingBody(self.content_length)
            )


class _ErrorTask(JsonErrorTask):
    codes: ClassVar[Mapping[int, str]] = {413: "PayloadTooLarge"}  # as the node's own 413s


class _Channel(JsonErrorChannel):
    parser_class = _Parser
    error_task_class = _ErrorTask


def create_node_server(app: Any, **settings: Any) -> BaseWSGIServer:
    """`backend.http_server.create_json_server` (JSON error answers), its requests' bodies
    received into `GrowingBody`."""
    return create_json_server(app, channel_class=_Channel, **settings)
