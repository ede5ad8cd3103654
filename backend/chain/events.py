"""Decoding one contract's logs into typed event dataclasses.

Each binding (staking.py, registry.py) declares a table: event name -> (dataclass,
ABI argument names in the dataclass's field order); `ContractEvents` does the rest, with
the decoding plans of backend/chain/fast_logs.py (web3's per-log machinery is not used).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from web3 import HTTPProvider
from web3.contract import Contract
from web3.types import LogReceipt, TxReceipt

from backend.chain.fast_logs import EventTable, LogDecoder, fetch_logs

__all__ = ["ContractEvents", "EventTable", "plain"]

_Event = TypeVar("_Event")


def plain(value: Any) -> Any:
    """ABI values as plain Python: lists become tuples, HexBytes become bytes."""
    if isinstance(value, list | tuple):
        return tuple(plain(item) for item in value)
    if isinstance(value, bytes):
        return bytes(value)
    return value


class ContractEvents(Generic[_Event]):
    """Decodes one contract's logs by `table`, ignoring other contracts' logs and events.

    A log of a known event that does not decode raises fast_logs.MalformedLog."""

    def __init__(self, contract: Contract, table: EventTable) -> None:
        self._contract = contract
        self.table = table
        self._decoder = LogDecoder(contract.w3.codec, contract.abi, contract.address, table)

    def decode_log(self, log: LogReceipt | Mapping[str, Any]) -> _Event | None:
        """The event of one log (web3-formatted or raw JSON), or None if it is not one of
        this contract's known events."""
        decoded: _Event | None = self._decoder.decode(log)
        return decoded

    def decode_logs(self, logs: Iterable[LogReceipt | Mapping[str, Any]]) -> list[_Event]:
        return [event for log in logs if (event := self.decode_log(log)) is not None]

    def from_receipt(self, receipt: TxReceipt) -> list[_Event]:
        return self.decode_logs(receipt["logs"])

    def in_blocks(self, from_block: int, to_block: int) -> list[_Event]:
        """All of this contract's events in the block range (inclusive), in chain order:
        one plain ``eth_getLogs`` on an HTTP provider, web3's ``get_logs`` on any other."""
        w3 = self._contract.w3
        address = self._contract.address
        if isinstance(w3.provider, HTTPProvider):
            return self.decode_logs(fetch_logs(w3.provider, address, from_block, to_block))
        logs = w3.eth.get_logs({"address": address, "fromBlock": from_block, "toBlock": to_block})
        return self.decode_logs(logs)
