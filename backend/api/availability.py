"""``GET /v1/blobs/<blob id | token id>/availability[?deep=true&samples=N]``: the same
report as `walrus verify --json`, answered 200 whatever the verdict (``available`` says it);
a target that is neither a blob id nor a token id is 400 ``InvalidVerifyTarget``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from backend.api.errors import BadRequest
from backend.sdk.availability import DEFAULT_DEEP_SAMPLES, verify_availability
from backend.sdk.client import Client

availability = Blueprint("availability", __name__)

MAX_SAMPLES = 64


@availability.get("/v1/blobs/<target>/availability")
def blob_availability(target: str) -> Any:
    client: Client = current_app.extensions["walrus_client"]
    deep = request.args.get("deep", "false").lower()
    if deep not in ("true", "false"):
        raise BadRequest(f"deep must be true or false, not {deep!r}")
    raw_samples = request.args.get("samples", str(DEFAULT_DEEP_SAMPLES))
    if not raw_samples.isdigit() or not 1 <= int(raw_samples) <= MAX_SAMPLES:
        raise BadRequest(f"samples must be an integer from 1 to {MAX_SAMPLES}")
    report = verify_availability(client, target, deep=deep == "true", samples=int(raw_samples))
    return jsonify(report.to_json())
