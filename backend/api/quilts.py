"""Quilts over HTTP. Publisher: ``PUT /v1/quilts`` (multipart, one part per file; the part's
field name is the identifier, or its file name when the field name is empty; a form field
``_metadata`` may hold ``[{"identifier": ..., "tags": {...}}]``). Aggregator:
``GET /v1/blobs/by-quilt-patch-id/<patch id>`` and
``GET /v1/blobs/by-quilt-id/<quilt blob id>/<identifier>``, answered with the patch's bytes
and a Content-Type from its tags (``content-type``) or its identifier's extension."""

from __future__ import annotations

import json
import mimetypes
import threading
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from backend.api.errors import BadRequest, error_response
from backend.core.quilt import Patch, PatchNotFound, QuiltFile
from backend.sdk.client import Client, parse_blob_id
from backend.sdk.quilt import PatchRead, QuiltClient

quilts = Blueprint("quilts", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
METADATA_FIELD = "_metadata"
_lock = threading.Lock()


def _quilt_client() -> QuiltClient:
    """One QuiltClient per app (it caches verified metadata and quilt indexes)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    with _lock:
        existing = app.extensions.get("walrus_quilts")
        if existing is None:
            client: Client = app.extensions["walrus_client"]
            existing = app.extensions["walrus_quilts"] = QuiltClient(client)
    return existing


@quilts.errorhandler(PatchNotFound)
def patch_not_found(error: PatchNotFound) -> tuple[Response, int]:
    return error_response(404, "PatchNotFound", str(error))


def content_type(patch: Patch) -> str:
    """The patch's ``content-type`` tag, else a guess from its identifier, else binary."""
    for key, value in patch.tags.items():
        if key.lower() == "content-type" and value:
            return value
    guessed, _ = mimetypes.guess_type(patch.identifier)
    return guessed or "application/octet-stream"


def _patch_response(read: PatchRead, etag: str) -> Response:
    patch = read.patch
    response = Response(patch.data, content_type=content_type(patch))
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["X-Quilt-Patch-Identifier"] = patch.identifier
    response.set_etag(etag)
    response.make_conditional(request, accept_ranges=True, complete_length=len(patch.data))
    return response


@quilts.get("/v1/blobs/by-quilt-patch-id/<patch_id>")
def read_by_patch_id(patch_id: str) -> Response:
    read = _quilt_client().read_patch(patch_id)
    return _patch_response(read, patch_id)


@quilts.get("/v1/blobs/by-quilt-id/<quilt_id>/<path:identifier>")
def read_by_identifier(quilt_id: str, identifier: str) -> Response:
    blob_id = parse_blob_id(quilt_id)
    read = _quilt_client().read_by_identifier(blob_id, identifier)
    return _patch_response(read, f"{blob_id}/{identifier}")


@quilts.get("/v1/quilts/<quilt_id>/patches")
def list_patches(quilt_id: str) -> Any:
    blob_id = parse_blob_id(quilt_id)
    listed = _quilt_client().patch_ids(blob_id)
    return jsonify(
        quiltId=str(blob_id),
        patches=[{**entry.to_json(), "patchId": str(pid)} for entry, pid in listed],
    )


def _tags_from_metadata() -> dict[str, dict[str, str]]:
    raw = request.form.get(METADATA_FIELD)
    if raw is None:
        return {}
    try:
        items = json.loads(raw)
        return {str(item["identifier"]): dict(item.get("tags", {})) for item in items}
    except (ValueError, TypeError, KeyError, AttributeError):
        raise BadRequest(
            f"{METADATA_FIELD} must be a JSON list of {{identifier, tags}} objects"
        ) from None


def _epochs() -> int:
    text = request.args.get("epochs", "1")
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"epochs must be an integer, got {text!r}") from None


@quilts.put("/v1/quilts")
def store_quilt() -> Any:
    deletable = request.args.get("deletable", "false").lower() == "true"
    if not request.files:
        raise BadRequest("send the files as multipart/form-data parts (one part per file)")
    tags = _tags_from_metadata()
    files = []
    for field_name, upload in request.files.items(multi=True):
        identifier = field_name or (upload.filename or "")
        file_tags = dict(tags.get(identifier, {}))
        if upload.mimetype and upload.mimetype != "application/octet-stream":
            file_tags.setdefault("content-type", upload.mimetype)
        files.append(QuiltFile(identifier, upload.read(), file_tags))
    unknown = set(tags) - {f.identifier for f in files}
    if unknown:
        raise BadRequest(f"{METADATA_FIELD} names identifiers with no file: {sorted(unknown)}")
    stored = _quilt_client().store_files(files, epochs=_epochs(), deletable=deletable)
    return jsonify(
        blobStoreResult=[q.to_json() for q in stored.quilts],
        storedQuiltBlobs=[
            {
                "quiltId": str(q.blob.blob_id),
                "status": q.blob.status,
                "endEpoch": q.blob.end_epoch,
                "patches": [
                    {"identifier": p.identifier, "quiltPatchId": str(p.patch_id)} for p in q.patches
                ],
            }
            for q in stored.quilts
        ],
        standaloneBlobs=[
            {
                "identifier": s.identifier,
                "blobId": str(s.blob.blob_id),
                "reason": "larger than a quilt holds",
            }
            for s in stored.standalone
        ],
        cost=stored.cost,
    )


_PATH_PARAM = {"in": "path", "required": True, "schema": {"type": "string"}}
_PATCH = {
    "200": {"description": "The patch's bytes, Content-Type from its tags or identifier"},
    "206": {"description": "The requested byte range"},
    "400": {"description": "Malformed id"},
    "404": {"description": "No such quilt or no patch with that identifier"},
}
QUILT_PATHS: dict[str, Any] = {
    "/v1/quilts": {
        "put": {
            "summary": "Store multipart files as quilts (<= 666 files each; a file larger "
            "than a quilt is stored as its own blob); optional _metadata field with tags",
            "parameters": [
                {"name": "epochs", "in": "query", "schema": {"type": "integer"}},
                {"name": "deletable", "in": "query", "schema": {"type": "boolean"}},
            ],
            "requestBody": {"content": {"multipart/form-data": {}}},
            "responses": {
                "200": {"description": "storedQuiltBlobs with every patch's quiltPatchId"},
                "400": {"description": "Duplicate identifiers, bad metadata or no files"},
                "402": {"description": "Not enough WAL"},
            },
        }
    },
    "/v1/blobs/by-quilt-patch-id/{patchId}": {
        "get": {
            "summary": "Read one quilt patch (only the slivers holding it are fetched)",
            "parameters": [{"name": "patchId", **_PATH_PARAM}],
            "responses": _PATCH,
        }
    },
    "/v1/blobs/by-quilt-id/{quiltId}/{identifier}": {
        "get": {
            "summary": "Read the patch with this identifier from a quilt",
            "parameters": [
                {"name": "quiltId", **_PATH_PARAM},
                {"name": "identifier", **_PATH_PARAM},
            ],
            "responses": _PATCH,
        }
    },
    "/v1/quilts/{quiltId}/patches": {
        "get": {
            "summary": "List a quilt's patches (identifier, tags, size, patch id)",
            "parameters": [{"name": "quiltId", **_PATH_PARAM}],
        }
    },
}
