"""A real Staking + BlobRegistry pair on anvil with a BLS-keyed committee, for the registry
tests (test_blob_registry*.py, test_wal_conservation.py).

Nodes are registered with blspy keys and proofs of possession, stake WAL, and the epoch
changes with `evm_increaseTime` + `initiateEpochChange`, exactly as on a devnet. Signing a
certificate uses backend.core's message builders, independently of the contract's own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account
from web3.contract import Contract

from backend.chain.challenges import StorageChallengesContract, deploy_challenges
from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.errors import ContractRevert
from backend.chain.registry import (
    BlobRegistered,
    BlobRegistryContract,
    RegistryParameters,
    deploy_registry,
    signer_bitmap,
)
from backend.chain.staking import StakingContract, StakingParameters, deploy_staking
from backend.core.blob_id import compute_blob_id
from backend.core.bls import BlsSecretKey, aggregate_signatures
from backend.core.encoder import EncodedBlob
from backend.core.intents import blob_certification_message, invalid_blob_message

EPOCH_SECONDS = 1_000
STORAGE_PRICE = 1_000
WRITE_PRICE = 300
USER_WAL = 10**15
"""FROST given to each test user (1,000,000 WAL)."""


def funded_account(
    chain: ChainClient,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    private_key: bytes,
    wal_amount: int = USER_WAL,
) -> ChainClient:
    """The account of `private_key`, sent 10 ETH for gas and `wal_amount` FROST by dev
    account 0."""
    account = Account.from_key(private_key)
    chain.send_value(account.address, 10**19)
    if wal_amount:
        chain.transact(wal.functions.transfer(account.address, wal_amount))
    return client_for(bytes(account.key))


def fresh_client(
    chain: ChainClient,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    seed: bytes,
    wal_amount: int = USER_WAL,
) -> ChainClient:
    """A new account (key derived from `seed`) funded with ETH for gas and WAL."""
    key = hashlib.sha256(b"registry-test" + seed).digest()
    return funded_account(chain, wal, client_for, key, wal_amount)


def restore_chain_after(chain: ChainClient) -> Iterator[None]:
    """Body of a module-scoped autouse fixture: undo the module's chain changes (fresh funded
    accounts, deployments) at its end, so session-level balances stay as deployed."""
    snapshot_id = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield
    chain.w3.provider.make_request("evm_revert", [snapshot_id])  # type: ignore[arg-type]
    chain.reset_nonces()


# ------------------------------------------------------------------ fixture factories
# A test module assigns what these return to the fixture's name (pytest registers module
# attributes that are fixtures under the attribute's name), e.g.
#     restore_chain = restore_chain_fixture()
#     operators = funded_clients_fixture(b"wal-operator", 3)
#     env = registry_env_fixture(STAKES, n_shards=10)


def restore_chain_fixture() -> Any:
    """Module-scoped autouse fixture: the chain as it was before the module, at its end."""

    @pytest.fixture(scope="module", autouse=True)
    def restore_chain(chain: ChainClient) -> Iterator[None]:
        yield from restore_chain_after(chain)

    return restore_chain


def funded_clients_fixture(prefix: bytes, count: int) -> Any:
    """Module-scoped fixture: `count` fresh_client accounts, seeds `prefix` + index byte."""

    @pytest.fixture(scope="module")
    def clients(
        chain: ChainClient, wal: Contract, client_for: Callable[[bytes], ChainClient]
    ) -> list[ChainClient]:
        return [fresh_client(chain, wal, client_for, prefix + bytes([i])) for i in range(count)]

    return clients


def funded_client_fixture(seed: bytes) -> Any:
    """Module-scoped fixture: one fresh_client account of `seed`."""

    @pytest.fixture(scope="module")
    def client(
        chain: ChainClient, wal: Contract, client_for: Callable[[bytes], ChainClient]
    ) -> ChainClient:
        return fresh_client(chain, wal, client_for, seed)

    return client


def registry_env_fixture(stakes: Sequence[int], **options: Any) -> Any:
    """Module-scoped fixture: build_env over the module's `operators` fixture (all of them,
    one node per stake) with `options` (n_shards, max_epochs_ahead, start_epoch)."""

    @pytest.fixture(scope="module")
    def env(
        chain: ChainClient, artifacts: Artifacts, wal: Contract, operators: list[ChainClient]
    ) -> RegistryEnv:
        return build_env(chain, artifacts, wal, operators, stakes, **options)

    return env


def blob_fields(
    size: int, salt: bytes = b"", encoding_type: int = 2
) -> tuple[bytes, bytes, int, int]:
    """(blob id, root hash, size, encoding type) of a made-up blob, the id as core computes it."""
    root = hashlib.sha256(b"root" + salt + size.to_bytes(8, "big")).digest()
    return compute_blob_id(encoding_type, size, root).raw, root, size, encoding_type


@dataclass
class RegistryEnv:
    chain: ChainClient
    wal: Contract
    staking: StakingContract
    registry: BlobRegistryContract
    """Bound to the owner's account (dev account 0)."""
    operators: list[ChainClient]
    keys: list[BlsSecretKey]
    """BLS keys of the nodes, in node id order (= committee order when all are members)."""
    node_ids: list[int] = field(default_factory=list)

    # -------------------------------------------------------------- chain and epochs

    def advance(self, seconds: int) -> None:
        self.chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def next_epoch(self) -> int:
        """End the current epoch and start the next; returns the new epoch number."""
        if self.staking.current_epoch() > 0:
            self.advance(EPOCH_SECONDS + 1)
        return self.staking.initiate_epoch_change().epoch

    def epoch(self) -> int:
        return self.staking.current_epoch()

    # -------------------------------------------------------------- users

    def as_user(self, client: ChainClient) -> BlobRegistryContract:
        return self.registry.as_account(client)

    def approve(self, client: ChainClient, amount: int) -> None:
        client.transact(self.wal.functions.approve(self.registry.address, amount))

    def wal_balance(self, address: str) -> int:
        return int(self.wal.functions.balanceOf(address).call())

    def register(
        self,
        client: ChainClient,
        size: int = 1_000,
        epochs: int = 3,
        *,
        deletable: bool = True,
        salt: bytes = b"",
        approve: bool = True,
    ) -> BlobRegistered:
        """Register a made-up blob from `client`, approving exactly its cost first."""
        blob_id, root, size, encoding = blob_fields(size, salt)
        if approve:
            self.approve(client, self.registry.registration_cost(size, epochs).total)
        return self.as_user(client).register_blob(
            blob_id, root, size, encoding, epochs, deletable=deletable
        )

    def register_encoded(
        self, client: ChainClient, encoded: EncodedBlob, epochs: int, *, deletable: bool = False
    ) -> BlobRegistered:
        """Register a really encoded blob from `client`, approving exactly its cost first."""
        metadata = encoded.metadata
        size = metadata.unencoded_length
        self.approve(client, self.registry.registration_cost(size, epochs).total)
        return self.as_user(client).register_blob(
            encoded.blob_id.raw,
            metadata.metadata.root_hash(),
            size,
            metadata.encoding_type,
            epochs,
            deletable=deletable,
        )

    def deploy_challenges(self, artifacts: Artifacts, window: int) -> StorageChallengesContract:
        """A StorageChallenges over this Staking and registry (answer window in blocks)."""
        return deploy_challenges(
            self.chain,
            artifacts.abi("StorageChallenges"),
            artifacts.bytecode("StorageChallenges"),
            self.staking.address,
            self.registry.address,
            window,
        )

    # -------------------------------------------------------------- certificates

    def committee_keys(self, epoch: int | None = None) -> list[BlsSecretKey]:
        """The members' secret keys in committee order."""
        committee = self.staking.committee(epoch)
        by_node = dict(zip(self.node_ids, self.keys, strict=True))
        return [by_node[node_id] for node_id in committee.node_ids]

    def sign(self, message: bytes, signers: Sequence[int], epoch: int | None = None) -> bytes:
        """Aggregate signature of the committee members at `signers` (committee indices)."""
        keys = self.committee_keys(epoch)
        return aggregate_signatures([keys[i].sign(message) for i in signers]).to_eip2537()

    def bitmap(self, signers: Sequence[int], epoch: int | None = None) -> bytes:
        return signer_bitmap(len(self.staking.committee(epoch).node_ids), signers)

    def certification_message(self, registered: BlobRegistered, epoch: int | None = None) -> bytes:
        """What the committee signs to certify `registered` in `epoch` (default: current),
        built by backend.core, independently of the contract's own builder."""
        return blob_certification_message(
            self.chain.chain_id,
            self.registry.address,
            self.epoch() if epoch is None else epoch,
            registered.blob_id,
            registered.deletable,
            registered.token_id if registered.deletable else 0,
        )

    def certification(
        self,
        registered: BlobRegistered,
        signers: Sequence[int],
        *,
        epoch: int | None = None,
        committee_epoch: int | None = None,
    ) -> tuple[bytes, bytes]:
        """(bitmap, signature) of `signers` over the blob's certification message for `epoch`
        (default: current), signed by the keys of `committee_epoch`'s committee."""
        epoch = self.epoch() if epoch is None else epoch
        message = self.certification_message(registered, epoch)
        committee_epoch = epoch if committee_epoch is None else committee_epoch
        return (
            self.bitmap(signers, committee_epoch),
            self.sign(message, signers, committee_epoch),
        )

    def certify(self, registered: BlobRegistered, signers: Sequence[int] | None = None) -> None:
        committee_size = len(self.staking.committee().node_ids)
        chosen = list(range(committee_size)) if signers is None else signers
        bitmap, signature = self.certification(registered, chosen)
        self.registry.certify_blob(registered.token_id, bitmap, signature)

    def invalidation(self, blob_id: bytes, signers: Sequence[int]) -> tuple[bytes, bytes]:
        message = invalid_blob_message(
            self.chain.chain_id, self.registry.address, self.epoch(), blob_id
        )
        return self.bitmap(signers), self.sign(message, signers)


def build_env(
    chain: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    operators: Sequence[ChainClient],
    stakes: Sequence[int],
    *,
    n_shards: int = 10,
    max_epochs_ahead: int = 10,
    start_epoch: bool = True,
) -> RegistryEnv:
    """Deploy Staking and BlobRegistry, register one node per stake (operator i, key i),
    stake, and (by default) start epoch 1 so the committee exists."""
    owner = chain.address
    staking = deploy_staking(
        chain,
        artifacts.abi("Staking"),
        artifacts.bytecode("Staking"),
        wal.address,
        owner,
        StakingParameters(
            n_shards=n_shards,
            epoch_duration=EPOCH_SECONDS,
            storage_price=STORAGE_PRICE,
            write_price=WRITE_PRICE,
            min_stake=1,
            max_committee_size=min(n_shards, 100),
            max_shard_share_bps=10_000,
        ),
    )
    registry = deploy_registry(
        chain,
        artifacts.abi("BlobRegistry"),
        artifacts.bytecode("BlobRegistry"),
        wal.address,
        staking.address,
        owner,
        RegistryParameters(max_epochs_ahead=max_epochs_ahead),
    )
    keys = [
        BlsSecretKey.from_seed(hashlib.sha256(b"registry-node" + bytes([i])).digest())
        for i in range(len(stakes))
    ]
    env = RegistryEnv(chain, wal, staking, registry, list(operators), keys)
    for index, amount in enumerate(stakes):
        operator = operators[index]
        as_operator = staking.as_account(operator)
        node_id = as_operator.register_node(
            f"node-{index}",
            f"http://127.0.0.1:{9200 + index}",
            keys[index],
            capacity=10**12,
        )
        env.node_ids.append(node_id)
        operator.transact(wal.functions.approve(staking.address, amount))
        as_operator.stake(node_id, amount)
    if start_epoch:
        env.next_epoch()
    return env


@contextmanager
def reverts(name: str, *arguments: object) -> Iterator[None]:
    """Expect a revert with the custom error `name` (and, if given, exactly `arguments`)."""
    with pytest.raises(ContractRevert) as raised:
        yield
    assert raised.value.name == name, f"expected {name}, got {raised.value}"
    if arguments:
        assert raised.value.arguments == arguments, f"{raised.value} != {name}{arguments}"
