"""HTTP routes of the storage node API, shared by the node (server) and the SDK (client).

Flask-style templates (``<blob_id>``) for the server and functions building concrete
paths for clients. Blob ids in paths are URL-safe base64 (`BlobId.to_base64`).
"""

from __future__ import annotations

from backend.core.blob_id import BlobId
from backend.core.sliver_kind import SliverKind

HEALTH = "/v1/health"
METRICS = "/metrics"
METADATA = "/v1/blobs/<blob_id>/metadata"
SLIVER = "/v1/blobs/<blob_id>/slivers/<int:pair>/<kind>"
CONFIRMATION = "/v1/blobs/<blob_id>/confirmation"
STATUS = "/v1/blobs/<blob_id>/status"
RECOVERY_SYMBOLS = "/v1/blobs/<blob_id>/recoverySymbols/<kind>/<int:index>"
"""Symbols this node can give for rebuilding the `kind` sliver `index` (the target), one per
sliver of the other kind it stores; JSON ``{"symbols": [base64 wire form, ...]}``."""

INCONSISTENCY_PROOF = "/v1/blobs/<blob_id>/inconsistencyProof/<kind>"
"""POST an inconsistency proof whose target sliver is of `kind`; answered with the node's
invalid-blob attestation ``{"epoch", "node_id", "signature"}`` once it checks."""

SLIVER_KIND_NAMES = {"primary": SliverKind.PRIMARY, "secondary": SliverKind.SECONDARY}
"""Path segment of each sliver kind."""


def metadata_path(blob_id: BlobId) -> str:
    return f"/v1/blobs/{blob_id.to_base64()}/metadata"


def sliver_path(blob_id: BlobId, pair: int, kind: SliverKind) -> str:
    """Path of the primary or secondary sliver of sliver pair `pair`."""
    return f"/v1/blobs/{blob_id.to_base64()}/slivers/{pair}/{kind.name.lower()}"


def confirmation_path(blob_id: BlobId, *, deletable: bool = False, token_id: int = 0) -> str:
    """Confirmation of a permanent blob, or of a deletable one's registration `token_id`."""
    base = f"/v1/blobs/{blob_id.to_base64()}/confirmation"
    return f"{base}?deletable=true&token_id={token_id}" if deletable else base


def status_path(blob_id: BlobId) -> str:
    return f"/v1/blobs/{blob_id.to_base64()}/status"


def recovery_symbols_path(blob_id: BlobId, target_kind: SliverKind, target_index: int) -> str:
    """Recovery symbols for rebuilding sliver `target_index` of kind `target_kind`."""
    kind = target_kind.name.lower()
    return f"/v1/blobs/{blob_id.to_base64()}/recoverySymbols/{kind}/{target_index}"


def inconsistency_proof_path(blob_id: BlobId, target_kind: SliverKind) -> str:
    """Where to POST an inconsistency proof whose target sliver is of `target_kind`."""
    return f"/v1/blobs/{blob_id.to_base64()}/inconsistencyProof/{target_kind.name.lower()}"


KEYSERVER_INFO = "/v1/seal/info"
"""Seal key server: ``{"public_key": hex X25519, "chain_id"}`` (docs/seal.md)."""
KEYSERVER_SHARE = "/v1/seal/share"
"""Seal key server: POST ``{"header": hex, "session": {...}}`` -> ``{"response": hex}``, the
server's share encrypted to the session key once the policy approves."""
