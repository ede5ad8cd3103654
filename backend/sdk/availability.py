"""`verify`: is a blob available? Answered from chain data alone, re-checked locally.

The point of availability is the `certifyBlob` transaction: its block, its signer bitmap and
aggregate BLS signature, and the epoch whose committee signed. `verify_availability` reads
them (backend.chain.availability), then checks here, with backend.core.bls and without
trusting the RPC endpoint's word for it, that the signers hold n - f shards of *that epoch's*
committee and that their aggregate key verifies the signature over the certification message
of that epoch, blob id and persistence. It then reports the end epoch and the deletion /
invalidation state. With ``deep``, it also samples sliver pairs from the storage nodes and
checks them against the metadata (itself checked against the blob id).

`available` is True only for a certified, unexpired, not deleted, not invalidated blob whose
certificate verifies (and, with ``deep``, whose sampled slivers all verified).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from backend.chain.availability import (
    CertificationRecord,
    CommitteeKeys,
    committee_keys,
    find_certifications,
    registration,
    was_deleted,
)
from backend.chain.registry import BlobInfo, BlobRegistryContract
from backend.core.blob_id import BlobId
from backend.core.bls import BlsPublicKey, BlsSignature, aggregate_public_keys, verify
from backend.core.errors import CoreError
from backend.core.intents import blob_certification_message
from backend.core.metadata import UnverifiedMetadata, verify_metadata
from backend.core.pairs import secondary_index_of_pair, shard_of_pair
from backend.core.params import EncodingParams
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver, verify_sliver
from backend.sdk.client import Client
from backend.sdk.errors import NodeRequestFailed, SdkError

DEFAULT_DEEP_SAMPLES = 4
"""Sliver pairs fetched and verified by ``--deep``."""


class InvalidVerifyTarget(SdkError):
    """Neither a blob id (43 characters of URL-safe base64) nor a token id (an integer)."""


@dataclass(frozen=True)
class CertificateCheck:
    """The outcome of re-checking one certificate against its epoch's committee."""

    valid: bool
    signer_node_ids: tuple[int, ...]
    signer_weight: int
    required_weight: int
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "signers": list(self.signer_node_ids),
            "signer_weight": self.signer_weight,
            "required_weight": self.required_weight,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class DeepCheck:
    """Sliver pairs sampled from the nodes and verified against the metadata."""

    pairs_checked: tuple[int, ...]
    pairs_ok: tuple[int, ...]
    failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return bool(self.pairs_checked) and len(self.pairs_ok) == len(self.pairs_checked)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "pairs_checked": list(self.pairs_checked),
            "pairs_ok": list(self.pairs_ok),
            "failures": list(self.failures),
        }


@dataclass(frozen=True)
class AvailabilityReport:
    blob_id: BlobId | None
    state: str
    """``available``, ``nonexistent``, ``registered`` (not certified), ``expired``,
    ``deleted``, ``invalidated`` or ``certificate-invalid``."""
    current_epoch: int
    token_id: int | None = None
    end_epoch: int | None = None
    invalidated_epoch: int | None = None
    certification: CertificationRecord | None = None
    certificate: CertificateCheck | None = None
    deep: DeepCheck | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        certificate_ok = self.certificate is not None and self.certificate.valid
        deep_ok = self.deep is None or self.deep.ok
        return self.state == "available" and certificate_ok and deep_ok

    def to_json(self) -> dict[str, Any]:
        record = self.certification
        return {
            "blob_id": None if self.blob_id is None else str(self.blob_id),
            "available": self.available,
            "state": self.state,
            "current_epoch": self.current_epoch,
            "token_id": self.token_id,
            "end_epoch": self.end_epoch,
            "invalidated_epoch": self.invalidated_epoch,
            "certification": None
            if record is None
            else {
                "token_id": record.token_id,
                "epoch": record.epoch,
                "block_number": record.block_number,
                "block_hash": "0x" + record.block_hash.hex(),
                "transaction_hash": "0x" + record.transaction_hash.hex(),
                "deletable": record.deletable,
                "signer_bitmap": "0x" + record.signers.hex(),
            },
            "certificate": None if self.certificate is None else self.certificate.to_json(),
            "deep": None if self.deep is None else self.deep.to_json(),
            "notes": list(self.notes),
        }


def parse_target(text: str) -> BlobId | int:
    """A token id (decimal digits) or a blob id (URL-safe base64)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return BlobId.from_base64(text)
    except CoreError as error:
        raise InvalidVerifyTarget(
            f"{text[:60]!r} is neither a token id (an integer) nor a blob id: {error}"
        ) from None


def required_weight(n_shards: int) -> int:
    """Shards a certificate needs: n - f (docs/protocol.md)."""
    return n_shards - EncodingParams(n_shards).f


def check_certificate(
    record: CertificationRecord,
    committee: CommitteeKeys,
    *,
    chain_id: int,
    registry: str,
    n_shards: int,
) -> CertificateCheck:
    """Re-check a certificate locally: bitmap shape, signer weight in `committee`, and the
    aggregate signature of the signers' keys over the certification message of
    `record.epoch`. `committee` must be the committee of `record.epoch` read from Staking:
    a certificate signed by any other committee or for any other epoch does not verify."""
    size = len(committee.node_ids)
    required = required_weight(n_shards)
    bitmap = record.signers
    if len(bitmap) != (size + 7) // 8 or any(
        bitmap[i // 8] >> (i % 8) & 1 for i in range(size, len(bitmap) * 8)
    ):
        return CertificateCheck(False, (), 0, required, "signer bitmap does not fit the committee")
    members = [i for i in range(size) if bitmap[i // 8] >> (i % 8) & 1]
    signers = tuple(committee.node_ids[i] for i in members)
    weight = sum(committee.shard_counts[i] for i in members)
    if weight < required:
        problem = f"signers hold {weight} shards, a certificate needs {required}"
        return CertificateCheck(False, signers, weight, required, problem)
    try:
        key = aggregate_public_keys(
            [BlsPublicKey.from_eip2537(committee.public_keys[i]) for i in members]
        )
        signature = BlsSignature.from_eip2537(record.signature)
    except CoreError as error:
        return CertificateCheck(False, signers, weight, required, f"malformed key: {error}")
    message = blob_certification_message(
        chain_id,
        registry,
        record.epoch,
        record.blob_id,
        record.deletable,
        record.token_id if record.deletable else 0,
    )
    if not verify(key, message, signature):
        problem = (
            f"the aggregate signature does not verify against the keys of epoch "
            f"{record.epoch}'s committee"
        )
        return CertificateCheck(False, signers, weight, required, problem)
    return CertificateCheck(True, signers, weight, required)


def verify_availability(
    client: Client,
    target: BlobId | int | str,
    *,
    deep: bool = False,
    samples: int = DEFAULT_DEEP_SAMPLES,
) -> AvailabilityReport:
    """The availability report of a blob id or of one registration (token id)."""
    if isinstance(target, str):
        target = parse_target(target)
    registry, staking = client.registry, client.staking
    epoch = staking.current_epoch()
    from_block = client.events_from_block
    token_id: int | None = None
    info: BlobInfo | None = None
    if isinstance(target, int):
        token_id = target
        info = registration(registry, token_id)
        records = find_certifications(registry, token_id=token_id, from_block=from_block)
        if info is None:
            known = records[0].blob_id if records else None
            blob_id = None if known is None else BlobId(known)
            state = "deleted" if 0 < token_id < registry.next_token_id() else "nonexistent"
            return AvailabilityReport(blob_id, state, epoch, token_id=token_id)
        blob_id = BlobId(info.blob_id)
    else:
        blob_id = target
        records = find_certifications(registry, blob_id=blob_id.raw, from_block=from_block)
    status = registry.blob_id_status(blob_id.raw)

    record, end_epoch = _live_certification(registry, records, info, epoch)
    if status.invalidated:
        state = "invalidated"
    elif record is not None:
        state = "available"
    elif info is not None:
        state = "expired" if info.end_epoch <= epoch else "registered"
        if info.is_certified and info.end_epoch <= epoch:
            record = records[-1] if records else None
    elif records:
        state = "deleted" if was_deleted(registry, blob_id.raw, from_block) else "expired"
    elif status.registrations:
        state = "registered"
    else:
        state = "deleted" if was_deleted(registry, blob_id.raw, from_block) else "nonexistent"

    check = None
    if record is not None:
        check = check_certificate(
            record,
            committee_keys(staking, record.epoch),
            chain_id=client.chain.chain_id,
            registry=registry.address,
            n_shards=client.n_shards,
        )
        if state == "available" and not check.valid:
            state = "certificate-invalid"
    deep_check = None
    if deep and state == "available":
        deep_check = sample_slivers(client, blob_id, samples)
    return AvailabilityReport(
        blob_id,
        state,
        epoch,
        token_id=token_id if token_id is not None else (record.token_id if record else None),
        end_epoch=end_epoch,
        invalidated_epoch=status.invalidated_epoch,
        certification=record,
        certificate=check,
        deep=deep_check,
    )


def _live_certification(
    registry: BlobRegistryContract,
    records: list[CertificationRecord],
    info: BlobInfo | None,
    epoch: int,
) -> tuple[CertificationRecord | None, int | None]:
    """The newest certification whose registration still exists and has not expired, and
    that registration's end epoch."""
    for record in reversed(records):
        current = info if info is not None else registration(registry, record.token_id)
        if current is not None and current.end_epoch > epoch:
            return record, current.end_epoch
    return None, None if info is None else info.end_epoch


def sample_slivers(client: Client, blob_id: BlobId, samples: int) -> DeepCheck:
    """Fetch `samples` random sliver pairs from the nodes holding them this epoch and verify
    both slivers against the metadata (which is verified against the blob id)."""
    view = client.epochs.committee()
    n = len(view.assignment)
    failures: list[str] = []
    metadata = None
    for node_id in random.sample(view.holders, len(view.holders)):
        try:
            raw = client.node(node_id).get_metadata(blob_id)
            metadata = verify_metadata(blob_id, UnverifiedMetadata.from_bytes(raw))
            break
        except (NodeRequestFailed, CoreError) as error:
            failures.append(f"metadata from node {node_id}: {error}")
    if metadata is None:
        return DeepCheck((), (), tuple(failures) or ("no node holds the metadata",))
    pairs = sorted(random.sample(range(n), min(max(samples, 1), n)))
    ok = []
    for pair in pairs:
        node = client.node(view.assignment[shard_of_pair(blob_id, pair, n)])
        try:
            for kind, index in (
                (SliverKind.PRIMARY, pair),
                (SliverKind.SECONDARY, secondary_index_of_pair(pair, n)),
            ):
                sliver = UnverifiedSliver.from_bytes(node.get_sliver(blob_id, pair, kind))
                if sliver.kind is not kind or sliver.index != index:
                    raise CoreError(f"node sent {sliver.kind.name.lower()} sliver {sliver.index}")
                verify_sliver(metadata, sliver)
            ok.append(pair)
        except (NodeRequestFailed, CoreError) as error:
            failures.append(f"pair {pair} from node {node.node_id}: {error}")
    return DeepCheck(tuple(pairs), tuple(ok), tuple(failures))
