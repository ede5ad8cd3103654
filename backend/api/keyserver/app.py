"""The key server's Flask app. It holds only its X25519 private key and a read-only chain
connection; it keeps no per-blob state (everything it needs is in the request: the Seal
header and the wallet-signed session).

A request is answered in this order: the header parses and holds a share for this server
(400 MalformedSealHeader / 400 NotThisKeyServer); the session is signed by its requester,
for this chain, unexpired (401 InvalidSession); the header's chain is this chain (400
WrongChain); the share decrypts bound to the header's policy and id (400 SealTampered); the
session names the header's policy; then ``sealApprove(id, requester)`` by eth_call at the
latest block (400 UnknownPolicy / NonConformingPolicy, 403 AccessDenied when false).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from web3 import Web3
from werkzeug.exceptions import HTTPException

from backend.chain.client import ChainClient
from backend.chain.errors import ChainError, ChainUnreachable
from backend.chain.policies import NonConformingPolicy, UnknownPolicy, seal_approve
from backend.chain.seal_session import InvalidSession, SealSession, verify_session
from backend.core.routes import KEYSERVER_INFO, KEYSERVER_SHARE
from backend.core.seal.envelope import X25519KeyPair, open_share, seal_response
from backend.core.seal.errors import MalformedSealHeader, SealTampered
from backend.core.seal.header import SealHeader, parse_header

MAX_HEADER_BYTES = 64 * 1024


class KeyServerRefusal(Exception):
    """A request the key server answers with ``status`` and a named JSON error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error={"code": code, "message": message}), status


def create_keyserver_app(
    key: X25519KeyPair, chain: ChainClient, clock: Callable[[], float] = time.time
) -> Flask:
    """The key server for ``key`` on ``chain`` (``clock`` decides session expiry)."""
    app = Flask("walrus-keyserver")
    chain_id = chain.chain_id

    @app.after_request
    def allow_browsers(response: Response) -> Response:
        """CORS for the web dApp's in-browser decryption: any origin may ask (the server
        holds no cookies; a share is released only to a signed session the policy approves).
        Flask answers the OPTIONS preflight itself; this adds the headers to it too."""
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        return response

    @app.errorhandler(KeyServerRefusal)
    def refused(error: KeyServerRefusal) -> tuple[Response, int]:
        return _error(error.status, error.code, str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "HttpError").replace(" ", "")
        return _error(error.code or 500, code, error.description or code)

    @app.get(KEYSERVER_INFO)
    def info() -> Response:
        return jsonify(public_key=key.public_key.hex(), chain_id=chain_id)

    @app.post(KEYSERVER_SHARE)
    def share() -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise KeyServerRefusal(400, "BadRequest", "body must be a JSON object")
        header = _parsed_header(body)
        if header.index_of(key.public_key) is None:
            raise KeyServerRefusal(
                400, "NotThisKeyServer", "the Seal header has no share for this key server"
            )
        session = _verified_session(body, chain_id, int(clock()))
        if header.chain_id != chain_id:
            raise KeyServerRefusal(
                400, "WrongChain", f"blob is sealed for chain {header.chain_id}, not {chain_id}"
            )
        try:
            released = open_share(header, key)
        except SealTampered as error:
            raise KeyServerRefusal(400, "SealTampered", str(error)) from None
        policy = Web3.to_checksum_address(header.policy)
        if session.policy != policy:
            raise KeyServerRefusal(
                401, "InvalidSession", f"session is for policy {session.policy}, not {policy}"
            )
        if not _approves(chain, policy, header.identity, session.requester):
            raise KeyServerRefusal(
                403,
                "AccessDenied",
                f"policy {policy} does not approve {session.requester} for id "
                f"0x{header.identity.hex()}",
            )
        response = seal_response(released, header, key.public_key, session.session_key)
        return jsonify(response=response.hex(), public_key=key.public_key.hex())

    return app


def _parsed_header(body: dict[str, Any]) -> SealHeader:
    raw = body.get("header")
    if not isinstance(raw, str) or len(raw) > 2 * MAX_HEADER_BYTES:
        raise KeyServerRefusal(400, "MalformedSealHeader", "header must be a hex string")
    try:
        return parse_header(bytes.fromhex(raw.removeprefix("0x")))
    except ValueError as error:  # MalformedSealHeader is a ValueError too
        code = "MalformedSealHeader"
        message = str(error) if isinstance(error, MalformedSealHeader) else "header is not hex"
        raise KeyServerRefusal(400, code, message) from None


def _verified_session(body: dict[str, Any], chain_id: int, now: int) -> SealSession:
    try:
        session = SealSession.from_json(body.get("session"))
        verify_session(session, chain_id, now)
    except InvalidSession as error:
        raise KeyServerRefusal(401, "InvalidSession", str(error)) from None
    return session


def _approves(chain: ChainClient, policy: str, identity: bytes, requester: str) -> bool:
    try:
        return seal_approve(chain, policy, identity, requester)
    except UnknownPolicy as error:
        raise KeyServerRefusal(400, "UnknownPolicy", str(error)) from None
    except NonConformingPolicy as error:
        raise KeyServerRefusal(400, "NonConformingPolicy", str(error)) from None
    except ChainUnreachable as error:
        raise KeyServerRefusal(503, "ChainUnreachable", str(error)) from None
    except ChainError as error:
        raise KeyServerRefusal(502, "ChainError", str(error)) from None
