"""Upload relay for browser wallets (backend/sdk/relay.py, docs/frontend.md):

- ``POST /v1/relay/uploads?epochs=&deletable=&owner=`` (body: the file) encodes and answers
  what the wallet registers (``uploadId``, ``blobId``, ``blobIdHex``, ``rootHash``, ``size``,
  ``encodingType``, ``cost`` in FROST as a string, ``alreadyCertified``,
  ``reusableRegistration``...); 413 JSON above ``walrus serve --max-blob-bytes``.
- ``POST /v1/relay/uploads/<id>/certificate`` (JSON ``{"tokenId": n}``) sends the slivers
  and answers the aggregate certificate (``signers``, ``signature``, ``epoch``) for the
  wallet's ``certifyBlob``.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from backend.api.errors import BadRequest, error_response

# the publisher's body limit and query parsing, so both upload routes agree
from backend.api.publisher import _body, _epochs, _flag
from backend.sdk.relay import (
    RegistrationCertified,
    RegistrationMismatch,
    RelayError,
    UnknownUpload,
    UploadRelay,
)

relay = Blueprint("relay", __name__)

RELAY_KEY = "walrus_relay"
_relay_lock = threading.Lock()


def upload_relay() -> UploadRelay:
    """The app's relay, made on first use (its cache lives as long as the backend)."""
    with _relay_lock:
        made = current_app.extensions.get(RELAY_KEY)
        if made is None:
            made = UploadRelay(current_app.extensions["walrus_client"])
            current_app.extensions[RELAY_KEY] = made
        assert isinstance(made, UploadRelay)
        return made


@relay.post("/v1/relay/uploads")
def prepare_upload() -> Any:
    epochs = _epochs()
    deletable = _flag("deletable")
    owner = request.args.get("owner") or None
    data = _body()
    prepared = upload_relay().prepare(data, epochs=epochs, deletable=deletable, owner=owner)
    return jsonify(prepared.to_json())


@relay.post("/v1/relay/uploads/<upload_id>/certificate")
def upload_certificate(upload_id: str) -> Any:
    body = request.get_json(silent=True)
    token = body.get("tokenId") if isinstance(body, dict) else None
    if isinstance(token, str) and token.isdigit():
        token = int(token)
    if not isinstance(token, int) or isinstance(token, bool) or token < 0:
        raise BadRequest('the body must be JSON {"tokenId": <the registration\'s token id>}')
    return jsonify(upload_relay().certificate(upload_id, token).to_json())


@relay.errorhandler(UnknownUpload)
def unknown_upload(error: UnknownUpload) -> tuple[Response, int]:
    return error_response(404, type(error).__name__, str(error))


@relay.errorhandler(RegistrationMismatch)
@relay.errorhandler(RegistrationCertified)
def registration_conflict(error: RelayError) -> tuple[Response, int]:
    return error_response(409, type(error).__name__, str(error))


@relay.errorhandler(RelayError)
def relay_error(error: RelayError) -> tuple[Response, int]:
    return error_response(400, type(error).__name__, str(error))
