"""`GET /v1/api` documents every API route of `walrus serve` (the reliability suite fuzzes
exactly what the document lists, so an undocumented route would never be fuzzed)."""

from __future__ import annotations

import re
from typing import cast

from backend.api.app import create_app
from backend.api.openapi import OPENAPI
from backend.sdk.client import Client


def _shape(path: str) -> str:
    """`/v1/blobs/<blob_id>` and `/v1/blobs/{blobId}` both become `/v1/blobs/{}`."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def test_every_api_route_is_in_the_openapi_document() -> None:
    # the app only stores the client at creation; listing its routes needs no network
    app = create_app(cast(Client, object()))
    routes = {
        (_shape(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/") or rule.rule == "/metrics"
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    documented = {
        (_shape(path), method)
        for path, operations in OPENAPI["paths"].items()
        for method in operations
    }
    assert routes - documented == set()
