"""The OpenAPI 3 document served at ``GET /v1/api``."""

from __future__ import annotations

from typing import Any

from backend.api.indexer.openapi_paths import INDEX_PATHS
from backend.api.network_views import NETWORK_VIEW_PATHS
from backend.api.quilts import QUILT_PATHS

_ERROR = {"description": "JSON error {error: {code, message}}"}
_BLOB = {
    "200": {"description": "The blob's bytes", "content": {"application/octet-stream": {}}},
    "206": {"description": "The requested byte range"},
    "400": _ERROR,
    "404": _ERROR,
    "410": {"description": "Deleted, expired or invalid blob"},
    "503": {"description": "Not enough storage nodes answered"},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "walrus-evm publisher and aggregator", "version": "1"},
    "paths": {
        "/v1/blobs": {
            "put": {
                "summary": "Store the request body as a blob",
                "parameters": [
                    {"name": "epochs", "in": "query", "schema": {"type": "integer"}},
                    {"name": "deletable", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "permanent", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "send_object_to", "in": "query", "schema": {"type": "string"}},
                ],
                "requestBody": {"content": {"application/octet-stream": {}}},
                "responses": {
                    "200": {"description": "newlyCreated or alreadyCertified"},
                    "400": _ERROR,
                    "402": {"description": "Not enough WAL"},
                    "503": {
                        "description": "Too few storage nodes confirmed, or the publisher's "
                        "wallet cannot pay the gas (InsufficientGasFunds)"
                    },
                },
            }
        },
        "/v1/blobs/{blobId}": {
            "get": {
                "summary": "Read a blob (Range supported; immutable caching)",
                "parameters": [
                    {"name": "blobId", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": _BLOB,
            }
        },
        "/v1/blobs/by-object-id/{tokenId}": {
            "get": {
                "summary": "Read the blob of a registration token",
                "parameters": [
                    {
                        "name": "tokenId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": _BLOB,
            }
        },
        "/v1/blobs/{target}/availability": {
            "get": {
                "summary": "Proof of availability of a blob id or token id, re-checked locally "
                "(same JSON as `walrus verify --json`)",
                "parameters": [
                    {
                        "name": "target",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {"name": "deep", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "samples", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": {"description": "The report; `available` is the verdict"},
                    "400": _ERROR,
                },
            }
        },
        "/v1/deployment": {
            "get": {
                "summary": "Chain id, RPC URL, max blob size, contract addresses and ABIs "
                "(what the web UI talks to)"
            }
        },
        "/v1/relay/uploads": {
            "post": {
                "summary": "Upload relay for browser wallets: encode the body, answer what the "
                "wallet registers (docs/frontend.md)",
                "parameters": [
                    {"name": "epochs", "in": "query", "schema": {"type": "integer"}},
                    {"name": "deletable", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "owner", "in": "query", "schema": {"type": "string"}},
                ],
                "requestBody": {"content": {"application/octet-stream": {}}},
                "responses": {"200": {"description": "uploadId, blobId, cost..."}, "400": _ERROR},
            }
        },
        "/v1/relay/uploads/{uploadId}/certificate": {
            "post": {
                "summary": "Send the upload's slivers to the nodes once the wallet registered "
                'it (body {"tokenId": n}); answer the aggregate certificate for certifyBlob',
                "parameters": [
                    {
                        "name": "uploadId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"tokenId": {"type": "integer"}},
                            }
                        }
                    }
                },
                "responses": {
                    "200": {"description": "signers, signature, epoch"},
                    "400": _ERROR,
                    "404": _ERROR,
                    "409": _ERROR,
                },
            }
        },
        "/v1/health": {"get": {"summary": "Backend and storage node health"}},
        "/v1/api": {"get": {"summary": "This document"}},
        "/metrics": {"get": {"summary": "Prometheus metrics"}},
        **INDEX_PATHS,
        **QUILT_PATHS,
        **NETWORK_VIEW_PATHS,
    },
}
