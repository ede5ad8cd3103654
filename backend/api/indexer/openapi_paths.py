"""OpenAPI 3 paths of `GET /v1/index/...` (merged into backend/api/openapi.py)."""

from __future__ import annotations

from typing import Any

_ERROR = {"description": "JSON error {error: {code, message}}"}
_RESPONSES = {
    "200": {"description": "Rows and the next page (nextCursor / nextOffset, null at the end)"},
    "400": {"description": "InvalidIndexQuery: a malformed or unknown query parameter"},
    "503": {"description": "IndexerDisabled: walrus serve runs with --no-index"},
}


def _query(name: str, kind: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": {"type": kind}, "description": description}


_PAGE = [
    _query("limit", "integer", "1 to 1000 rows (default 100)"),
    _query("offset", "integer", "rows to skip"),
]

INDEX_PATHS: dict[str, Any] = {
    "/v1/index/status": {
        "get": {
            "summary": "Indexer progress: next block to read, chain head, last errors",
            "responses": {"200": {"description": "Progress"}, "503": _ERROR},
        }
    },
    "/v1/index/blobs": {
        "get": {
            "summary": "Blob registrations by owner, attribute, expiry or status",
            "parameters": [
                _query("owner", "string", "0x address holding the blob token"),
                _query("attribute", "string", "has this attribute key"),
                _query("value", "string", "... with this value (needs attribute)"),
                _query("expiring_within", "integer", "certified, ends within N epochs"),
                _query(
                    "status",
                    "string",
                    "live (default), certified, expired, deleted, invalidated, all",
                ),
                _query("blob_id", "string", "registrations of this blob id"),
                _query("epoch", "integer", "reference epoch (default: current)"),
                _query("cursor", "string", "nextCursor of the previous page"),
                *_PAGE,
            ],
            "responses": _RESPONSES,
        }
    },
    "/v1/index/patches": {
        "get": {
            "summary": "Quilt patches (of live quilts) by identifier, tag or quilt",
            "parameters": [
                _query("identifier", "string", "patch identifier (file name)"),
                _query("tag", "string", "key=value"),
                _query("quilt", "string", "quilt blob id"),
                *_PAGE,
            ],
            "responses": _RESPONSES,
        }
    },
}
