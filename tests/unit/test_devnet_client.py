"""The chain client against anvil: quick nonces, mined reverts decoded, rejected txs."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3.contract import Contract
from web3.types import Wei

from backend.chain.client import ChainClient, TransactionRejected
from backend.chain.errors import ContractRevert

ClientFor = Callable[[LocalAccount], ChainClient]


def test_many_quick_transfers_from_two_threads_keep_nonces_in_order(
    snapshot: None, wal: Contract, client_for: ClientFor, dev_accounts: list[LocalAccount]
) -> None:
    sender, receiver = dev_accounts[5], dev_accounts[9]
    before = wal.functions.balanceOf(receiver.address).call()
    first, second = client_for(sender), client_for(sender).with_account(sender.key)

    def burst(client: ChainClient) -> None:
        for _ in range(15):
            client.transact(wal.functions.transfer(receiver.address, 3))

    workers = [threading.Thread(target=burst, args=(c,)) for c in (first, second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert wal.functions.balanceOf(receiver.address).call() == before + 30 * 3
    assert first.w3.eth.get_transaction_count(sender.address) == 30


def test_a_transaction_that_reverts_when_mined_is_decoded_by_replay(
    snapshot: None, wal: Contract, client_for: ClientFor, dev_accounts: list[LocalAccount]
) -> None:
    sender = client_for(dev_accounts[6])
    balance = wal.functions.balanceOf(sender.address).call()
    # An explicit gas limit skips estimation, so the revert happens on chain.
    with pytest.raises(ContractRevert) as raised:
        sender.transact(wal.functions.transfer(dev_accounts[7].address, balance + 5), gas=100_000)
    assert raised.value.name == "ERC20InsufficientBalance"
    assert raised.value.arguments == (sender.address, balance, balance + 5)
    block = sender.w3.eth.get_block("latest")
    tx_hash = block["transactions"][0]
    assert isinstance(tx_hash, bytes)
    mined = sender.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    assert mined["status"] == 0 and mined["from"] == sender.address  # it really was mined


def test_a_rejected_transaction_does_not_break_later_nonces(
    snapshot: None, chain: ChainClient, wal: Contract, dev_accounts: list[LocalAccount]
) -> None:
    too_much = Wei(chain.balance(chain.address) * 2)
    with pytest.raises(TransactionRejected, match="transaction rejected"):
        chain.send({"to": dev_accounts[8].address, "value": too_much, "gas": 21_000})
    receipt = chain.transact(wal.functions.transfer(dev_accounts[8].address, 1))
    assert receipt["status"] == 1


def test_calls_decode_custom_errors(chain: ChainClient, wal: Contract) -> None:
    future = int(chain.w3.eth.get_block("latest")["timestamp"]) + 10_000
    with pytest.raises(ContractRevert, match=r"^ERC5805FutureLookup\(\d+, \d+\)$"):
        chain.call(wal.functions.getPastTotalSupply(future))


def test_a_nonce_used_by_another_process_with_the_same_key_is_resynchronised(
    snapshot: None, chain: ChainClient, wal: Contract, dev_accounts: list[LocalAccount]
) -> None:
    """A node process and its operator's CLI share a key: each has its own nonce count."""
    sender, receiver = dev_accounts[6], dev_accounts[9]
    here = ChainClient(chain.rpc_url, bytes(sender.key))
    elsewhere = ChainClient(chain.rpc_url, bytes(sender.key))
    before = wal.functions.balanceOf(receiver.address).call()
    here.transact(wal.functions.transfer(receiver.address, 1))  # `here` now counts locally
    elsewhere.transact(wal.functions.transfer(receiver.address, 1))  # uses that count's next
    receipt = here.transact(wal.functions.transfer(receiver.address, 1))  # stale: resent
    assert receipt["status"] == 1
    assert wal.functions.balanceOf(receiver.address).call() == before + 3
