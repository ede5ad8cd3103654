"""Decoding one contract's logs into typed event dataclasses.

Each binding (staking.py, registry.py) declares a table: event name -> (dataclass,
ABI argument names in the dataclass's field order); `ContractEvents` does the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from web3 import Web3
from web3.contract import Contract
from web3.types import LogReceipt, TxReceipt

EventTable = Mapping[str, tuple[type[Any], tuple[str, ...]]]
_Event = TypeVar("_Event")


def plain(value: Any) -> Any:
    """ABI values as plain Python: lists become tuples, HexBytes become bytes."""
    if isinstance(value, list | tuple):
        return tuple(plain(item) for item in value)
    if isinstance(value, bytes):
        return bytes(value)
    return value


class ContractEvents(Generic[_Event]):
    """Decodes one contract's logs by `table`, ignoring other contracts' logs and events."""

    def __init__(self, contract: Contract, table: EventTable) -> None:
        self._contract = contract
        self._table = table
        self._by_topic = {
            bytes(Web3.keccak(text=contract.events[name].signature)): name for name in table
        }

    def decode_log(self, log: LogReceipt) -> _Event | None:
        """The event of one log, or None if it is not one of this contract's known events."""
        if log["address"] != self._contract.address or not log["topics"]:
            return None
        name = self._by_topic.get(bytes(log["topics"][0]))
        if name is None:
            return None
        event_type, fields = self._table[name]
        args = self._contract.events[name]().process_log(log)["args"]
        decoded: _Event = event_type(*(plain(args[field]) for field in fields))
        return decoded

    def decode_logs(self, logs: Iterable[LogReceipt]) -> list[_Event]:
        return [event for log in logs if (event := self.decode_log(log)) is not None]

    def from_receipt(self, receipt: TxReceipt) -> list[_Event]:
        return self.decode_logs(receipt["logs"])

    def in_blocks(self, from_block: int, to_block: int) -> list[_Event]:
        """All of this contract's events in the block range (inclusive), in chain order."""
        logs = self._contract.w3.eth.get_logs(
            {"address": self._contract.address, "fromBlock": from_block, "toBlock": to_block}
        )
        return self.decode_logs(logs)
