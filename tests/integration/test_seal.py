"""Seal end to end: 3 key server processes (2-of-3) in front of the session anvil, the
4-node network storing the ciphertext. Key servers decide by eth_call at the latest block,
so policy changes (allowlist removal, time passing) take effect on the next request. Key
servers found through a KeyServerRegistry are held to their registered keys."""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from eth_account import Account
from nacl import bindings
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.devnet import Devnet
from backend.chain.keyserver_registry import KeyServerRegistryContract
from backend.chain.policies import PolicyContract, deploy_policy
from backend.chain.seal_session import sign_session
from backend.chain.seal_trust import SealTrust
from backend.core.routes import KEYSERVER_SHARE
from backend.core.seal.envelope import X25519KeyPair, open_share
from backend.core.seal.errors import MalformedSealHeader, SealTampered
from backend.core.seal.header import VERSION_SINGLE, SealHeader, parse_header
from backend.core.seal.shamir import combine_shares
from backend.sdk.client import Client
from backend.sdk.seal import (
    DuplicateKeyServer,
    KeyServer,
    KeyServerKeyMismatch,
    NoKeyServers,
    NotEnoughKeyShares,
    SealClient,
    WrongKeyServerSet,
    key_server_info,
    seal,
    unseal,
)
from tests.contracts.blob_registry_env import fresh_client
from tests.integration.network import Network
from tests.integration.seal_keyservers import (
    KeyServerProcess,
    attacker_key_servers,
    key_servers_running,
)
from tests.integration.user_client import network_client, publish_node_urls

MARKER = b"PLAINTEXT-MARKER-seal-9d41c7"
ID = bytes.fromhex("ab" * 32)


@pytest.fixture(scope="module")
def key_servers(
    anvil: Devnet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[KeyServerProcess]]:
    with key_servers_running(anvil.url, tmp_path_factory.mktemp("keyservers")) as servers:
        yield servers


@pytest.fixture
def all_key_servers(key_servers: list[KeyServerProcess]) -> Iterator[list[KeyServerProcess]]:
    yield key_servers
    for server in key_servers:
        if not server.running:
            server.start()


@pytest.fixture(scope="module")
def writer(network: Network, artifacts: Artifacts) -> Client:
    publish_node_urls(network)
    return network_client(network, artifacts)


@pytest.fixture(scope="module")
def reader_chain(
    chain: ChainClient, wal: Contract, client_for: Callable[[bytes], ChainClient]
) -> ChainClient:
    return fresh_client(chain, wal, client_for, b"seal-integration-reader")


@pytest.fixture(scope="module")
def allowlist(network: Network, artifacts: Artifacts) -> PolicyContract:
    user = network.user
    return PolicyContract.at(
        user, artifacts, "allowlist", deploy_policy(user, artifacts, "allowlist", user.address)
    )


def _urls(servers: list[KeyServerProcess]) -> list[str]:
    return [server.url for server in servers]


def test_allowed_reader_decrypts_then_removal_refuses(
    network: Network,
    artifacts: Artifacts,
    writer: Client,
    reader_chain: ChainClient,
    allowlist: PolicyContract,
    key_servers: list[KeyServerProcess],
) -> None:
    content = (MARKER * 4096 + os.urandom(1000)) * 24  # 2.6 MiB: three 1 MiB segments
    stored = SealClient(writer, _urls(key_servers)).store(
        content, policy=allowlist.address, identity=ID
    )
    reader = SealClient(network_client(network, artifacts, chain=reader_chain), _urls(key_servers))
    with pytest.raises(NotEnoughKeyShares, match="AccessDenied"):
        reader.read(stored.blob_id)
    allowlist.add_reader(reader_chain.address)
    assert reader.read(stored.blob_id) == content
    allowlist.remove_reader(reader_chain.address)
    with pytest.raises(NotEnoughKeyShares, match="AccessDenied") as refused:
        reader.read(stored.blob_id)
    assert "need 2 key shares, got 0" in str(refused.value)
    # storage nodes only ever saw ciphertext
    for node in network.nodes:
        for path in Path(node.data_dir).rglob("*"):
            if path.is_file():
                assert MARKER not in path.read_bytes(), f"plaintext in {path}"


def _sealed(
    policy: str, servers: list[KeyServerProcess], chain_id: int, plaintext: bytes = MARKER
) -> bytes:
    return seal(
        plaintext,
        chain_id=chain_id,
        policy=policy,
        identity=ID,
        key_servers=[key_server_info(server.url, chain_id) for server in servers],
    )


def _block_time(chain: ChainClient) -> int:
    return int(chain.w3.eth.get_block("latest")["timestamp"])


def _warp_to(chain: ChainClient, timestamp: int) -> None:
    chain.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
    chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def test_threshold_minus_one_key_servers_fail_clearly(
    writer: Client, allowlist: PolicyContract, all_key_servers: list[KeyServerProcess]
) -> None:
    servers = all_key_servers
    chain_id = writer.chain.chain_id
    sealed = _sealed(allowlist.address, servers, chain_id)
    account = writer.chain.account
    assert account is not None
    servers[0].stop()
    servers[1].stop()
    with pytest.raises(NotEnoughKeyShares, match="1 of the 3 configured ones are reachable"):
        unseal(sealed, account=account, chain_id=chain_id, key_server_urls=_urls(servers))
    servers[1].start()
    assert (
        unseal(sealed, account=account, chain_id=chain_id, key_server_urls=_urls(servers)) == MARKER
    )


def test_time_lock_and_subscription_decided_at_the_latest_block(
    writer: Client,
    artifacts: Artifacts,
    reader_chain: ChainClient,
    wal: Contract,
    key_servers: list[KeyServerProcess],
) -> None:
    user, chain_id, urls = writer.chain, writer.chain.chain_id, _urls(key_servers)
    reader = reader_chain.account
    assert reader is not None
    time_lock = PolicyContract.at(
        user, artifacts, "time-lock", deploy_policy(user, artifacts, "time-lock")
    )
    opens = _block_time(user) + 60
    time_lock.lock(ID, opens)
    locked = _sealed(time_lock.address, key_servers, chain_id)
    _warp_to(user, opens - 1)
    with pytest.raises(NotEnoughKeyShares, match="AccessDenied"):
        unseal(locked, account=reader, chain_id=chain_id, key_server_urls=urls)
    _warp_to(user, opens)
    assert unseal(locked, account=reader, chain_id=chain_id, key_server_urls=urls) == MARKER

    price = 10**9
    subscription = PolicyContract.at(
        user,
        artifacts,
        "subscription",
        deploy_policy(user, artifacts, "subscription", wal.address, user.address, price),
    )
    paid = _sealed(subscription.address, key_servers, chain_id)
    until = PolicyContract(reader_chain, subscription.contract).subscribe(wal, 1)
    assert unseal(paid, account=reader, chain_id=chain_id, key_server_urls=urls) == MARKER
    _warp_to(user, until)
    with pytest.raises(NotEnoughKeyShares, match="AccessDenied"):
        unseal(paid, account=reader, chain_id=chain_id, key_server_urls=urls)


def _ask(server: KeyServerProcess, header: bytes, session: dict[str, object]) -> requests.Response:
    return requests.post(
        server.url + KEYSERVER_SHARE, json={"header": header.hex(), "session": session}, timeout=10
    )


def test_key_server_refuses_forged_wrong_chain_and_expired_sessions(
    writer: Client, allowlist: PolicyContract, key_servers: list[KeyServerProcess]
) -> None:
    chain_id = writer.chain.chain_id
    owner = writer.chain.account
    assert owner is not None
    sealed = _sealed(allowlist.address, key_servers, chain_id)
    header = sealed[: parse_header(sealed).size]
    session_key = X25519KeyPair.generate().public_key
    good = sign_session(owner, allowlist.address, session_key, int(time.time()) + 300, chain_id)
    assert _ask(key_servers[0], header, good.to_json()).status_code == 200

    stranger = Account.create()
    forged = sign_session(stranger, allowlist.address, session_key, good.expires_at, chain_id)
    forged_json = {**forged.to_json(), "requester": owner.address}  # claims to be the owner
    wrong_chain = sign_session(owner, allowlist.address, session_key, good.expires_at, chain_id + 1)
    expired = sign_session(owner, allowlist.address, session_key, int(time.time()) - 1, chain_id)
    for session, reason in (
        (forged_json, "not by"),
        (wrong_chain.to_json(), "for chain"),
        (expired.to_json(), "expired"),
    ):
        answer = _ask(key_servers[0], header, session)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "InvalidSession"
        assert reason in answer.json()["error"]["message"]
        assert "response" not in answer.json()


def test_bad_input_is_named_and_never_returns_plaintext(
    writer: Client, wal: Contract, allowlist: PolicyContract, key_servers: list[KeyServerProcess]
) -> None:
    chain_id = writer.chain.chain_id
    owner = writer.chain.account
    assert owner is not None
    urls = _urls(key_servers)
    sealed = _sealed(allowlist.address, key_servers, chain_id)
    tampered = bytearray(sealed)
    tampered[-20] ^= 0x01
    with pytest.raises(SealTampered):
        unseal(bytes(tampered), account=owner, chain_id=chain_id, key_server_urls=urls)
    with pytest.raises(MalformedSealHeader):
        unseal(sealed[:100], account=owner, chain_id=chain_id, key_server_urls=urls)
    two_of_two = _sealed(allowlist.address, key_servers[:2], chain_id)
    with pytest.raises(WrongKeyServerSet, match="holds no share"):  # only server 1 of the blob's
        unseal(two_of_two, account=owner, chain_id=chain_id, key_server_urls=urls[1:])
    unknown = _sealed("0x000000000000000000000000000000000000bEEF", key_servers, chain_id)
    with pytest.raises(NotEnoughKeyShares, match="UnknownPolicy"):
        unseal(unknown, account=owner, chain_id=chain_id, key_server_urls=urls)
    not_a_policy = _sealed(wal.address, key_servers, chain_id)
    with pytest.raises(NotEnoughKeyShares, match="NonConformingPolicy"):
        unseal(not_a_policy, account=owner, chain_id=chain_id, key_server_urls=urls)
    answer = requests.post(key_servers[0].url + KEYSERVER_SHARE, json={"header": "zz"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "MalformedSealHeader"


def test_version_1_blob_still_decrypts_through_the_key_servers(
    writer: Client, allowlist: PolicyContract, key_servers: list[KeyServerProcess]
) -> None:
    """A blob sealed before segments (one AEAD pass, header version 1) is still released by
    the key servers and decrypted by the SDK."""
    chain_id = writer.chain.chain_id
    owner = writer.chain.account
    assert owner is not None
    current = parse_header(_sealed(allowlist.address, key_servers, chain_id))
    data_key = combine_shares([open_share(current, server.key) for server in key_servers[:2]])
    nonce = os.urandom(24)
    v1_fields = {"version": VERSION_SINGLE, "segment_size": 0, "nonce": nonce}
    header = SealHeader(**{**current.__dict__, **v1_fields}).to_bytes()
    old = header + bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        MARKER, header, nonce, data_key
    )
    assert parse_header(old).version == 1
    urls = _urls(key_servers)
    assert unseal(old, account=owner, chain_id=chain_id, key_server_urls=urls) == MARKER


def test_read_does_not_wait_for_a_key_server_that_never_answers(
    writer: Client, allowlist: PolicyContract, key_servers: list[KeyServerProcess]
) -> None:
    """2-of-3 with the third server silent (a listener on 127.0.0.1 that accepts nothing):
    the two shares that came back decrypt at once instead of after the third's timeout."""
    chain_id = writer.chain.chain_id
    owner = writer.chain.account
    assert owner is not None
    sealed = _sealed(allowlist.address, key_servers, chain_id)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        infos: list[KeyServer | str] = [
            KeyServer(server.url, server.key.public_key) for server in key_servers[:2]
        ]
        infos.append(KeyServer(silent_url, key_servers[2].key.public_key))
        started = time.monotonic()
        opened = unseal(
            sealed,
            account=owner,
            chain_id=chain_id,
            key_server_urls=[*_urls(key_servers[:2]), silent_url],
            timeout=60,
            infos=infos,
        )
        assert opened == MARKER
        assert time.monotonic() - started < 30  # not the silent server's 60 s timeout


def _fresh_registry(
    chain: ChainClient, artifacts: Artifacts, entries: list[tuple[str, bytes]]
) -> KeyServerRegistryContract:
    """A KeyServerRegistry of this test's own with (url, public key) entries, in order."""
    contract, _ = chain.deploy(
        artifacts.abi("KeyServerRegistry"), artifacts.bytecode("KeyServerRegistry")
    )
    registry = KeyServerRegistryContract(chain, contract)
    for index, (url, public_key) in enumerate(entries):
        assert registry.register(f"test-{index}", url, public_key) == index + 1
    return registry


def test_key_servers_discovered_from_the_registry_encrypt_and_decrypt(
    writer: Client,
    artifacts: Artifacts,
    allowlist: PolicyContract,
    key_servers: list[KeyServerProcess],
) -> None:
    keys = [server.key.public_key for server in key_servers]
    registry = _fresh_registry(
        writer.chain, artifacts, [(server.url, server.key.public_key) for server in key_servers]
    )
    sealer = SealClient.from_registry(writer, registry, ids=[1, 2, 3])
    content = MARKER + os.urandom(3000)
    stored = sealer.store(content, policy=allowlist.address, identity=ID)
    header = parse_header(writer.read(stored.blob_id))
    # encrypted to the on-chain keys, in registry order
    assert [entry.server_public_key for entry in header.entries] == keys
    assert header.threshold == 2
    assert SealClient.from_registry(writer, registry, ids=[1, 2, 3]).read(stored.blob_id) == content
    chosen = SealClient.from_registry(writer, registry, ids=[3, 1])  # as Seal's object ids
    assert chosen.key_server_urls == [key_servers[2].url, key_servers[0].url]
    assert chosen.read(stored.blob_id) == content

    # a deregistered server is no longer encrypted to nor asked; 2 of 3 still decrypt
    registry.deregister(3)
    remaining = SealClient.from_registry(writer, registry, ids=[1, 2])
    assert remaining.key_server_urls == _urls(key_servers[:2])
    assert remaining.read(stored.blob_id) == content
    resealed = parse_header(remaining.seal(MARKER, policy=allowlist.address, identity=ID))
    assert [entry.server_public_key for entry in resealed.entries] == keys[:2]
    with pytest.raises(NoKeyServers, match=r"key server 3 \(test-2\) is deregistered"):
        SealClient.from_registry(writer, registry, ids=[1, 3])


def test_key_server_answering_another_key_than_registered_is_refused(
    writer: Client,
    artifacts: Artifacts,
    allowlist: PolicyContract,
    key_servers: list[KeyServerProcess],
) -> None:
    """Servers 0 and 1 registered with each other's key (a swapped or hijacked URL): the
    client neither encrypts to them nor asks them for shares."""
    zero, one, two = key_servers
    registry = _fresh_registry(
        writer.chain,
        artifacts,
        [
            (zero.url, one.key.public_key),
            (one.url, zero.key.public_key),
            (two.url, two.key.public_key),
        ],
    )
    sealer = SealClient.from_registry(writer, registry, ids=[1, 2, 3])
    with pytest.raises(KeyServerKeyMismatch) as refused:
        sealer.seal(MARKER, policy=allowlist.address, identity=ID)
    message = str(refused.value)
    assert message.startswith("KeyServerKeyMismatch: key server test-0 at " + zero.url)
    assert zero.key.public_key.hex() in message and one.key.public_key.hex() in message

    sealed = _sealed(allowlist.address, key_servers, writer.chain.chain_id)  # to the true keys
    with pytest.raises(NotEnoughKeyShares, match="KeyServerKeyMismatch") as too_few:
        sealer.decrypt(sealed)
    assert "1 of the 3 configured ones are reachable" in str(too_few.value)

    # two entries naming one URL: each is held to its own key, so one of them is refused
    shared_url = _fresh_registry(
        writer.chain, artifacts, [(zero.url, one.key.public_key), (zero.url, zero.key.public_key)]
    )
    with pytest.raises(KeyServerKeyMismatch, match="key server test-0 at"):
        SealClient.from_registry(writer, shared_url, ids=[1, 2]).seal(
            MARKER, policy=allowlist.address, identity=ID
        )
    # one server named twice would hold two shares and could decrypt alone
    with pytest.raises(DuplicateKeyServer, match="the same public key"):
        SealClient(writer, [zero.url, zero.url + "/", two.url]).seal(
            MARKER, policy=allowlist.address, identity=ID
        )


def test_key_servers_an_attacker_registers_get_nothing_by_default(
    writer: Client,
    artifacts: Artifacts,
    allowlist: PolicyContract,
    key_servers: list[KeyServerProcess],
    chain: ChainClient,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
) -> None:
    """The registry is open to anyone: an attacker registers t = 2 key servers of their own.
    A default client seals to the key servers the deployment trusts only, so the attacker's
    servers get no share of the blob and not one request."""
    registry = _fresh_registry(
        writer.chain, artifacts, [(server.url, server.key.public_key) for server in key_servers]
    )
    attacker = registry.as_account(fresh_client(chain, wal, client_for, b"seal-attacker"))
    deployment = Deployment(
        chain_id=writer.chain.chain_id,
        deploy_block=0,
        abi_hash=artifacts.abi_hash,
        contracts={"KeyServerRegistry": registry.address},
        seal=SealTrust((1, 2, 3), 2),
    )
    with attacker_key_servers(writer.chain.chain_id) as theirs:
        for index, server in enumerate(theirs):
            assert (
                attacker.register(f"evil-{index}", server.url, server.key.public_key) == 4 + index
            )
        sealer = SealClient.from_deployment(writer, deployment, artifacts)
        content = MARKER + os.urandom(1000)
        stored = sealer.store(content, policy=allowlist.address, identity=ID)
        header = parse_header(writer.read(stored.blob_id))
        assert [entry.server_public_key for entry in header.entries] == [
            server.key.public_key for server in key_servers
        ]
        assert header.threshold == 2
        assert sealer.read(stored.blob_id) == content
        assert [server.requests for server in theirs] == [[], []]

    with pytest.raises(NoKeyServers, match="no key server ids given: see the registered ones"):
        SealClient.from_registry(writer, registry, ids=[])
    untrusting = dataclasses.replace(deployment, seal=None)
    with pytest.raises(NoKeyServers, match=r"trusts no key servers: .*walrus keyserver list"):
        SealClient.from_deployment(writer, untrusting, artifacts)
    unknown = dataclasses.replace(deployment, seal=SealTrust((1, 9), 2))
    with pytest.raises(NoKeyServers, match="KeyServerRegistryUnknownKeyServer"):
        SealClient.from_deployment(writer, unknown, artifacts)
