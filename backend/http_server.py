"""waitress as walrus's HTTP services run it (node, publisher/aggregator, key server).

waitress answers some requests itself, before any app sees them: a declared body over
`max_request_body_size` (413), a malformed request line or header (400), headers over
`max_request_header_size` (431), an app that crashed without answering (500). Its own
answers are plain text; here they take the apps' JSON error shape,
``{"error": {"code": ..., "message": ...}}`` with `Content-Type: application/json`, so a
client parses every refusal the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask


def json_error_body(code: str, reason: str, detail: str) -> bytes:
    """The JSON body of an error waitress answers itself."""
    message = f"{reason}: {detail}" if detail else reason
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class JsonErrorTask(ErrorTask):  # type: ignore[misc]  # waitress ships no type hints
    """The code is the reason phrase without spaces ("RequestEntityTooLarge", "BadRequest",
    "RequestHeaderFieldsTooLarge", "InternalServerError": werkzeug's names, which the
    publisher's own refusals use), unless `codes` names it otherwise."""

    codes: ClassVar[Mapping[int, str]] = {}

    def execute(self) -> None:
        error = self.request.error
        code = self.codes.get(error.code, error.reason.replace(" ", ""))
        body = json_error_body(code, error.reason, str(error.body).strip())
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):  # type: ignore[misc]
    error_task_class = JsonErrorTask


def create_json_server(
    app: Any, channel_class: type[HTTPChannel] = JsonErrorChannel, **settings: Any
) -> BaseWSGIServer:
    """waitress's `create_server(app, **settings)` (one listening socket: host and port) with
    its connections served by `channel_class`; call `.run()` to serve."""
    server = create_server(app, **settings)
    if not isinstance(server, BaseWSGIServer):
        raise ValueError("walrus services listen on one socket (host and port), not several")
    server.channel_class = channel_class
    return server


def serve(app: Any, **settings: Any) -> None:
    """Like `waitress.serve(app, **settings)`, with JSON error answers; until interrupted."""
    logging.basicConfig()  # waitress logs what it refuses and app crashes (idempotent)
    server = create_json_server(app, **settings)
    server.print_listen("Serving on http://{}:{}")
    server.run()
