"""`GET /v1/index/...`: the indexer's JSON API (blueprint ``index``).

- ``/v1/index/status``   indexed block, chain head, last follower error
- ``/v1/index/blobs``    filters owner, attribute (+ value), expiring_within, status,
                         blob_id, epoch; pages by limit/offset or cursor
- ``/v1/index/patches``  quilt patches by identifier, tag (``key=value``), quilt
Malformed parameters answer 400 ``{"error": {"code": "InvalidIndexQuery", ...}}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from backend.api.errors import error_response
from backend.api.indexer.errors import InvalidIndexQuery
from backend.api.indexer.queries import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    STATUSES,
    BlobFilter,
    Page,
    PatchFilter,
    find_blobs,
    find_patches,
)
from backend.api.indexer.service import EXTENSION_KEY, IndexService
from backend.core.blob_id import BlobId
from backend.core.errors import InvalidBlobId

index = Blueprint("index", __name__)

INDEX_STATUS = "/v1/index/status"
INDEX_BLOBS = "/v1/index/blobs"
INDEX_PATCHES = "/v1/index/patches"

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_DIGITS = re.compile(r"[0-9]{1,18}")
_PAGE_PARAMETERS = ("limit", "offset", "cursor")
_BLOB_PARAMETERS = ("owner", "attribute", "value", "expiring_within", "status", "blob_id", "epoch")
_PATCH_PARAMETERS = ("identifier", "tag", "quilt")


@index.after_request
def allow_any_origin(response: Response) -> Response:
    """Public, read-only data: a web dApp on any origin may list blobs (CORS)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@index.errorhandler(InvalidIndexQuery)
def invalid_query(error: InvalidIndexQuery) -> tuple[Response, int]:
    return error_response(400, "InvalidIndexQuery", str(error))


def _service() -> IndexService | None:
    service: IndexService | None = current_app.extensions.get(EXTENSION_KEY)
    return service


def _disabled() -> tuple[Response, int]:
    return error_response(503, "IndexerDisabled", "this backend runs without an indexer")


def _only(allowed: Iterable[str]) -> None:
    unknown = sorted(set(request.args) - set(allowed))
    if unknown:
        raise InvalidIndexQuery(
            f"unknown query parameter {unknown[0]!r}; expected one of {', '.join(allowed)}"
        )


def _integer(name: str, *, minimum: int = 0, maximum: int | None = None) -> int | None:
    text = request.args.get(name)
    if text is None:
        return None
    if not _DIGITS.fullmatch(text):
        raise InvalidIndexQuery(f"{name} must be a non-negative integer, got {text[:40]!r}")
    value = int(text)
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and {maximum}"
        raise InvalidIndexQuery(f"{name} must be between {minimum}{upper}, got {value}")
    return value


def _page() -> Page:
    limit = _integer("limit", minimum=1, maximum=MAX_LIMIT)
    offset = _integer("offset") or 0
    cursor = request.args.get("cursor")
    after: int | None = None
    if cursor is not None:
        if not _DIGITS.fullmatch(cursor):
            raise InvalidIndexQuery(f"cursor must be a nextCursor value, got {cursor[:40]!r}")
        after = int(cursor)
    return Page(DEFAULT_LIMIT if limit is None else limit, offset, after)


def _blob_id(name: str) -> str | None:
    text = request.args.get(name)
    if text is None:
        return None
    try:
        return BlobId.from_base64(text).to_base64()
    except InvalidBlobId as error:
        raise InvalidIndexQuery(f"{name}: {error}") from None


@index.get(INDEX_STATUS)
def index_status() -> Any:
    service = _service()
    if service is None:
        return _disabled()
    follower = service.follower
    return jsonify(
        nextBlock=follower.next_block(),
        headBlock=follower.registry.client.block_number(),
        registry=follower.registry.address,
        lastError=follower.last_error,
        quilts=service.quilts is not None,
        quiltError=None if service.quilts is None else service.quilts.last_error,
    )


@index.get(INDEX_BLOBS)
def index_blobs() -> Any:
    service = _service()
    if service is None:
        return _disabled()
    _only(_BLOB_PARAMETERS + _PAGE_PARAMETERS)
    owner = request.args.get("owner")
    if owner is not None and not _ADDRESS.fullmatch(owner):
        raise InvalidIndexQuery(f"owner must be a 0x-prefixed 20-byte address, got {owner[:60]!r}")
    status = request.args.get("status", "live")
    if status not in STATUSES:
        raise InvalidIndexQuery(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    attribute = request.args.get("attribute")
    value = request.args.get("value")
    if attribute is not None and not 1 <= len(attribute.encode()) <= 64:
        raise InvalidIndexQuery("attribute must be a key of 1 to 64 bytes")
    if value is not None and attribute is None:
        raise InvalidIndexQuery("value needs an attribute")
    page = _page()
    epoch = _integer("epoch", maximum=2**32 - 1)
    where = BlobFilter(
        epoch=service.current_epoch() if epoch is None else epoch,
        owner=owner,
        attribute=attribute,
        value=value,
        expiring_within=_integer("expiring_within", maximum=2**32 - 1),
        status=status,
        blob_id=_blob_id("blob_id"),
    )
    with Session(service.engine) as session:
        blobs = find_blobs(session, where, page)
    full = len(blobs) == page.limit
    return jsonify(
        blobs=blobs,
        epoch=where.epoch,
        nextCursor=str(blobs[-1]["tokenId"]) if full else None,
        nextOffset=page.offset + len(blobs) if full else None,
    )


@index.get(INDEX_PATCHES)
def index_patches() -> Any:
    service = _service()
    if service is None:
        return _disabled()
    _only((*_PATCH_PARAMETERS, "limit", "offset"))
    tag_text = request.args.get("tag")
    tag: tuple[str, str] | None = None
    if tag_text is not None:
        key, sep, value = tag_text.partition("=")
        if not sep or not key:
            raise InvalidIndexQuery(f"tag must be key=value, got {tag_text[:60]!r}")
        tag = (key, value)
    identifier = request.args.get("identifier")
    if identifier == "":
        raise InvalidIndexQuery("identifier must not be empty")
    page = _page()
    where = PatchFilter(
        epoch=service.current_epoch(),
        identifier=identifier,
        tag=tag,
        quilt_blob_id=_blob_id("quilt"),
    )
    with Session(service.engine) as session:
        patches = find_patches(session, where, page)
    full = len(patches) == page.limit
    return jsonify(patches=patches, nextOffset=page.offset + len(patches) if full else None)
