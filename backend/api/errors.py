"""JSON errors of the publisher/aggregator: ``{"error": {"code", "message"}}`` with a status
chosen per SDK/core/chain error class."""

from __future__ import annotations

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from backend.chain.client import InsufficientGasFunds
from backend.chain.errors import ChainError, ChainUnreachable, ContractRevert
from backend.core.errors import CoreError, InvalidBlobId
from backend.sdk.errors import (
    BlobDeleted,
    BlobExpired,
    BlobInvalid,
    BlobNotCertified,
    BlobNotFound,
    InsufficientWal,
    InvalidEpochs,
    NotEnoughConfirmations,
    NotEnoughSlivers,
    SdkError,
)

STATUS_OF: tuple[tuple[type[Exception], int], ...] = (
    (InvalidBlobId, 400),
    (InvalidEpochs, 400),
    (BlobNotFound, 404),
    (BlobNotCertified, 404),
    (BlobDeleted, 410),
    (BlobExpired, 410),
    (BlobInvalid, 410),
    (InsufficientWal, 402),
    (NotEnoughConfirmations, 503),
    (NotEnoughSlivers, 503),
    (ChainUnreachable, 503),
    (InsufficientGasFunds, 503),  # the publisher's wallet: its operator must fund it
    (ContractRevert, 409),
    (CoreError, 400),
    (SdkError, 400),
    (ChainError, 502),
)


class BadRequest(Exception):
    """A malformed query parameter or header, answered with 400."""


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error={"code": code, "message": message}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(BadRequest)
    def bad_request(error: BadRequest) -> tuple[Response, int]:
        return error_response(400, "BadRequest", str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "HttpError").replace(" ", "")
        return error_response(error.code or 500, code, error.description or code)

    for kind, status in STATUS_OF:

        def handler(error: Exception, status: int = status) -> tuple[Response, int]:
            return error_response(status, type(error).__name__, str(error))

        app.register_error_handler(kind, handler)
