"""`Client`: store and read blobs on a walrus-evm network (chain + storage nodes).

Store: encode, register on chain (pay WAL), send metadata and sliver pairs to the nodes
of the shards in parallel, collect signed confirmations until the quorum of shards, certify.
Read: verified metadata from any node, verified primary slivers from the nodes until `p`
are in, decode with the default consistency check.

A store that fails after registering leaves the registration paid for; storing the same
bytes again finds the wallet's uncertified registration of that blob id in the
`BlobRegistered` events and reuses it instead of paying twice.
"""

from __future__ import annotations

import concurrent.futures as futures
import io
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from web3 import Web3
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.errors import ContractRevert
from backend.chain.registry import (
    BlobInfo,
    BlobRegistryContract,
    Permit,
    aggregate_certificate,
    sign_permit,
)
from backend.chain.staking import StakingContract
from backend.core.blob_id import BlobId
from backend.core.bls import (
    BlsPublicKey,
    BlsSignature,
    aggregate_signatures,
    verify,
    verify_aggregate_same_message,
)
from backend.core.decoder import decode_blob
from backend.core.encoder import EncodedBlob, compute_blob_id_of, encode_blob
from backend.core.errors import CoreError
from backend.core.intents import blob_certification_message
from backend.core.metadata import UnverifiedMetadata, VerifiedMetadata, verify_metadata
from backend.core.pairs import secondary_index_of_pair, shard_of_pair
from backend.core.params import EncodingParams
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import VerifiedSliver, verify_sliver
from backend.sdk.epoch_view import EpochCommittee, EpochView
from backend.sdk.errors import (
    BlobDeleted,
    BlobExpired,
    BlobInvalid,
    BlobNotCertified,
    BlobNotFound,
    InsufficientWal,
    InvalidAddress,
    InvalidEpochs,
    NodeRequestFailed,
    NotEnoughConfirmations,
    NotEnoughSlivers,
    SdkError,
)
from backend.sdk.memory import return_large_buffers_to_os
from backend.sdk.node_client import DEFAULT_RETRIES, DEFAULT_TIMEOUT, NodeClient
from backend.sdk.sliver_upload import EncodedUpload, SliverUpload, SpilledUpload

MAX_PARALLEL_NODES = 16
MAX_PARALLEL_SLIVERS = 32
"""Sliver requests in flight at once (across nodes; each node serves with several threads)."""
LARGE_SLIVERS_PER_NODE = 2
LARGE_UPLOAD_BYTES = 4 * 1024 * 1024
NODE_EPOCH_CATCH_UP_SECONDS = 10.0
"""How long a node confirming for the previous epoch is given to follow the epoch change."""
"""A node's slivers above this total go to it at most LARGE_SLIVERS_PER_NODE at a time."""
MAX_EPOCHS_AGE = 30.0
SLOWER_THAN_QUORUM = "no confirmation before the quorum was reached"
PERMIT_SECONDS = 3600
GAS_REUSING_FUNCTIONS = ("certifyBlob", "registerBlob", "registerBlobWithPermit")
"""Their gas barely varies between blobs: a store reuses 1.5x the most they used (the chain
client estimates and resends when that falls short) instead of an eth_estimateGas each;
estimating certifyBlob re-ran its BLS check ~15 times."""
CONCURRENT_VERIFICATIONS = 2
"""Slivers verified at once by a read: verifying one needs ~3x its size in temporaries
(8 slivers of a 64 MiB blob at once peaked at 5x the blob), and 2 keep both cores busy."""
Progress = Callable[[str, int, int], None]
"""Called as (phase, done, total) while storing or reading."""


@dataclass(frozen=True)
class StoreResult:
    status: str
    """``newlyCreated`` or ``alreadyCertified`` (Walrus publisher wording)."""
    blob_id: BlobId
    size: int
    end_epoch: int
    token_id: int | None = None
    """The registration's token; None when the blob was already certified by anyone."""
    cost: int = 0
    """FROST paid by this store (0 when a paid registration was reused or already certified)."""
    reused_registration: bool = False
    failed_nodes: list[str] = field(default_factory=list)
    """Nodes that did not confirm (the quorum was reached without them)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "blob_id": str(self.blob_id),
            "size": self.size,
            "end_epoch": self.end_epoch,
            "token_id": self.token_id,
            "cost": self.cost,
            "reused_registration": self.reused_registration,
            "failed_nodes": self.failed_nodes,
        }


@dataclass(frozen=True)
class BlobStatus:
    blob_id: BlobId
    state: str
    """``nonexistent``, ``deleted`` (every registration deleted by its owner), ``registered``,
    ``certified``, ``expired`` or ``invalid``."""
    registrations: int
    certified_until: int
    current_epoch: int
    nodes_with_metadata: int | None = None
    """How many nodes hold the metadata (None when the nodes were not asked)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "blob_id": str(self.blob_id),
            "state": self.state,
            "registrations": self.registrations,
            "certified_until": self.certified_until,
            "current_epoch": self.current_epoch,
            "nodes_with_metadata": self.nodes_with_metadata,
        }


def _verified_signatures(
    unchecked: Mapping[int, tuple[str, BlsPublicKey, BlsSignature]], message: bytes
) -> tuple[dict[int, BlsSignature], dict[int, str]]:
    """Split members' signatures of `message` (member index -> (node name, key, signature))
    into those that verify and the names of the nodes whose do not. One aggregate check
    when every signature is good (the usual case: ~1.7 ms instead of ~1.7 ms per node);
    each signature alone only when the aggregate fails, so a bad node is still named."""
    keys = [key for _, key, _ in unchecked.values()]
    if verify_aggregate_same_message(
        keys, message, aggregate_signatures([signature for _, _, signature in unchecked.values()])
    ):
        return {member: signature for member, (_, _, signature) in unchecked.items()}, {}
    good: dict[int, BlsSignature] = {}
    bad: dict[int, str] = {}
    for member, (name, key, signature) in unchecked.items():
        if verify(key, message, signature):
            good[member] = signature
        else:
            bad[member] = name
    return good, bad


def parse_blob_id(text: str) -> BlobId:
    """A blob id in URL-safe base64 (43 characters) or 0x-hex; InvalidBlobId otherwise."""
    return BlobId.from_hex(text) if text.startswith("0x") else BlobId.from_base64(text)


def is_address(value: str) -> bool:
    """Whether `value` is a 20-byte 0x address (checksummed or all one case)."""
    return bool(Web3.is_address(value))


def read_input(data: bytes | str | BinaryIO) -> bytes:
    """The bytes of `data`: bytes as is, a path's contents, or a binary stream read fully."""
    raw = read_buffer(data)
    return raw if isinstance(raw, bytes) else bytes(raw)


def read_buffer(data: bytes | str | BinaryIO) -> bytes | bytearray | memoryview:
    """Like `read_input` without an extra copy: bytes-like as is, a path's contents read
    straight into one buffer of the file's size (what `store` uses)."""
    if isinstance(data, bytes | bytearray | memoryview):
        return data
    if isinstance(data, str):
        try:
            with open(data, "rb") as handle:
                return _read_whole(handle, os.fstat(handle.fileno()).st_size)
        except OSError as error:
            raise SdkError(f"cannot read {data}: {error.strerror}") from None
    return data.read()


def _read_whole(handle: io.BufferedReader, size: int) -> bytearray | bytes:
    """A regular file's bytes read straight into one buffer (no bytes object + copy)."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        got = handle.readinto(view[done:])
        if not got:  # the file shrank while being read
            return bytes(view[:done])
        done += got
    rest = handle.read()  # the file grew while being read
    return buffer + rest if rest else buffer


class Client:
    """A wallet (the chain client's account) talking to one deployment and its nodes."""

    def __init__(
        self,
        chain: ChainClient,
        staking: StakingContract,
        registry: BlobRegistryContract,
        wal: Contract,
        *,
        node_urls: Mapping[int, str] | None = None,
        node_timeout: float = DEFAULT_TIMEOUT,
        node_retries: int = DEFAULT_RETRIES,
        events_from_block: int = 0,
    ) -> None:
        self.chain = chain
        self.staking = staking
        self.registry = registry
        self.wal = wal
        self.node_timeout = node_timeout
        self.node_retries = node_retries
        self.events_from_block = events_from_block
        self._node_urls = dict(node_urls or {})
        self._nodes: dict[int, NodeClient] = {}
        self._lock = threading.Lock()
        self.epochs = EpochView(staking)
        self._max_epochs: tuple[int, float] | None = None
        # long-lived pools: starting a dozen threads per call cost ~20 ms of a small read.
        # Sliver and chain requests run on `_requests` (they never wait for each other);
        # a node's upload, which waits for its sliver PUTs, runs on `_uploads`.
        self._requests = futures.ThreadPoolExecutor(MAX_PARALLEL_SLIVERS, "walrus-request")
        self._uploads = futures.ThreadPoolExecutor(MAX_PARALLEL_NODES, "walrus-upload")
        self._background_uploads: set[futures.Future[Any]] = set()
        """Uploads to nodes slower than the quorum, still running after their store returned."""
        self._payment_lock = threading.Lock()
        self._verify_slots = threading.BoundedSemaphore(CONCURRENT_VERIFICATIONS)
        # answers that failed verification, by (node name, what): a lying or corrupted node
        # never changes a read, but it should be visible (the backend exports it in /metrics)
        self._rejected: Counter[tuple[str, str]] = Counter()
        return_large_buffers_to_os()  # slivers freed by any thread leave the RSS (memory.py)
        registry.client.reuse_gas_estimates.update(GAS_REUSING_FUNCTIONS)

    @classmethod
    def connect(
        cls,
        chain: ChainClient,
        artifacts: Artifacts,
        staking_address: str,
        registry_address: str,
        **options: Any,
    ) -> Client:
        staking = StakingContract.at(chain, staking_address, artifacts.abi("Staking"))
        registry = BlobRegistryContract.at(chain, registry_address, artifacts.abi("BlobRegistry"))
        wal = chain.contract(registry.wal_address(), artifacts.abi("WAL"))
        return cls(chain, staking, registry, wal, **options)

    # ------------------------------------------------------------ nodes

    def node(self, node_id: int) -> NodeClient:
        """The HTTP client of `node_id` (URL from `node_urls`, else from Staking)."""
        with self._lock:
            cached = self._nodes.get(node_id)
        if cached is not None:
            return cached
        url = self._node_urls.get(node_id) or self.staking.node(node_id).http_url
        made = NodeClient(node_id, url, timeout=self.node_timeout, retries=self.node_retries)
        with self._lock:
            return self._nodes.setdefault(node_id, made)

    def committee_nodes(self, epoch: int | None = None) -> list[NodeClient]:
        """The nodes holding shards in `epoch` (default: the current one)."""
        return [self.node(node_id) for node_id in self.epochs.committee(epoch).holders]

    # ------------------------------------------------------------ blob ids

    @property
    def n_shards(self) -> int:
        return self.epochs.n_shards

    def encode(self, data: bytes | str | BinaryIO) -> EncodedBlob:
        """Encode for this network's shard count with the default code for it."""
        return encode_blob(read_buffer(data), self.n_shards)

    def blob_id(self, data: bytes | str | BinaryIO) -> BlobId:
        """The blob id `data` gets on this network, without storing anything."""
        return compute_blob_id_of(read_buffer(data), self.n_shards)

    # ------------------------------------------------------------ store

    def store(
        self,
        data: bytes | str | BinaryIO,
        *,
        epochs: int = 1,
        deletable: bool = False,
        progress: Progress | None = None,
    ) -> StoreResult:
        """Store `data` for `epochs` epochs from the current one; see the module docstring.

        `data` is bytes, a path (read into one buffer) or a binary stream. A bytearray or
        memoryview is used in place, without a copy: it must not change until the uploads
        to the slower nodes, which go on after this returns, are done."""
        max_epochs = self._max_epochs_ahead()
        if not 1 <= epochs <= max_epochs:
            raise InvalidEpochs(f"epochs must be between 1 and {max_epochs}, got {epochs}")
        raw = read_buffer(data)
        size = len(raw)
        reads = self._requests
        # chain reads that do not need the blob id overlap with the encoding
        epoch_read = reads.submit(self.epochs.current_epoch, 0.0)
        cost_read = reads.submit(lambda: self.registry.registration_cost(size, epochs).total)
        wallet_read = reads.submit(self._wallet_state)
        # the primary parity goes to an unlinked temporary file as it is encoded: the client
        # holds about the blob's size, not the ~4x of the whole encoding (sliver_upload.py)
        encoded = SpilledUpload(raw, self.n_shards)
        del raw
        blob_id = encoded.blob_id
        status_read = reads.submit(self.registry.blob_id_status, blob_id.raw)
        epoch = epoch_read.result()
        end_epoch = epoch + epochs
        metadata = encoded.metadata
        # a permit signs the wallet's current WAL nonce: concurrent stores of one client
        # (the publisher) must not sign the same nonce twice, so sign + register in turn.
        # It is signed while the blob id's status is read (saving those round trips), and
        # left unused when the blob is already certified or a paid registration is reused.
        with self._payment_lock:
            payment = self._prepared_payment(cost_read, wallet_read)
            chain_status = status_read.result()
            until = chain_status.permanent_certified_until
            if not deletable and until >= end_epoch:
                return StoreResult("alreadyCertified", blob_id, size, until)
            reusable = None
            if chain_status.registrations > 0:
                reusable = self.reusable_registration(blob_id, deletable, end_epoch, epoch)
            if reusable is not None:
                token_id, cost, end_epoch, reused = reusable.token_id, 0, reusable.end_epoch, True
            else:
                cost, permit = payment()
                registered = self.registry.register_blob(
                    blob_id.raw,
                    metadata.metadata.root_hash(),
                    size,
                    metadata.encoding_type,
                    epochs,
                    deletable=deletable,
                    permit=permit,
                )
                token_id, end_epoch, reused = registered.token_id, registered.end_epoch, False

        signers, signature, failed = self.collect_confirmations(
            encoded, deletable, token_id, epoch, progress
        )
        self.registry.certify_blob(token_id, signers, signature)
        return StoreResult("newlyCreated", blob_id, size, end_epoch, token_id, cost, reused, failed)

    def _max_epochs_ahead(self) -> int:
        """Governance may change it, rarely: re-read at most every MAX_EPOCHS_AGE seconds."""
        now = time.monotonic()
        if self._max_epochs is None or now - self._max_epochs[1] > MAX_EPOCHS_AGE:
            self._max_epochs = (self.registry.max_epochs_ahead(), now)
        return self._max_epochs[0]

    def _prepared_payment(
        self,
        cost_read: futures.Future[int],
        wallet_read: futures.Future[tuple[int, int, int]],
    ) -> Callable[[], tuple[int, Permit | None]]:
        """Check the balance and sign the permit now; the returned call gives (cost, permit),
        or raises what stopped it (InsufficientWal, no wallet) only when the store pays."""
        try:
            cost = cost_read.result()
            permit = self._payment(cost, *wallet_read.result())
        except SdkError as error:
            problem = error

            def cannot_pay() -> tuple[int, Permit | None]:
                raise problem

            return cannot_pay
        return lambda: (cost, permit)

    def wal_balance(self, owner: str) -> int:
        """FROST that `owner` holds."""
        return int(self.chain.call(self.wal.functions.balanceOf(owner)))

    def _wallet_state(self) -> tuple[int, int, int]:
        """(WAL balance, the registry's allowance, latest block time) of this wallet."""
        owner = self._address()
        balance = self.wal_balance(owner)
        allowance = int(self.chain.call(self.wal.functions.allowance(owner, self.registry.address)))
        now = int(self.chain.w3.eth.get_block("latest")["timestamp"])
        return balance, allowance, now

    def _payment(
        self,
        cost: int,
        balance: int | None = None,
        allowance: int = 0,
        now: int = 0,
        action: str = "the store",
    ) -> Permit | None:
        """Check the balance; a signed EIP-2612 permit for `cost` when the registry's
        allowance is short (saves the separate approve transaction), else None."""
        if balance is None:
            balance, allowance, now = self._wallet_state()
        if balance < cost:
            raise InsufficientWal(cost, balance, action)
        if allowance >= cost:
            return None
        return sign_permit(self.chain, self.wal, self.registry.address, cost, now + PERMIT_SECONDS)

    def _address(self) -> str:
        if self.chain.account is None:
            raise SdkError("storing needs a wallet (a private key)")
        return self.chain.account.address

    def reusable_registration(
        self,
        blob_id: BlobId,
        deletable: bool,
        end_epoch: int,
        epoch: int,
        owner: str | None = None,
    ) -> BlobInfo | None:
        """`owner`'s (default: this wallet's) newest uncertified, valid registration of
        `blob_id` with the same deletability lasting at least until `end_epoch`; None if
        there is none. A retried store pays nothing twice (also the upload relay's rule)."""
        owner = owner or self._address()
        event = self.registry.contract.events.BlobRegistered
        topic = "0x" + bytes(Web3.keccak(text=event.signature)).hex()
        owner_topic = "0x" + bytes(12).hex() + owner[2:].lower()
        logs = self.chain.w3.eth.get_logs(
            {
                "address": self.registry.address,
                "fromBlock": self.events_from_block,
                "toBlock": "latest",
                "topics": [topic, None, blob_id.hex(), owner_topic],
            }
        )
        for log in reversed(logs):
            token_id = int.from_bytes(bytes(log["topics"][1]), "big")
            try:
                info = self.registry.blob_info(token_id)
            except ContractRevert:  # deleted or burned: not reusable
                continue
            if (
                info.owner.lower() == owner.lower()
                and not info.is_certified
                and not info.invalidated
                and info.deletable == deletable
                and info.end_epoch > epoch
                and info.end_epoch >= end_epoch
            ):
                return info
        return None

    def collect_confirmations(
        self,
        encoded: EncodedBlob | SliverUpload,
        deletable: bool,
        token_id: int,
        epoch: int,
        progress: Progress | None,
    ) -> tuple[bytes, bytes, list[str]]:
        """Upload to every committee node of `epoch` in parallel (each node's slivers in
        parallel too, bounded); return (signer bitmap, aggregate signature, failed nodes)
        once the confirming nodes hold the quorum.

        Public for callers whose registration is signed elsewhere (the backend's upload
        relay: a browser wallet registers and certifies, the backend moves the slivers)."""
        view = self.epochs.committee(epoch)
        committee, quorum = view.committee, view.quorum
        n = len(view.assignment)
        upload_of: SliverUpload = (
            EncodedUpload(encoded) if isinstance(encoded, EncodedBlob) else encoded
        )
        blob_id = upload_of.metadata.blob_id
        bound_token = token_id if deletable else 0
        message = blob_certification_message(
            self.chain.chain_id, self.registry.address, epoch, blob_id.raw, deletable, bound_token
        )
        pairs_of: dict[int, list[int]] = {}
        for pair in range(n):
            pairs_of.setdefault(view.assignment[shard_of_pair(blob_id, pair, n)], []).append(pair)
        members = view.members
        metadata_bytes = upload_of.metadata.to_bytes()
        targets = view.holders

        def upload(node_id: int) -> tuple[str, BlsPublicKey, BlsSignature]:
            node = self.node(node_id)
            node.put_metadata(blob_id, metadata_bytes)
            bodies = [
                body for pair in pairs_of.get(node_id, []) for body in upload_of.pair_bodies(pair)
            ]
            # large slivers: at most LARGE_SLIVERS_PER_NODE in flight to one node (more only
            # share its CPU and time out); small ones all at once (latency)
            large = sum(len(body) for _, body in bodies) > LARGE_UPLOAD_BYTES
            wave = LARGE_SLIVERS_PER_NODE if large else max(len(bodies), 1)
            pairs = [pair for pair in pairs_of.get(node_id, []) for _ in range(2)]
            for start in range(0, len(bodies), wave):
                puts = [
                    self._requests.submit(node.put_sliver, blob_id, pair, kind, body)
                    for pair, (kind, body) in zip(
                        pairs[start : start + wave], bodies[start : start + wave], strict=True
                    )
                ]
                for put in puts:
                    put.result()
            confirmation = node.confirmation(blob_id, deletable=deletable, token_id=bound_token)
            # right after an epoch change a node may not have followed it yet: wait briefly
            catch_up = time.monotonic() + NODE_EPOCH_CATCH_UP_SECONDS
            while confirmation.epoch < epoch and time.monotonic() < catch_up:
                time.sleep(0.25)
                confirmation = node.confirmation(blob_id, deletable=deletable, token_id=bound_token)
            try:
                signature = BlsSignature.from_eip2537(confirmation.signature)
                key = self.epochs.member_key(epoch, members[node_id])
            except CoreError as error:
                raise NodeRequestFailed(node.name, f"bad signature: {error}") from None
            if confirmation.epoch != epoch:
                self.epochs.forget_epoch()
                raise NodeRequestFailed(
                    node.name, f"confirmed for epoch {confirmation.epoch}, not {epoch}"
                )
            return node.name, key, signature

        weight = 0
        signatures: dict[int, BlsSignature] = {}
        unchecked: dict[int, tuple[str, BlsPublicKey, BlsSignature]] = {}
        failures: list[str] = []
        pending = {self._uploads.submit(upload, node_id): node_id for node_id in targets}
        try:
            for done in futures.as_completed(pending):
                node_id = pending[done]
                try:
                    unchecked[members[node_id]] = done.result()
                except NodeRequestFailed as error:
                    failures.append(str(error))
                    continue
                weight += view.shards_of(node_id)
                if progress is not None:
                    progress("confirm", min(weight, quorum), quorum)
                if weight < quorum:
                    continue
                # verified once the quorum is in: one aggregate check instead of one per node
                good, bad = _verified_signatures(unchecked, message)
                signatures.update(good)
                unchecked.clear()
                for member, name in bad.items():
                    failures.append(f"{name}: signature does not verify")
                    weight -= view.shards_of(committee.node_ids[member])
                if weight >= quorum:
                    break
        finally:
            for upload_future in pending:  # uploads already running go on in the background
                if not upload_future.cancel() and not upload_future.done():
                    with self._lock:
                        self._background_uploads.add(upload_future)
                    upload_future.add_done_callback(self._upload_finished)
        not_confirmed = failures + [
            f"{self.node(node_id).name}: {SLOWER_THAN_QUORUM}"
            for node_id in targets
            if members[node_id] not in signatures
            and not any(f.startswith(self.node(node_id).name) for f in failures)
        ]
        if weight < quorum:
            raise NotEnoughConfirmations(str(blob_id), token_id, weight, quorum, not_confirmed)
        certificate = aggregate_certificate(len(committee.node_ids), signatures)
        return certificate.signers, certificate.signature, not_confirmed

    def _upload_finished(self, upload: futures.Future[Any]) -> None:
        with self._lock:
            self._background_uploads.discard(upload)

    def wait_for_background_uploads(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for the uploads to nodes slower than the quorum that
        are still running after their stores returned; the number still running then (a
        node that misses its slivers recovers them from its peers)."""
        with self._lock:
            running = list(self._background_uploads)
        _, not_done = futures.wait(running, timeout=timeout)
        return len(not_done)

    # ------------------------------------------------------------ read

    def check_readable(self, blob_id: BlobId) -> None:
        """Raise the precise reason why `blob_id` cannot be read now, if any. One chain call
        when it can be read (the contract compares with its own current epoch); the reason,
        which takes a few more, only when it cannot."""
        if self.registry.is_certified(blob_id.raw):
            return
        status = self.status(blob_id, ask_nodes=False)
        if status.state == "certified":
            return
        text = str(blob_id)
        if status.state == "deleted":
            raise BlobDeleted(f"blob {text} was deleted by its owner")
        if status.state == "nonexistent":
            raise BlobNotFound(f"blob {text} does not exist on this network")
        if status.state == "invalid":
            raise BlobInvalid(f"blob {text} was invalidated by the storage nodes")
        if status.state == "expired":
            raise BlobExpired(
                f"blob {text} expired at epoch {status.certified_until} "
                f"(current epoch {status.current_epoch})"
            )
        raise BlobNotCertified(f"blob {text} is registered but not certified")

    def _was_deleted(self, blob_id: BlobId) -> bool:
        event = self.registry.contract.events.BlobDeleted
        logs = self.chain.w3.eth.get_logs(
            {
                "address": self.registry.address,
                "fromBlock": self.events_from_block,
                "toBlock": "latest",
                "topics": [
                    "0x" + bytes(Web3.keccak(text=event.signature)).hex(),
                    None,
                    blob_id.hex(),
                ],
            }
        )
        return bool(logs)

    def read(self, blob_id: BlobId | str, *, progress: Progress | None = None) -> bytes:
        """The blob's bytes, decoded from `p` verified primary slivers (the systematic ones
        first: then no decoding is needed), or from `s` verified secondary slivers when the
        primaries cannot be gathered. The chain is asked whether the blob is readable while
        the slivers are fetched; a blob that is not readable raises that precise reason."""
        blob = blob_id if isinstance(blob_id, BlobId) else BlobId.from_base64(blob_id)
        pool = self._requests
        readable = pool.submit(self.check_readable, blob)
        view = self.epochs.committee()
        metadata = pool.submit(self._metadata, blob, view)
        try:
            slivers = self._gather_slivers(pool, blob, view, metadata, progress)
        except SdkError:
            readable.result()  # the chain's reason (deleted, expired...) comes first
            raise
        readable.result()
        return decode_blob(metadata.result(), slivers)

    def _reject(self, node_name: str, what: str) -> None:
        with self._lock:
            self._rejected[(node_name, what)] += 1

    def rejected_answers(self) -> dict[tuple[str, str], int]:
        """How many answers of each node failed verification (what: "metadata", "primary"
        or "secondary" sliver) since this client started: evidence of a lying or corrupted
        node, which reads route around."""
        with self._lock:
            return dict(self._rejected)

    def _metadata(self, blob_id: BlobId, view: EpochCommittee) -> VerifiedMetadata:
        failures = []
        nodes = [self.node(node_id) for node_id in view.holders]
        for node in random.sample(nodes, len(nodes)):
            try:
                raw = node.get_metadata(blob_id)
                return verify_metadata(blob_id, UnverifiedMetadata.from_bytes(raw))
            except CoreError as error:
                self._reject(node.name, "metadata")
                failures.append(f"{node.name}: {error}")
            except NodeRequestFailed as error:
                failures.append(str(error))  # already "<node>: <reason>"
        raise NotEnoughSlivers(f"no node served valid metadata of {blob_id}: {'; '.join(failures)}")

    def _gather_slivers(
        self,
        pool: futures.ThreadPoolExecutor,
        blob_id: BlobId,
        view: EpochCommittee,
        metadata: futures.Future[VerifiedMetadata],
        progress: Progress | None,
    ) -> list[VerifiedSliver]:
        """p verified primaries, else s verified secondaries (then the primaries already
        verified are returned too: the decoder uses whichever set is complete)."""
        n = len(view.assignment)
        params = EncodingParams(n)
        others = random.sample(range(params.p, n), n - params.p)
        primaries, primary_failures = self._fetch_verified(
            pool, blob_id, view, metadata, SliverKind.PRIMARY,
            [*range(params.p), *others], params.p, progress,
        )  # fmt: skip
        if len(primaries) >= params.p:
            return primaries
        secondaries, secondary_failures = self._fetch_verified(
            pool, blob_id, view, metadata, SliverKind.SECONDARY,
            random.sample(range(n), n), params.s, progress,
        )  # fmt: skip
        if len(secondaries) >= params.s:
            return secondaries
        raise NotEnoughSlivers(
            f"blob {blob_id}: {len(primaries)} of {params.p} primary and {len(secondaries)} "
            f"of {params.s} secondary slivers verified; failures: "
            f"{'; '.join(primary_failures + secondary_failures)}"
        )

    def _fetch_verified(
        self,
        pool: futures.ThreadPoolExecutor,
        blob_id: BlobId,
        view: EpochCommittee,
        metadata: futures.Future[VerifiedMetadata],
        kind: SliverKind,
        order: list[int],
        needed: int,
        progress: Progress | None,
    ) -> tuple[list[VerifiedSliver], list[str]]:
        """Fetch the first `needed` slivers of `kind` in `order` at once, replacing each
        failure with the next pair, until `needed` verify. No spare request up front: for
        primaries the first p are the systematic ones, which need no decoding, and a spare
        that answers first would force a decode of the whole blob."""
        n = len(view.assignment)

        def fetch(pair: int) -> VerifiedSliver:
            node = self.node(view.assignment[shard_of_pair(blob_id, pair, n)])
            name = kind.name.lower()
            try:
                sliver = node.get_unverified_sliver(blob_id, pair, kind)
                index = pair if kind is SliverKind.PRIMARY else secondary_index_of_pair(pair, n)
                if sliver.kind is not kind or sliver.index != index:
                    self._reject(node.name, name)
                    raise NodeRequestFailed(node.name, f"sent another sliver than {name} {pair}")
                checked_against = metadata.result()
                with self._verify_slots:
                    return verify_sliver(checked_against, sliver)
            except CoreError as error:
                self._reject(node.name, name)
                raise NodeRequestFailed(
                    node.name, f"invalid {name} sliver {pair}: {error}"
                ) from None

        slivers: list[VerifiedSliver] = []
        failures: list[str] = []
        queued = list(reversed(order))
        pending = {pool.submit(fetch, queued.pop()) for _ in range(min(needed, len(queued)))}
        while pending and len(slivers) < needed:
            done, pending = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
            for finished in done:
                try:
                    slivers.append(finished.result())
                    if progress is not None:
                        progress("read", min(len(slivers), needed), needed)
                except NodeRequestFailed as error:
                    failures.append(str(error))
                    if queued:
                        pending.add(pool.submit(fetch, queued.pop()))
                except SdkError as error:  # no metadata: no sliver can be verified
                    failures.append(str(error))
                    return slivers, failures
        for left in pending:
            left.cancel()
        return slivers, failures

    # ------------------------------------------------------------ ownership

    def delete(self, token_id: int) -> int:
        """Delete a deletable blob this wallet owns; returns the refund in FROST."""
        return self.registry.delete_blob(token_id).refund

    def extend(self, token_id: int, extra_epochs: int) -> int:
        """Pay for `extra_epochs` more epochs; returns the new end epoch."""
        if extra_epochs < 1:
            raise InvalidEpochs(f"extra epochs must be at least 1, got {extra_epochs}")
        with self._payment_lock:
            permit = self._payment(
                self.registry.extension_cost(token_id, extra_epochs), action="the extension"
            )
            return self.registry.extend_blob(token_id, extra_epochs, permit=permit).end_epoch

    def share(self, token_id: int, to: str) -> None:
        """Transfer the blob token (delete/extend rights) to another address."""
        if not is_address(to):
            raise InvalidAddress(to)
        self.registry.transfer(token_id, to)

    def list_blobs(self, owner: str | None = None) -> list[BlobInfo]:
        """Registrations whose token `owner` (default: this wallet) holds now."""
        if owner is not None and not is_address(owner):
            raise InvalidAddress(owner)
        address = Web3.to_checksum_address(owner or self._address())
        transfer = "0x" + bytes(Web3.keccak(text="Transfer(address,address,uint256)")).hex()
        logs = self.chain.w3.eth.get_logs(
            {
                "address": self.registry.address,
                "fromBlock": self.events_from_block,
                "toBlock": "latest",
                "topics": [transfer, None, "0x" + bytes(12).hex() + address[2:].lower()],
            }
        )
        token_ids = sorted({int.from_bytes(bytes(log["topics"][3]), "big") for log in logs})
        owned = []
        for token_id in token_ids:
            try:
                info = self.registry.blob_info(token_id)
            except ContractRevert:  # deleted or burned since
                continue
            if info.owner == address:
                owned.append(info)
        return owned

    def attribute(self, token_id: int, key: str) -> str | None:
        return self.registry.attribute(token_id, key)

    def set_attribute(self, token_id: int, key: str, value: str) -> None:
        self.registry.set_attribute(token_id, key, value)

    def remove_attribute(self, token_id: int, key: str) -> None:
        self.registry.remove_attribute(token_id, key)

    # ------------------------------------------------------------ network

    def info(self) -> dict[str, Any]:
        """Epoch, committee, prices and encoding parameters, as plain JSON values."""
        epoch = self.staking.current_epoch()
        # epoch 0 is genesis: nodes register and stake, no committee exists until epoch 1
        members: list[tuple[int, int]] = []
        if epoch > 0:
            committee = self.staking.committee(epoch)
            members = list(zip(committee.node_ids, committee.shard_counts, strict=True))
        prices = self.staking.prices()
        params = EncodingParams(self.n_shards)
        return {
            "chain_id": self.chain.chain_id,
            "epoch": epoch,
            "n_shards": params.n_shards,
            "f": params.f,
            "quorum_shards": self.staking.quorum_weight(),
            "max_epochs_ahead": self.registry.max_epochs_ahead(),
            "storage_price_frost_per_mib_epoch": prices.storage_price,
            "write_price_frost_per_mib": prices.write_price,
            "committee": [
                {"node_id": node_id, "shards": count, "url": self.node(node_id).url}
                for node_id, count in members
            ],
            "contracts": {
                "staking": self.staking.address,
                "blob_registry": self.registry.address,
                "wal": self.wal.address,
            },
        }

    def health(self) -> list[dict[str, Any]]:
        """Every committee node's health answer, or its error."""
        nodes = self.committee_nodes()

        def ask(node: NodeClient) -> dict[str, Any]:
            try:
                return {"node_id": node.node_id, "url": node.url, "ok": True, **node.health()}
            except NodeRequestFailed as error:
                return {
                    "node_id": node.node_id,
                    "url": node.url,
                    "ok": False,
                    "error": error.reason,
                }

        with futures.ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_NODES, len(nodes))) as pool:
            return list(pool.map(ask, nodes))

    # ------------------------------------------------------------ status

    def status(self, blob_id: BlobId | str, *, ask_nodes: bool = True) -> BlobStatus:
        blob = blob_id if isinstance(blob_id, BlobId) else BlobId.from_base64(blob_id)
        chain_status = self.registry.blob_id_status(blob.raw)
        epoch = self.staking.current_epoch()
        until = max(chain_status.permanent_certified_until, chain_status.deletable_certified_until)
        if chain_status.invalidated:
            state = "invalid"
        elif until > epoch:
            state = "certified"
        elif until > 0:
            state = "expired"
        elif chain_status.registrations > 0:
            state = "registered"
        else:
            state = "deleted" if self._was_deleted(blob) else "nonexistent"
        holders = None
        if ask_nodes:
            holders = 0
            for node in self.committee_nodes(epoch):
                try:
                    holders += bool(node.status(blob).get("metadata"))
                except NodeRequestFailed:
                    continue
        return BlobStatus(blob, state, chain_status.registrations, until, epoch, holders)
