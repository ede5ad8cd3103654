"""NodeClient against a real local HTTP server: what reaches the socket, which failures are
retried, what the error names, and that a broken answer never poisons the next request."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver
from backend.sdk.errors import NodeRequestFailed
from backend.sdk.node_client import NodeClient, WireBody, sliver_header

BLOB = BlobId(bytes(range(32)))


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeNode:
    """Answers every request with `answer(request)` -> (status, body, declared length)."""

    answer: Callable[[Seen], tuple[int, bytes, int | None]]
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    close_after_answer: bool = False
    """Close the connection after each answer (as a node's idle timeout would)."""


@pytest.fixture
def fake_node() -> Iterator[FakeNode]:
    node = FakeNode(lambda seen: (200, b"{}", None))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like waitress

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            seen = Seen(
                self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
            )
            node.seen.append(seen)
            status, body, declared = node.answer(seen)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body) if declared is None else declared))
            self.end_headers()
            self.wfile.write(body)
            if node.close_after_answer or (declared is not None and declared != len(body)):
                self.close_connection = True

        do_GET = do_PUT = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    node.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield node
    finally:
        server.shutdown()
        server.server_close()


def client_of(node: FakeNode, retries: int = 2) -> NodeClient:
    return NodeClient(7, node.url, timeout=5.0, retries=retries)


def test_a_wire_body_arrives_whole_with_its_length(fake_node: FakeNode) -> None:
    symbols = bytes(range(256)) * 40
    body = WireBody(sliver_header(SliverKind.SECONDARY, 3), memoryview(symbols))
    client_of(fake_node).put_sliver(BLOB, 3, SliverKind.SECONDARY, body)
    (seen,) = fake_node.seen
    assert seen.method == "PUT"
    assert seen.path == routes.sliver_path(BLOB, 3, SliverKind.SECONDARY)
    assert seen.headers["Content-Length"] == str(len(body))
    assert "Transfer-Encoding" not in seen.headers
    assert UnverifiedSliver.from_bytes(seen.body) == UnverifiedSliver(
        SliverKind.SECONDARY, 3, symbols
    )


def test_a_4xx_answer_is_final_and_names_the_nodes_error(fake_node: FakeNode) -> None:
    error = {"error": {"code": "MetadataNotFound", "message": "no metadata stored"}}
    fake_node.answer = lambda seen: (404, json.dumps(error).encode(), None)
    with pytest.raises(NodeRequestFailed) as failed:
        client_of(fake_node).get_metadata(BLOB)
    assert str(failed.value) == (
        f"node 7 ({fake_node.url}): HTTP 404 MetadataNotFound: no metadata stored"
    )
    assert len(fake_node.seen) == 1


def test_a_5xx_answer_is_retried_then_reported(fake_node: FakeNode) -> None:
    fake_node.answer = lambda seen: (503, b"busy", None)
    with pytest.raises(NodeRequestFailed) as failed:
        client_of(fake_node, retries=2).put_metadata(BLOB, b"metadata")
    assert failed.value.reason == "HTTP 503 busy"
    assert [seen.body for seen in fake_node.seen] == [b"metadata"] * 3


def test_a_node_that_recovers_within_the_retries_answers(fake_node: FakeNode) -> None:
    fake_node.answer = lambda seen: (
        (500, b"", None) if len(fake_node.seen) == 1 else (200, b"{}", None)
    )
    assert client_of(fake_node).status(BLOB) == {}
    assert len(fake_node.seen) == 2


def test_an_unreachable_node_is_named() -> None:
    with pytest.raises(NodeRequestFailed) as failed:
        NodeClient(3, "http://127.0.0.1:1", timeout=1.0, retries=1).health()
    assert failed.value.node == "node 3 (http://127.0.0.1:1)"
    assert failed.value.reason.startswith("ConnectionRefusedError")


def test_a_truncated_sliver_fails_and_the_next_request_still_works(
    fake_node: FakeNode,
) -> None:
    wire = UnverifiedSliver(SliverKind.PRIMARY, 2, b"s" * 5000).to_bytes()
    fake_node.answer = lambda seen: (200, wire[:3000], len(wire))
    client = client_of(fake_node, retries=0)
    with pytest.raises(NodeRequestFailed) as failed:
        client.get_unverified_sliver(BLOB, 2, SliverKind.PRIMARY)
    assert f"ended after 3000 of {len(wire)} bytes" in failed.value.reason
    assert failed.value.node == f"node 7 ({fake_node.url})"
    fake_node.answer = lambda seen: (200, wire, None)
    sliver = client.get_unverified_sliver(BLOB, 2, SliverKind.PRIMARY)
    assert sliver == UnverifiedSliver(SliverKind.PRIMARY, 2, b"s" * 5000)
    assert client.get_unverified_sliver(BLOB, 2, SliverKind.PRIMARY) == sliver  # kept alive


def test_a_malformed_json_answer_is_named(fake_node: FakeNode) -> None:
    fake_node.answer = lambda seen: (200, b"<html>", None)
    with pytest.raises(NodeRequestFailed, match="malformed JSON answer"):
        client_of(fake_node).health()


def test_the_proxy_environment_is_honoured(
    fake_node: FakeNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", fake_node.url)  # the fake node plays the proxy
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    NodeClient(5, "http://storage-node.invalid:9000").health()
    assert fake_node.seen[0].path == "http://storage-node.invalid:9000" + routes.HEALTH
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    fake_node.seen.clear()
    NodeClient(5, fake_node.url).health()
    assert fake_node.seen[0].path == routes.HEALTH


def test_a_connection_the_node_closed_is_not_counted_as_a_failure(fake_node: FakeNode) -> None:
    fake_node.close_after_answer = True
    client = client_of(fake_node, retries=0)
    for _ in range(3):
        assert client.health() == {}
    assert len(fake_node.seen) == 3
