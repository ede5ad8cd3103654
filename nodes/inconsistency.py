"""Inconsistently encoded blobs: detect, prove, attest, invalidate (DESIGN.md §3.10, §5).

Detection: a certified blob this node still misses slivers of, after the recovery pool gave
up on it, is checked here: the node fetches recovery symbols for a missing sliver and
decodes it. If the decoded sliver does not hash to the committed value, the writer's
commitments do not describe one codeword, and the symbols used are an
`InconsistencyProof` anyone can check with backend/core alone.

Then the node signs an invalid-blob attestation (intent 2) for the current epoch, POSTs the
proof to every committee peer at ``/v1/blobs/{id}/inconsistencyProof/{primary|secondary}``
(the target sliver's kind), collects the peers' attestations until the signers hold f + 1
shards, and submits `invalidateBlob`. Peers answer a proof with their own attestation only
after verifying it against the metadata they hold; a proof that shows nothing is 400
``InvalidInconsistencyProof``. Readers then see the blob as invalid; nodes drop its data.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import requests
from flask import Blueprint, Response, jsonify, request

from backend.chain.errors import ChainError, ContractRevert
from backend.chain.registry import aggregate_certificate
from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.bls import BlsSignature
from backend.core.errors import CoreError, NotEnoughRecoverySymbols
from backend.core.inconsistency import InconsistencyProof, verify_inconsistency_proof
from backend.core.intents import invalid_blob_message
from backend.core.merkle import HASH_SIZE, tree_depth
from backend.core.metadata import UnverifiedMetadata, VerifiedMetadata, verify_metadata
from backend.core.params import EncodingParams
from backend.core.recovery_symbols import (
    RecoverySymbol,
    VerifiedRecoverySymbol,
    rebuild_sliver,
    symbols_needed,
    verify_recovery_symbol,
)
from backend.core.sliver_kind import SliverKind
from nodes.chain_view import ChainView
from nodes.store import NodeStore

if TYPE_CHECKING:
    from backend.core.bls import BlsSecretKey
    from nodes.recovery import Recoverer

REQUEST_TIMEOUT = 30.0
RECHECK_SECONDS = 10.0
"""A blob whose check found no inconsistency (e.g. peers down) is checked again after this."""
FIRST_CHECK_AFTER_SECONDS = 4.0
"""A blob is checked once it has needed recovery this long (the pool tries first)."""

log = logging.getLogger("walrus-node.inconsistency")


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error={"code": code, "message": message}), status


def proof_size_limit(metadata: VerifiedMetadata) -> int:
    """Largest wire form of a proof for this blob: header + n symbols with their proofs."""
    n = metadata.n_shards
    per_symbol = 4 + 13 + metadata.symbol_size + HASH_SIZE * tree_depth(n)
    return 9 + n * per_symbol


def attestation(
    chain: ChainView, signing_key: BlsSecretKey, blob_id: BlobId
) -> tuple[int, BlsSignature]:
    """This node's signature, in the current epoch, that `blob_id` is invalid."""
    epoch = chain.current_epoch()
    message = invalid_blob_message(
        chain.client.chain_id, chain.registry.address, epoch, blob_id.raw
    )
    return epoch, signing_key.sign(message)


def inconsistency_blueprint(
    store: NodeStore, chain: ChainView, signing_key: BlsSecretKey
) -> Blueprint:
    """``POST /v1/blobs/<id>/inconsistencyProof/<kind>``: verify a proof, answer an attestation."""
    blueprint = Blueprint("inconsistency", __name__)

    @blueprint.post(routes.INCONSISTENCY_PROOF)
    def receive_proof(blob_id: str, kind: str) -> Any:
        try:
            blob = BlobId.from_base64(blob_id)
        except CoreError as error:
            return _error(400, "InvalidBlobId", str(error))
        target_kind = routes.SLIVER_KIND_NAMES.get(kind)
        if target_kind is None:
            return _error(
                400, "InvalidSliverKind", f"sliver kind is primary or secondary, not {kind!r}"
            )
        raw = store.metadata(blob)
        if raw is None:
            return _error(404, "MetadataNotFound", f"no metadata stored for blob {blob}")
        metadata = verify_metadata(blob, UnverifiedMetadata.from_bytes(raw))
        length = request.content_length
        limit = proof_size_limit(metadata)
        if length is None:
            return _error(411, "LengthRequired", "send a Content-Length header")
        if length > limit:
            return _error(413, "PayloadTooLarge", f"body is {length} bytes, at most {limit}")
        body = request.get_data()
        try:
            proof = InconsistencyProof.from_bytes(body, metadata.n_shards)
            if proof.target_kind is not target_kind:
                return _error(
                    400,
                    "SliverPathMismatch",
                    f"the proof targets a {proof.target_kind.name.lower()} sliver, "
                    f"the path names {kind}",
                )
            verify_inconsistency_proof(metadata, proof)
        except CoreError as error:
            return _error(400, type(error).__name__, str(error))
        epoch, signature = attestation(chain, signing_key, blob)
        log.info("attested that blob %s is inconsistent", blob)
        return jsonify(
            epoch=epoch,
            node_id=chain.node_id,
            signature=base64.b64encode(signature.to_eip2537()).decode("ascii"),
        )

    return blueprint


class InconsistencyMonitor:
    """Checks blobs the recovery pool could not rebuild; proves and invalidates bad ones."""

    def __init__(
        self,
        store: NodeStore,
        chain: ChainView,
        signing_key: BlsSecretKey,
        recoverer: Recoverer,
    ) -> None:
        self.store = store
        self.chain = chain
        self.signing_key = signing_key
        self.recoverer = recoverer
        self.invalidations_submitted = 0
        self._lock = threading.Lock()
        self._running: set[BlobId] = set()
        self._checked_at: dict[BlobId, float] = {}
        self._first_seen: dict[BlobId, float] = {}

    def sweep(self, candidates: list[BlobId]) -> None:
        """While the recovery pool is idle (it tried and gave up), start a check for every
        candidate (certified, still missing slivers) that has needed recovery for a while and
        was not checked recently."""
        now = time.monotonic()
        with self._lock:
            self._first_seen = {b: self._first_seen.get(b, now) for b in candidates}
        if self.recoverer.backlog:  # recovery is still trying: do not fetch the same symbols
            return
        for blob_id in candidates:
            if now - self._first_seen[blob_id] < FIRST_CHECK_AFTER_SECONDS:
                continue
            if self.store.metadata(blob_id) is None:
                continue
            with self._lock:
                if blob_id in self._running:
                    continue
                if now - self._checked_at.get(blob_id, -RECHECK_SECONDS) < RECHECK_SECONDS:
                    continue
                self._running.add(blob_id)
                self._checked_at[blob_id] = now
            threading.Thread(
                target=self._check, args=(blob_id,), name="inconsistency", daemon=True
            ).start()

    def _check(self, blob_id: BlobId) -> None:
        try:
            proof = self.find_proof(blob_id)
            if proof is not None:
                self.invalidate(blob_id, proof)
        except (ChainError, CoreError, requests.RequestException) as error:
            log.warning("inconsistency check of blob %s failed: %s", blob_id, error)
        finally:
            with self._lock:
                self._running.discard(blob_id)

    def _peers(self) -> dict[int, str]:
        committee = self.chain.staking.committee(self.chain.current_epoch())
        return {
            node_id: self.chain.staking.node(node_id).http_url
            for node_id in committee.node_ids
            if node_id != self.chain.node_id
        }

    def find_proof(self, blob_id: BlobId) -> InconsistencyProof | None:
        """An inconsistency proof from rebuilding one of this node's missing slivers, or None
        if every missing sliver that could be rebuilt matches its commitment."""
        raw = self.store.metadata(blob_id)
        if raw is None:
            return None
        metadata = verify_metadata(blob_id, UnverifiedMetadata.from_bytes(raw))
        peers = list(self._peers().values())
        for kind, index in self.recoverer.missing_slivers(blob_id, metadata.n_shards):
            symbols = self._symbols(metadata, kind, index, peers)
            try:
                rebuilt = rebuild_sliver(metadata, kind, index, symbols)
            except NotEnoughRecoverySymbols:
                continue
            if not rebuilt.matches_commitment:
                proof = InconsistencyProof(kind, index, rebuilt.used)
                verify_inconsistency_proof(metadata, proof)
                log.warning("blob %s is inconsistent: %s sliver %d", blob_id, kind.name, index)
                return proof
        return None

    def _symbols(
        self, metadata: VerifiedMetadata, kind: SliverKind, index: int, peers: list[str]
    ) -> list[VerifiedRecoverySymbol]:
        needed = symbols_needed(metadata, kind)
        verified: dict[int, VerifiedRecoverySymbol] = {}
        path = routes.recovery_symbols_path(metadata.blob_id, kind, index)
        for peer in peers:
            try:
                response = requests.get(peer + path, timeout=REQUEST_TIMEOUT)
                encoded = response.json()["symbols"] if response.status_code == 200 else []
            except (requests.RequestException, ValueError, KeyError):
                continue
            for text in encoded:
                try:
                    symbol = RecoverySymbol.from_bytes(base64.b64decode(text), metadata.n_shards)
                    if symbol.target_kind is kind and symbol.target_index == index:
                        verified[symbol.source_index] = verify_recovery_symbol(metadata, symbol)
                except (CoreError, ValueError):
                    continue
            if len(verified) >= needed:
                break
        return list(verified.values())

    def invalidate(self, blob_id: BlobId, proof: InconsistencyProof) -> bool:
        """Collect f + 1 shards of attestations (own first, then peers') and submit
        `invalidateBlob`; True when this node's transaction invalidated the blob."""
        epoch, own = attestation(self.chain, self.signing_key, blob_id)
        committee = self.chain.staking.committee(epoch)
        index_of = {node_id: i for i, node_id in enumerate(committee.node_ids)}
        signatures = {index_of[self.chain.node_id]: own}
        weight = committee.shards_of(self.chain.node_id)
        required = EncodingParams(self.chain.n_shards).f + 1
        path = routes.inconsistency_proof_path(blob_id, proof.target_kind)
        body = proof.to_bytes()
        for node_id, url in self._peers().items():
            if weight >= required:
                break
            try:
                response = requests.post(url + path, data=body, timeout=REQUEST_TIMEOUT)
                answer = response.json() if response.status_code == 200 else None
                if answer is None or int(answer["epoch"]) != epoch:
                    continue
                signature = BlsSignature.from_eip2537(base64.b64decode(answer["signature"]))
            except (requests.RequestException, ValueError, KeyError, CoreError):
                continue
            signatures[index_of[node_id]] = signature
            weight += committee.shards_of(node_id)
        if weight < required:
            log.warning(
                "blob %s: attestations hold %d shards, %d needed", blob_id, weight, required
            )
            return False
        certificate = aggregate_certificate(len(committee.node_ids), signatures)
        try:
            self.chain.registry.invalidate_blob(
                blob_id.raw, certificate.signers, certificate.signature
            )
        except ContractRevert as error:
            if error.name == "BlobRegistryAlreadyInvalidated":
                return False
            raise
        self.invalidations_submitted += 1
        log.info("invalidated blob %s on chain", blob_id)
        return True
