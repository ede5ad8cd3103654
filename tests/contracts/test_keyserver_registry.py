"""KeyServerRegistry on anvil: operators register Seal key servers (name, URL, X25519 key),
move and deregister their own; anyone lists them; bad input reverts by name."""

from __future__ import annotations

import pytest

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.keyserver_registry import KeyServerRegistryContract, RegisteredKeyServer
from backend.core.seal.envelope import X25519KeyPair
from tests.contracts.blob_registry_env import funded_clients_fixture, restore_chain_fixture, reverts

pytestmark = pytest.mark.usefixtures("snapshot")

restore_chain = restore_chain_fixture()
operators = funded_clients_fixture(b"ks-operator", 2)


@pytest.fixture
def registry(chain: ChainClient, artifacts: Artifacts) -> KeyServerRegistryContract:
    """A fresh registry per test (the deployed one is left to the SDK tests)."""
    contract, _ = chain.deploy(
        artifacts.abi("KeyServerRegistry"), artifacts.bytecode("KeyServerRegistry")
    )
    return KeyServerRegistryContract(chain, contract)


def _key() -> bytes:
    return X25519KeyPair.generate().public_key


def test_register_list_update_and_deregister(
    registry: KeyServerRegistryContract, operators: list[ChainClient]
) -> None:
    alice, bob = (registry.as_account(operator) for operator in operators)
    key_a, key_b, key_c = _key(), _key(), _key()
    assert registry.all() == []
    assert alice.register("alice-1", "http://127.0.0.1:9301", key_a) == 1
    assert bob.register("bob", "https://seal.bob.example", key_b) == 2
    assert alice.register("alice-2", "http://127.0.0.1:9302", key_c) == 3  # several per operator
    first = RegisteredKeyServer(
        1, operators[0].address, "alice-1", "http://127.0.0.1:9301", key_a, True
    )
    assert registry.key_server(1) == first
    assert [server.id for server in registry.all()] == [1, 2, 3]
    assert registry.id_of_key(key_b) == 2 and registry.id_of_key(_key()) == 0

    alice.update_url(1, "http://127.0.0.1:9399")
    assert registry.key_server(1).url == "http://127.0.0.1:9399"
    with reverts("KeyServerRegistryNotOperator", 1, operators[1].address):
        bob.update_url(1, "http://evil.example")
    with reverts("KeyServerRegistryNotOperator", 2, operators[0].address):
        alice.deregister(2)

    bob.deregister(2)
    assert [server.id for server in registry.active()] == [1, 3]
    assert registry.key_server(2).active is False and len(registry.all()) == 3
    with reverts("KeyServerRegistryInactive", 2):
        bob.update_url(2, "http://127.0.0.1:1")
    with reverts("KeyServerRegistryInactive", 2):
        bob.deregister(2)
    # a key stays with its entry for good: not even its operator re-registers it
    with reverts("KeyServerRegistryDuplicateKey", key_b, 2):
        bob.register("bob-again", "https://seal.bob.example", key_b)


def test_bad_input_reverts_by_name(
    registry: KeyServerRegistryContract, operators: list[ChainClient]
) -> None:
    alice = registry.as_account(operators[0])
    key = _key()
    with reverts("KeyServerRegistryEmptyUrl"):
        alice.register("a", "", key)
    with reverts("KeyServerRegistryEmptyName"):
        alice.register("", "http://127.0.0.1:1", key)
    with reverts("KeyServerRegistryZeroKey"):
        alice.register("a", "http://127.0.0.1:1", bytes(32))
    with reverts("KeyServerRegistryNameTooLong", 65, 64):
        alice.register("n" * 65, "http://127.0.0.1:1", key)
    with reverts("KeyServerRegistryUrlTooLong", 257, 256):
        alice.register("a", "http://" + "u" * 250, key)
    alice.register("a", "http://127.0.0.1:1", key)
    with reverts("KeyServerRegistryDuplicateKey", key, 1):  # another operator, same key
        registry.as_account(operators[1]).register("b", "http://127.0.0.1:2", key)
    with reverts("KeyServerRegistryEmptyUrl"):
        alice.update_url(1, "")
    for missing in (0, 2):
        with reverts("KeyServerRegistryUnknownKeyServer", missing):
            alice.key_server(missing)
        with reverts("KeyServerRegistryUnknownKeyServer", missing):
            alice.deregister(missing)
    assert [server.name for server in registry.all()] == ["a"]


def test_devnet_deployment_includes_the_registry(
    deployment: Deployment, chain: ChainClient, artifacts: Artifacts
) -> None:
    deployed = KeyServerRegistryContract.at(
        chain, deployment.address("KeyServerRegistry"), artifacts
    )
    assert deployed.client.call(deployed.contract.functions.MAX_URL_BYTES()) == 256
    assert artifacts.sizes()["KeyServerRegistry"] < 24_576
