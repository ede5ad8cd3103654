"""Storage node HTTP API against real node processes and a real chain."""

from __future__ import annotations

import base64
import json
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.bls import BlsSignature, verify
from backend.core.intents import blob_certification_message
from backend.core.sliver_kind import SliverKind
from nodes.chain_view import certified_until
from tests.integration.network import Network


def _error(response: requests.Response) -> str:
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    return str(response.json()["error"]["code"])


def _verify_confirmation(
    network: Network, blob_id: BlobId, node_index: int, body: dict[str, Any]
) -> None:
    message = blob_certification_message(
        network.env.chain.chain_id,
        network.env.registry.address,
        body["epoch"],
        blob_id.raw,
        False,
        0,
    )
    signature = BlsSignature.from_eip2537(base64.b64decode(body["signature"]))
    public_key = network.env.keys[node_index].public_key()
    assert verify(public_key, message, signature)


def test_health_reports_the_node_and_its_shards(network: Network) -> None:
    assignment = network.env.staking.shard_assignment()
    for node in network.nodes:
        body = requests.get(node.url + routes.HEALTH).json()
        assert body["node_id"] == node.node_id
        assert body["shards"] == [s for s, owner in enumerate(assignment) if owner == node.node_id]


def test_written_blob_is_confirmed_with_a_valid_bls_signature(network: Network) -> None:
    encoded, _ = network.register(os.urandom(3000))
    network.upload(encoded)
    for node in network.nodes:
        response = requests.get(node.url + routes.confirmation_path(encoded.blob_id))
        assert response.status_code == 200, response.text
        _verify_confirmation(network, encoded.blob_id, node.index, response.json())
    primary, _ = encoded.sliver_pair(0)
    owner = network.owner_of_pair(encoded, 0)
    got = requests.get(owner.url + routes.sliver_path(encoded.blob_id, 0, SliverKind.PRIMARY))
    assert got.content == primary.to_bytes()
    assert got.headers["Content-Length"] == str(len(primary.to_bytes()))  # not chunked


def test_metadata_for_an_unregistered_blob_is_refused(network: Network) -> None:
    from backend.core.encoder import encode_blob

    encoded = encode_blob(os.urandom(1000), network.n_shards)
    node = network.nodes[0]
    response = requests.put(
        node.url + routes.metadata_path(encoded.blob_id), data=encoded.metadata.to_bytes()
    )
    assert response.status_code == 403
    assert _error(response) == "BlobNotRegistered"


def test_tampered_sliver_is_refused_and_not_stored(network: Network) -> None:
    encoded, _ = network.register(os.urandom(2000))
    node = network.owner_of_pair(encoded, 1)
    requests.put(node.url + routes.metadata_path(encoded.blob_id), data=encoded.metadata.to_bytes())
    primary, _ = encoded.sliver_pair(1)
    wire = bytearray(primary.to_bytes())
    wire[-1] ^= 0x01
    path = routes.sliver_path(encoded.blob_id, 1, SliverKind.PRIMARY)
    response = requests.put(node.url + path, data=bytes(wire))
    assert response.status_code == 400
    assert _error(response) == "SliverHashMismatch"
    assert requests.get(node.url + path).status_code == 404
    confirmation = requests.get(node.url + routes.confirmation_path(encoded.blob_id))
    assert confirmation.status_code == 409
    assert _error(confirmation) == "SliversMissing"


def test_sliver_for_a_shard_the_node_does_not_hold_is_refused(network: Network) -> None:
    encoded, _ = network.register(os.urandom(1500))
    owner = network.owner_of_pair(encoded, 2)
    other = next(node for node in network.nodes if node is not owner)
    primary, _ = encoded.sliver_pair(2)
    path = routes.sliver_path(encoded.blob_id, 2, SliverKind.PRIMARY)
    response = requests.put(other.url + path, data=primary.to_bytes())
    assert response.status_code == 403
    assert _error(response) == "WrongShard"


def test_oversized_sliver_gets_413_json(network: Network) -> None:
    encoded, _ = network.register(os.urandom(1200))
    node = network.owner_of_pair(encoded, 0)
    requests.put(node.url + routes.metadata_path(encoded.blob_id), data=encoded.metadata.to_bytes())
    primary, _ = encoded.sliver_pair(0)
    path = routes.sliver_path(encoded.blob_id, 0, SliverKind.PRIMARY)
    response = requests.put(node.url + path, data=primary.to_bytes() + b"\0" * 10_000)
    assert response.status_code == 413
    assert _error(response) == "PayloadTooLarge"


def _chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    """A generator body: requests sends it with Transfer-Encoding: chunked, no length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_chunked_sliver_without_content_length_is_streamed_and_stored(network: Network) -> None:
    encoded, _ = network.register(os.urandom(50_000))
    node = network.owner_of_pair(encoded, 1)
    requests.put(node.url + routes.metadata_path(encoded.blob_id), data=encoded.metadata.to_bytes())
    primary, _ = encoded.sliver_pair(1)
    path = routes.sliver_path(encoded.blob_id, 1, SliverKind.PRIMARY)
    response = requests.put(node.url + path, data=_chunks(primary.to_bytes()))
    assert response.status_code == 201, response.text
    assert requests.get(node.url + path).content == primary.to_bytes()


def test_chunked_body_longer_than_the_sliver_gets_413(network: Network) -> None:
    encoded, _ = network.register(os.urandom(50_000))
    node = network.owner_of_pair(encoded, 1)
    requests.put(node.url + routes.metadata_path(encoded.blob_id), data=encoded.metadata.to_bytes())
    primary, _ = encoded.sliver_pair(1)
    path = routes.sliver_path(encoded.blob_id, 1, SliverKind.PRIMARY)
    response = requests.put(node.url + path, data=_chunks(primary.to_bytes() + b"\0"))
    assert response.status_code == 413
    assert _error(response) == "PayloadTooLarge"
    assert requests.get(node.url + path).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/v1/blobs/not-a-blob-id/metadata", None, 400, "InvalidBlobId"),
        ("PUT", "/v1/blobs/" + "A" * 43 + "/slivers/0/tertiary", b"x", 400, "InvalidSliverKind"),
        ("GET", "/v1/blobs/" + "A" * 43 + "/slivers/99/primary", None, 400, "InvalidPairIndex"),
        ("GET", "/v1/blobs/" + "A" * 43 + "/metadata", None, 404, "MetadataNotFound"),
        ("GET", "/v1/nothing-here", None, 404, "NotFound"),
        ("DELETE", "/v1/health", None, 405, "MethodNotAllowed"),
        ("PUT", "/v1/blobs/" + "A" * 43 + "/metadata", b"\0" * 100_000, 413, "PayloadTooLarge"),
    ],
)
def test_malformed_requests_get_4xx_json(
    network: Network, method: str, path: str, body: bytes | None, status: int, code: str
) -> None:
    response = requests.request(method, network.nodes[0].url + path, data=body)
    assert response.status_code == status, response.text
    assert _error(response) == code


def _raw_answer(base_url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the server's answer to raw request bytes (requests and
    http.client refuse to send most of these)."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):  # the server closes after an error answer
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        # waitress answers these itself, before the app sees the request
        (
            b"PUT /v1/blobs/x/metadata HTTP/1.1\r\nHost: n\r\nContent-Length: 1099511627776"
            b"\r\n\r\n",
            413,
            "PayloadTooLarge",
        ),
        (b"PUT /v1/health HTTP/1.1\r\nHost: n\r\nContent-Length: ten\r\n\r\n", 400, "BadRequest"),
        (b"NOT AN HTTP REQUEST LINE\r\n\r\n", 400, "BadRequest"),
    ],
    ids=["declared-body-too-large", "bad-content-length", "bad-request-line"],
)
def test_requests_the_http_server_refuses_get_json_errors(
    network: Network, request_bytes: bytes, status: int, code: str
) -> None:
    answer_status, headers, body = _raw_answer(network.nodes[0].url, request_bytes)
    assert answer_status == status, body
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == code
    assert error["message"]
    assert requests.get(network.nodes[0].url + routes.HEALTH).status_code == 200


def test_malformed_metadata_for_a_registered_blob_is_400(network: Network) -> None:
    encoded, _ = network.register(os.urandom(900))
    node = network.nodes[0]
    raw = bytearray(encoded.metadata.to_bytes())
    raw[20] ^= 0xFF
    response = requests.put(node.url + routes.metadata_path(encoded.blob_id), data=bytes(raw))
    assert response.status_code == 400
    assert _error(response) == "MetadataMismatch"


def test_metrics_count_slivers_and_errors(network: Network) -> None:
    text = requests.get(network.nodes[0].url + routes.METRICS).text
    assert "walrus_node_slivers_stored" in text
    assert "walrus_node_requests_total" in text
    cpu = {
        line.split('"')[1]: float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith("walrus_node_thread_cpu_seconds_total{")
    }
    assert {"waitress", "io_loop", "event-follower"} <= set(cpu)
    assert cpu["io_loop"] > 0  # the main thread started the node, then runs waitress's loop


def test_deletable_confirmation_is_bound_to_a_matching_token(network: Network) -> None:
    encoded, registered = network.register(os.urandom(1100), deletable=True)
    _, other = network.register(os.urandom(1100), deletable=True)  # another blob's token
    network.upload(encoded)
    node = network.nodes[0]
    signed = network.confirmations(encoded, registered, [node])
    assert len(signed) == 1
    for token_id in (other.token_id, 0, 10**6):
        path = routes.confirmation_path(encoded.blob_id, deletable=True, token_id=token_id)
        response = requests.get(node.url + path)
        assert response.status_code == 400
        assert _error(response) == "NotADeletableRegistration"
    permanent_with_token = routes.confirmation_path(encoded.blob_id) + "?token_id=5"
    response = requests.get(node.url + permanent_with_token)
    assert response.status_code == 400
    assert _error(response) == "InvalidTokenId"


def test_store_and_confirmation_report_their_phases(network: Network) -> None:
    encoded, _ = network.register(os.urandom(1200))
    node = network.owner_of_pair(encoded, 0)
    metadata_path = routes.metadata_path(encoded.blob_id)
    stored = requests.put(node.url + metadata_path, data=encoded.metadata.to_bytes())
    assert stored.status_code == 201, stored.text
    assert _phases(stored) == ["read", "registered", "verify", "store"]
    network.upload(encoded)
    confirmed = requests.get(node.url + routes.confirmation_path(encoded.blob_id))
    assert confirmed.status_code == 200, confirmed.text
    assert _phases(confirmed) == ["registered", "slivers", "sync", "sign"]
    metrics = requests.get(node.url + routes.METRICS).text
    counted = (
        f'walrus_node_request_phase_seconds_count{{endpoint="{routes.CONFIRMATION}",phase="sync"}}'
    )
    assert counted in metrics, metrics


def _phases(response: requests.Response) -> list[str]:
    """Phase names of a `Server-Timing` header, each with a duration in milliseconds."""
    names = []
    for part in response.headers["Server-Timing"].split(", "):
        name, _, duration = part.partition(";dur=")
        assert float(duration) >= 0
        names.append(name)
    return names


def test_registration_check_computes_certified_until_like_the_contract(network: Network) -> None:
    registry = network.env.registry
    permanent, permanent_registered = network.register(os.urandom(900))
    deletable, deletable_registered = network.register(os.urandom(901), deletable=True)
    uncertified, _ = network.register(os.urandom(902))
    for encoded, registered in (
        (permanent, permanent_registered),
        (deletable, deletable_registered),
    ):
        network.upload(encoded)
        network.certify(encoded, registered)
    for encoded in (permanent, deletable, uncertified):
        status = registry.blob_id_status(encoded.blob_id.raw)
        assert certified_until(status) == registry.certified_until(encoded.blob_id.raw)
    assert certified_until(registry.blob_id_status(deletable.blob_id.raw)) > 0
    network.env.as_user(network.user).delete_blob(deletable_registered.token_id)
    status = registry.blob_id_status(deletable.blob_id.raw)
    assert certified_until(status) == registry.certified_until(deletable.blob_id.raw) == 0
