"""ChainClient's direct JSON-RPC path (cached ABI coding, keep-alive http.client) answers
exactly as web3's own ``ContractFunction.call`` does: same values, same named reverts,
same error for a dead endpoint; receipts are formatted as web3 formats them."""

from __future__ import annotations

import socket
import threading
from functools import partial
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction

from backend.chain.client import ChainClient, InsufficientGasFunds, TransactionRejected
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.devnet import free_port
from backend.chain.errors import ChainUnreachable, ContractError, ContractRevert
from backend.chain.rpc import direct_connection
from tests.integration.web3_reference import requests_during


@pytest.fixture(scope="module")
def web3_only(chain: ChainClient, artifacts: Artifacts) -> ChainClient:
    """The same account and chain, every request through web3's provider (the reference)."""
    assert chain.account is not None
    w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
    w3.middleware_onion.remove("validation")
    client = ChainClient(chain.rpc_url, chain.account.key, w3=w3, error_abis=artifacts.all_abis())
    assert client.direct is None
    return client


def _views(
    deployment: Deployment, artifacts: Artifacts, chain: ChainClient, holder: str
) -> list[ContractFunction]:
    wal = deployment.contract(chain, artifacts, "WAL").functions
    registry = deployment.contract(chain, artifacts, "BlobRegistry").functions
    staking = deployment.contract(chain, artifacts, "Staking").functions
    return [
        wal.balanceOf(holder),  # uint256 from an address argument
        wal.decimals(),  # uint8
        wal.name(),  # string
        wal.delegates(holder),  # address, checksummed
        wal.eip712Domain(),  # bytes1, strings, address, bytes32, uint256[] as a list
        registry.blobIdStatus(b"\x07" * 32),  # a struct (tuple) from a bytes32 argument
        registry.registrationCost(1 << 20, 3),  # two outputs
        registry.attribute(0, "content-type"),  # bool and string from uint + string
        staking.candidateNodeIds(),  # uint256[]
        staking.committeeOf(0),  # two arrays
    ]


def test_views_return_what_web3_returns(
    chain: ChainClient,
    web3_only: ChainClient,
    deployment: Deployment,
    artifacts: Artifacts,
    dev_accounts: list[LocalAccount],
) -> None:
    assert chain.direct is not None, "the test chain URL is plain http: the direct path is on"
    for function in _views(deployment, artifacts, chain, dev_accounts[1].address):
        expected = _outcome(web3_only, function)
        answer, sent = requests_during(chain.w3, partial(_outcome, chain, function))
        assert sent == [("eth_call", False)], function.fn_name
        assert answer == expected, function.fn_name
        assert type(answer) is type(expected), function.fn_name
    domain = chain.call(deployment.contract(chain, artifacts, "WAL").functions.eip712Domain())
    assert isinstance(domain[6], list) and Web3.is_checksum_address(domain[4])


def test_reverts_raise_the_same_named_errors(
    chain: ChainClient,
    web3_only: ChainClient,
    deployment: Deployment,
    artifacts: Artifacts,
    dev_accounts: list[LocalAccount],
) -> None:
    wal = deployment.contract(chain, artifacts, "WAL").functions
    poor = dev_accounts[9].address
    reverting = [
        wal.transfer(poor, 10**40),  # custom error with arguments
        wal.checkpoints(poor, 10**6),  # Panic (array index out of bounds)
    ]
    for function in reverting:
        with pytest.raises(ContractRevert) as direct:
            chain.call(function, sender=poor)
        sent = requests_during(chain.w3, partial(_outcome, chain, function, poor))[1]
        assert sent == [("eth_call", False)], "decoded from the one answer, web3 not asked"
        with pytest.raises(ContractRevert) as reference:
            web3_only.call(function, sender=poor)
        assert (direct.value.name, str(direct.value)) == (
            reference.value.name,
            str(reference.value),
        )
        assert direct.value.data == reference.value.data
    with pytest.raises(ContractRevert, match=r"^ERC20InsufficientBalance\(0x"):
        chain.call(wal.transfer(poor, 10**40), sender=poor)


def test_a_dead_endpoint_gives_the_same_error(artifacts: Artifacts) -> None:
    dead_url = f"http://127.0.0.1:{free_port()}"
    messages = []
    for client in (
        ChainClient(dead_url),
        ChainClient(dead_url, w3=Web3(Web3.HTTPProvider(dead_url))),
    ):
        wal = client.contract("0x" + "11" * 20, artifacts.abi("WAL"))
        with pytest.raises(ChainUnreachable) as error:
            client.call(wal.functions.balanceOf("0x" + "22" * 20))
        messages.append(str(error.value))
    assert (
        messages[0]
        == messages[1]
        == (f"no EVM JSON-RPC endpoint answers at {dead_url} (ConnectionError)")
    )


def test_receipts_are_formatted_as_web3_formats_them(
    chain: ChainClient, web3_only: ChainClient, wal: Any, dev_accounts: list[LocalAccount]
) -> None:
    receipt = chain.transact(wal.functions.transfer(dev_accounts[8].address, 5))
    reference = web3_only.w3.eth.get_transaction_receipt(receipt["transactionHash"])
    assert receipt == reference
    assert receipt["status"] == 1 and isinstance(receipt["logs"][0]["topics"][0], bytes)
    assert wal.events.Transfer().process_receipt(receipt)[0]["args"]["value"] == 5


def test_threads_share_the_client_and_a_closed_connection_is_reopened(
    chain: ChainClient, wal: Any, dev_accounts: list[LocalAccount]
) -> None:
    expected = {a.address: wal.functions.balanceOf(a.address).call() for a in dev_accounts}
    seen: dict[str, set[int]] = {address: set() for address in expected}
    errors: list[BaseException] = []

    def read(address: str) -> None:
        try:
            for _ in range(20):
                seen[address].add(int(chain.call(wal.functions.balanceOf(address))))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=read, args=(address,)) for address in expected]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert seen == {address: {balance} for address, balance in expected.items()}

    assert chain.direct is not None and chain.direct.connection is not None
    decimals = wal.functions.decimals().call()
    chain.call(wal.functions.decimals())  # this thread now holds a keep-alive connection
    kept_alive = chain.direct.connection._local.connection
    kept_alive.sock.shutdown(socket.SHUT_RDWR)  # as if the server had dropped it
    assert chain.call(wal.functions.decimals()) == decimals
    assert chain.direct.connection._local.connection is not kept_alive


def test_proxy_settings_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://127.0.0.1:8545"
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert direct_connection(url, 5.0) is None, "a proxied URL goes through requests"
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert direct_connection(url, 5.0) is not None
    assert direct_connection("https://rpc.example", 5.0) is None


def _outcome(client: ChainClient, function: ContractFunction, sender: str | None = None) -> Any:
    try:
        return client.call(function, sender=sender)
    except ContractError as error:
        return (type(error).__name__, str(error))


def test_transactions_are_built_and_rejected_as_web3_does(
    chain: ChainClient, web3_only: ChainClient, wal: Any, dev_accounts: list[LocalAccount]
) -> None:
    function = wal.functions.transfer(dev_accounts[7].address, 3)
    params: Any = {"from": chain.address, "value": 0, "chainId": chain.chain_id, "nonce": 0}
    params.update({"gas": 90_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9})
    assert chain._direct_transaction(function, params) == function.build_transaction(params)
    paying: Any = {**params, "value": 1}  # transfer is not payable: web3 builds it and refuses
    assert chain._direct_transaction(function, paying) is None

    penniless = "0x" + "5a" * 32
    messages = []
    for client in (chain.with_account(penniless), web3_only.with_account(penniless)):
        with pytest.raises(TransactionRejected) as rejected:
            client.send_value(dev_accounts[0].address, 10**18)
        messages.append(str(rejected.value))
    assert messages[0] == messages[1]
    assert "insufficient funds" in messages[0].lower()


def test_a_wallet_without_gas_money_gets_a_named_error(
    chain: ChainClient, web3_only: ChainClient, wal: Any, dev_accounts: list[LocalAccount]
) -> None:
    """A contract call from a wallet with no ETH: the node refuses the gas estimate without
    revert data; the user is told which wallet cannot pay, not shown web3's RPC error."""
    penniless = "0x" + "5b" * 32
    for client in (chain.with_account(penniless), web3_only.with_account(penniless)):
        with pytest.raises(InsufficientGasFunds) as refused:
            client.transact(wal.functions.transfer(dev_accounts[7].address, 0))
        message = str(refused.value)
        assert client.address in message and "holds 0 ETH" in message, message
        assert "(transfer)" in message and "\n" not in message


def test_a_nonce_used_by_another_process_is_resent_with_the_next(
    chain: ChainClient, artifacts: Artifacts, dev_accounts: list[LocalAccount]
) -> None:
    key = dev_accounts[6].key
    mine, other = (ChainClient(chain.rpc_url, key, error_abis=artifacts.all_abis()) for _ in "ab")
    recipient = dev_accounts[5].address
    mine.send_value(recipient, 1)  # mine counts the next nonce locally from now on
    other.send_value(recipient, 1)  # ...which this one (another process, same key) uses
    before = chain.w3.eth.get_transaction_count(mine.address)
    assert mine.send_value(recipient, 1)["status"] == 1  # "nonce too low": sent again
    assert chain.w3.eth.get_transaction_count(mine.address) == before + 1


def test_gas_estimates_and_their_reverts_match_web3(
    chain: ChainClient, web3_only: ChainClient, wal: Any, dev_accounts: list[LocalAccount]
) -> None:
    data = wal.functions.transfer(dev_accounts[4].address, 7)._encode_transaction_data()
    tx: dict[str, Any] = {"from": chain.address, "to": wal.address, "data": data, "value": 0}
    tx.update({"chainId": chain.chain_id, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1})
    estimate, sent = requests_during(chain.w3, lambda: chain._estimate_gas(tx, "transfer"))
    assert sent == [("eth_estimateGas", False)]
    assert estimate == web3_only._estimate_gas(tx, "transfer") > 21_000

    too_much = wal.functions.transfer(dev_accounts[4].address, 10**40)
    messages = []
    for client in (chain, web3_only):
        with pytest.raises(ContractRevert) as reverted:
            client.transact(too_much)  # the estimate reverts, nothing is sent
        messages.append(str(reverted.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith("ERC20InsufficientBalance(")
