"""Upload relay for browser wallets (DESIGN.md §6): the wallet signs and pays, the backend
moves the slivers.

1. ``prepare(data, ...)`` encodes the file, keeps the encoding in a bounded in-memory cache
   (``max_uploads`` entries, ``max_encoded_bytes`` of slivers, ``ttl`` seconds since last
   use; the oldest go first) and answers what the wallet needs to call ``registerBlob``:
   blob id, root hash, size, encoding type, cost. When the blob is already certified long
   enough nothing needs paying; when ``owner`` already holds an uncertified registration of
   this blob id lasting long enough (a retry after a failed upload or a rejected certify),
   its token id is returned so the wallet does not pay twice (as ``Client.store`` does).
2. The wallet registers (approve + ``registerBlob``) and hands the token id to
   ``certificate(upload_id, token_id)``: the relay checks on chain that the token registers
   this blob id, is neither certified nor expired nor invalidated, sends the slivers with
   ``Client.collect_confirmations`` and answers the aggregate certificate (signer bitmap,
   signature) for the wallet's ``certifyBlob``. The certificate is kept with the upload,
   so asking again in the same epoch (the wallet rejected ``certifyBlob`` once) answers at
   once without uploading again.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from web3 import Web3

from backend.chain.errors import ContractRevert
from backend.core.encoder import EncodedBlob
from backend.sdk.client import Client
from backend.sdk.errors import BlobInvalid, InvalidEpochs, SdkError

DEFAULT_TTL_SECONDS: Final = 900.0
DEFAULT_MAX_UPLOADS: Final = 32
DEFAULT_MAX_ENCODED_BYTES: Final = 1 << 30


class RelayError(SdkError):
    """Base class of the upload relay's errors."""


class UnknownUpload(RelayError):
    """No pending upload with this id (never made, expired or evicted)."""


class RegistrationMismatch(RelayError):
    """The token id does not register this upload's blob (or cannot be certified)."""


class RegistrationCertified(RelayError):
    """The token's registration is already certified: nothing left to do."""


@dataclass(frozen=True)
class RelayCertificate:
    upload_id: str
    token_id: int
    blob_id: str
    epoch: int
    signers: bytes
    signature: bytes
    failed_nodes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "uploadId": self.upload_id,
            "tokenId": self.token_id,
            "blobId": self.blob_id,
            "epoch": self.epoch,
            "signers": "0x" + self.signers.hex(),
            "signature": "0x" + self.signature.hex(),
            "failedNodes": list(self.failed_nodes),
        }


@dataclass(frozen=True)
class PreparedUpload:
    """What the wallet needs to register the blob (or that it need not)."""

    upload_id: str | None
    """None when the blob is already certified long enough (nothing is cached)."""
    blob_id: str
    blob_id_hex: str
    root_hash_hex: str
    size: int
    encoding_type: int
    epochs: int
    deletable: bool
    current_epoch: int
    end_epoch: int
    cost: int
    already_certified_until: int | None
    reusable_token_id: int | None
    reusable_end_epoch: int | None
    registry: str
    expires_in: float

    def to_json(self) -> dict[str, Any]:
        return {
            "uploadId": self.upload_id,
            "blobId": self.blob_id,
            "blobIdHex": self.blob_id_hex,
            "rootHash": self.root_hash_hex,
            "size": self.size,
            "encodingType": self.encoding_type,
            "epochs": self.epochs,
            "deletable": self.deletable,
            "currentEpoch": self.current_epoch,
            "endEpoch": self.end_epoch,
            "cost": str(self.cost),  # FROST: may exceed JavaScript's safe integers
            "alreadyCertified": (
                None
                if self.already_certified_until is None
                else {"endEpoch": self.already_certified_until}
            ),
            "reusableRegistration": (
                None
                if self.reusable_token_id is None
                else {"tokenId": self.reusable_token_id, "endEpoch": self.reusable_end_epoch}
            ),
            "registry": self.registry,
            "expiresInSeconds": round(self.expires_in),
        }


@dataclass
class _Entry:
    encoded: EncodedBlob
    encoded_bytes: int
    last_used: float
    certificates: dict[tuple[int, int], RelayCertificate] = field(default_factory=dict)
    """By (token id, epoch)."""


def encoded_bytes(encoded: EncodedBlob) -> int:
    slivers = (*encoded.primary_slivers, *encoded.secondary_slivers)
    return sum(sliver.symbols.nbytes for sliver in slivers)


class UploadRelay:
    """Thread-safe; one per backend. See the module docstring."""

    def __init__(
        self,
        client: Client,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_uploads: int = DEFAULT_MAX_UPLOADS,
        max_encoded_bytes: int = DEFAULT_MAX_ENCODED_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.max_uploads = max_uploads
        self.max_encoded_bytes = max_encoded_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    # ------------------------------------------------------------ cache

    def pending(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    def _expire(self) -> None:
        now = self._clock()
        for upload_id in [u for u, e in self._entries.items() if now - e.last_used > self.ttl]:
            del self._entries[upload_id]

    def _keep(self, entry: _Entry) -> str:
        """Cache `entry` under a new id, evicting the least recently used to fit."""
        upload_id = secrets.token_urlsafe(16)
        with self._lock:
            self._expire()
            self._entries[upload_id] = entry
            total = sum(e.encoded_bytes for e in self._entries.values())
            while len(self._entries) > 1 and (
                len(self._entries) > self.max_uploads or total > self.max_encoded_bytes
            ):
                _, evicted = self._entries.popitem(last=False)
                total -= evicted.encoded_bytes
        return upload_id

    def _entry(self, upload_id: str) -> _Entry:
        with self._lock:
            self._expire()
            entry = self._entries.get(upload_id)
            if entry is None:
                raise UnknownUpload(
                    f"no pending upload {upload_id!r}: it expired ({self.ttl:.0f} s after its "
                    "last use) or was never made; upload the file again"
                )
            entry.last_used = self._clock()
            self._entries.move_to_end(upload_id)
            return entry

    # ------------------------------------------------------------ prepare

    def prepare(
        self, data: bytes, *, epochs: int, deletable: bool, owner: str | None = None
    ) -> PreparedUpload:
        registry = self.client.registry
        max_epochs = registry.max_epochs_ahead()
        if not 1 <= epochs <= max_epochs:
            raise InvalidEpochs(f"epochs must be between 1 and {max_epochs}, got {epochs}")
        if owner is not None and not Web3.is_address(owner):
            raise RelayError(f"owner must be an 0x address, got {owner!r}")
        encoded = self.client.encode(data)
        blob_id = encoded.blob_id
        status = registry.blob_id_status(blob_id.raw)
        if status.invalidated:
            raise BlobInvalid(f"blob {blob_id} was invalidated by the storage nodes")
        epoch = self.client.epochs.current_epoch(0.0)
        end_epoch = epoch + epochs
        metadata = encoded.metadata
        facts: dict[str, Any] = {
            "blob_id": str(blob_id),
            "blob_id_hex": blob_id.hex(),
            "root_hash_hex": "0x" + metadata.metadata.root_hash().hex(),
            "size": len(data),
            "encoding_type": int(metadata.encoding_type),
            "epochs": epochs,
            "deletable": deletable,
            "current_epoch": epoch,
            "registry": str(registry.address),
        }
        until = status.permanent_certified_until
        if not deletable and until >= end_epoch:
            return PreparedUpload(
                upload_id=None,
                end_epoch=until,
                cost=0,
                already_certified_until=until,
                reusable_token_id=None,
                reusable_end_epoch=None,
                expires_in=0.0,
                **facts,
            )
        reusable = None
        if owner is not None and status.registrations > 0:
            reusable = self.client.reusable_registration(
                blob_id, deletable, end_epoch, epoch, owner=owner
            )
        cost = 0 if reusable is not None else registry.registration_cost(len(data), epochs).total
        entry = _Entry(encoded, encoded_bytes(encoded), self._clock())
        upload_id = self._keep(entry)
        return PreparedUpload(
            upload_id=upload_id,
            end_epoch=reusable.end_epoch if reusable is not None else end_epoch,
            cost=cost,
            already_certified_until=None,
            reusable_token_id=reusable.token_id if reusable is not None else None,
            reusable_end_epoch=reusable.end_epoch if reusable is not None else None,
            expires_in=self.ttl,
            **facts,
        )

    # ------------------------------------------------------------ certificate

    def certificate(self, upload_id: str, token_id: int) -> RelayCertificate:
        entry = self._entry(upload_id)
        blob_id = entry.encoded.blob_id
        try:
            info = self.client.registry.blob_info(token_id)
        except ContractRevert:
            raise RegistrationMismatch(f"no blob registration with token id {token_id}") from None
        if info.blob_id != blob_id.raw:
            raise RegistrationMismatch(
                f"token {token_id} registers another blob, not {blob_id} (this upload)"
            )
        if info.is_certified:
            raise RegistrationCertified(f"token {token_id} (blob {blob_id}) is already certified")
        if info.invalidated:
            raise BlobInvalid(f"blob {blob_id} was invalidated by the storage nodes")
        epoch = self.client.epochs.current_epoch(0.0)
        if info.end_epoch <= epoch:
            raise RegistrationMismatch(
                f"token {token_id} expired at epoch {info.end_epoch} (now {epoch})"
            )
        cached = entry.certificates.get((token_id, epoch))
        if cached is not None:
            return cached
        signers, signature, failed = self.client.collect_confirmations(
            entry.encoded, info.deletable, token_id, epoch, None
        )
        made = RelayCertificate(
            upload_id, token_id, str(blob_id), epoch, signers, signature, tuple(failed)
        )
        with self._lock:
            entry.certificates[(token_id, epoch)] = made
        return made
