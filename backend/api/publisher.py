"""Publisher: ``PUT /v1/blobs`` stores the request body and answers like Walrus
(``newlyCreated`` with the blob object, or ``alreadyCertified``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from backend.api.errors import BadRequest
from backend.core.params import max_blob_size
from backend.sdk.client import Client, is_address
from backend.sdk.errors import InvalidAddress

publisher = Blueprint("publisher", __name__)

MAX_BLOB_BYTES_KEY = "WALRUS_MAX_BLOB_BYTES"
"""App config: the largest body PUT /v1/blobs accepts (default: the network's largest blob)."""


def _body() -> bytes:
    """The request body, refused with 413 (before anything is paid) above the limit."""
    client: Client = current_app.extensions["walrus_client"]
    limit = current_app.config.get(MAX_BLOB_BYTES_KEY) or max_blob_size(client.n_shards)
    declared = request.content_length
    if declared is not None and declared > limit:
        raise RequestEntityTooLarge(f"the body has {declared} bytes; at most {limit} are accepted")
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise RequestEntityTooLarge(f"the body is larger than the limit of {limit} bytes")
    return data


def _flag(name: str) -> bool:
    value = request.args.get(name, "false").lower()
    if value not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false, got {value!r}")
    return value == "true"


def _epochs() -> int:
    text = request.args.get("epochs", "1")
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"epochs must be an integer, got {text!r}") from None


@publisher.put("/v1/blobs")
def store_blob() -> Any:
    client: Client = current_app.extensions["walrus_client"]
    epochs = _epochs()
    deletable = _flag("deletable")
    if deletable and _flag("permanent"):
        raise BadRequest("a blob is either deletable or permanent, not both")
    send_to = request.args.get("send_object_to")
    if send_to is not None and not is_address(send_to):
        raise InvalidAddress(send_to)  # before anything is registered or paid
    data = _body()
    result = client.store(data, epochs=epochs, deletable=deletable)
    if result.status == "alreadyCertified":
        return jsonify(
            alreadyCertified={"blobId": str(result.blob_id), "endEpoch": result.end_epoch}
        )
    assert result.token_id is not None
    owner: str = client.chain.address
    if send_to:
        client.share(result.token_id, send_to)
        owner = send_to
    return jsonify(
        newlyCreated={
            "blobObject": {
                "id": result.token_id,
                "blobId": str(result.blob_id),
                "size": result.size,
                "owner": owner,
                "deletable": deletable,
                "storage": {"endEpoch": result.end_epoch},
            },
            "cost": result.cost,
            "reusedRegistration": result.reused_registration,
        }
    )
