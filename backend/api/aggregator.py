"""Aggregator: ``GET /v1/blobs/<blob_id>`` and ``GET /v1/blobs/by-object-id/<token>``.

Blob ids are content addresses, so answers are immutable: long-lived public caching, the
blob id as ETag, and HTTP Range requests (206) over the decoded bytes."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from backend.chain.errors import ContractRevert
from backend.core.blob_id import BlobId
from backend.sdk.client import Client, parse_blob_id
from backend.sdk.errors import BlobNotFound

aggregator = Blueprint("aggregator", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"


def _blob_response(client: Client, blob_id: BlobId) -> Response:
    data = client.read(blob_id)
    response = Response(data, mimetype="application/octet-stream")
    response.headers["Cache-Control"] = IMMUTABLE
    response.set_etag(str(blob_id))
    response.make_conditional(request, accept_ranges=True, complete_length=len(data))
    return response


@aggregator.get("/v1/blobs/<blob_id>")
def read_blob(blob_id: str) -> Response:
    client: Client = current_app.extensions["walrus_client"]
    return _blob_response(client, parse_blob_id(blob_id))


@aggregator.get("/v1/blobs/by-object-id/<int:token_id>")
def read_blob_by_token(token_id: int) -> Response:
    client: Client = current_app.extensions["walrus_client"]
    if not 0 < token_id < client.registry.next_token_id():
        raise BlobNotFound(f"no blob token {token_id}")
    try:
        info = client.registry.blob_info(token_id)
    except ContractRevert:
        raise BlobNotFound(f"blob token {token_id} was deleted or burned") from None
    return _blob_response(client, BlobId(info.blob_id))
