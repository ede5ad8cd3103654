"""Contract logs decoded with ABI types resolved once per event, fetched as plain JSON.

web3's ``contract.events[name]().process_log(log)`` looks up the event's ABI, its input
types, names and eth-abi decoders again for every log, and ``eth.get_logs`` runs web3's
request and result formatters over every entry. A :class:`LogDecoder` keeps, per topic0,
one :class:`EventLayout` (the event's indexed and non-indexed types and where each field
of its dataclass comes from), so a log costs two ``codec.decode`` calls and a checksum of
its address arguments. :func:`fetch_logs` sends one ``eth_getLogs`` through the provider's
``_make_request`` (the keep-alive connection of ``rpc.DirectHTTPProvider``) and hands
back the entries as the endpoint sent them; the decoder takes those (hex strings) as well
as web3-formatted logs (receipts). The decoded values equal web3's ``process_log`` values
(tests/integration/test_chain_logs.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final, cast

import requests
from eth_abi.codec import ABICodec
from eth_abi.exceptions import DecodingError
from eth_utils.abi import event_abi_to_log_topic
from web3 import HTTPProvider, Web3
from web3._utils.abi import (
    exclude_indexed_event_inputs,
    get_indexed_event_inputs,
    normalize_event_input_types,
)
from web3._utils.events import get_event_abi_types_for_decoding

from backend.chain.errors import ChainError, ChainUnreachable
from backend.chain.rpc import JsonRpcError, post_json

EventTable = Mapping[str, tuple[type[Any], tuple[str, ...]]]
"""Solidity event name -> (dataclass, ABI argument names in the dataclass's field order)."""
TOPIC_BYTES: Final = 32


class MalformedLog(ChainError):
    """A log whose topic0 names a known event but whose other topics or data do not decode
    as that event's ABI says (wrong topic count, short or badly padded data)."""


class LogQueryFailed(ChainError):
    """The endpoint answered ``eth_getLogs`` with an error (e.g. a provider's block-range or
    result-count limit) or with something that is not a list of logs."""


Convert = Callable[[Any], Any]


@lru_cache(maxsize=4096)
def _checksummed(address: str) -> str:
    return str(Web3.to_checksum_address(address))


def _converter(kind: str) -> Convert | None:
    """What web3's return normaliser does to a decoded value of ``kind`` (addresses
    checksummed, also inside arrays), or None when it leaves the value as eth-abi gave it."""
    if kind == "address":
        return _checksummed
    if kind.endswith("]"):
        inner = _converter(kind[: kind.rindex("[")])
        if inner is None:
            return None
        return lambda values: tuple(inner(value) for value in values)
    return None


class EventLayout:
    """One event: its topic0, decoding types, and where each dataclass field comes from."""

    def __init__(
        self, abi: Mapping[str, Any], event_type: type[Any], fields: Sequence[str]
    ) -> None:
        event = cast(Any, abi)
        self.name = str(abi["name"])
        self.event_type = event_type
        self.topic0 = bytes(event_abi_to_log_topic(event))
        indexed = get_indexed_event_inputs(event)
        not_indexed = exclude_indexed_event_inputs(event)
        # indexed strings, bytes and arrays arrive as their keccak hash: bytes32, as in web3
        self.topic_types = list(
            get_event_abi_types_for_decoding(list(normalize_event_input_types(indexed)))
        )
        self.data_types = list(
            get_event_abi_types_for_decoding(list(normalize_event_input_types(not_indexed)))
        )
        if any(kind.startswith("(") for kind in self.topic_types + self.data_types):
            raise ValueError(f"event {self.name}: tuple-typed arguments are not supported")
        positions = {str(arg["name"]): (True, i) for i, arg in enumerate(indexed)}
        positions.update({str(arg["name"]): (False, i) for i, arg in enumerate(not_indexed)})
        self.picks: list[tuple[bool, int, Convert | None]] = []
        for field in fields:
            if field not in positions:
                raise ValueError(f"event {self.name} has no argument {field!r}")
            is_topic, index = positions[field]
            kind = self.topic_types[index] if is_topic else self.data_types[index]
            self.picks.append((is_topic, index, _converter(kind)))

    def decode(self, codec: ABICodec, topics: Sequence[bytes], data: bytes) -> Any:
        """The event dataclass of one log (``topics`` without topic0); MalformedLog if the
        topics or data do not fit the ABI."""
        if len(topics) != len(self.topic_types):
            raise MalformedLog(
                f"{self.name} log has {len(topics)} indexed topics, its ABI has "
                f"{len(self.topic_types)}"
            )
        if any(len(topic) != TOPIC_BYTES for topic in topics):
            raise MalformedLog(f"{self.name} log has a topic that is not 32 bytes")
        try:
            topic_values = codec.decode(self.topic_types, b"".join(topics)) if topics else ()
            data_values = codec.decode(self.data_types, data) if self.data_types else ()
        except (DecodingError, OverflowError, ValueError) as error:
            raise MalformedLog(
                f"{self.name} log does not decode as its ABI (topics "
                f"{','.join(self.topic_types)}; data {','.join(self.data_types)}): {error}"
            ) from None
        values = []
        for is_topic, index, convert in self.picks:
            value = topic_values[index] if is_topic else data_values[index]
            values.append(value if convert is None else convert(value))
        return self.event_type(*values)


class LogDecoder:
    """Decodes the logs one contract emitted into the dataclasses of ``table``; logs of other
    addresses and events not in the table are skipped (None)."""

    def __init__(
        self, codec: ABICodec, abi: Iterable[Mapping[str, Any]], address: str, table: EventTable
    ) -> None:
        self.codec = codec
        self.address = address.lower()
        self.layouts: dict[bytes, EventLayout] = {}
        for name, (event_type, fields) in table.items():
            entries = [e for e in abi if e.get("type") == "event" and e.get("name") == name]
            if not entries:
                raise ValueError(f"the ABI has no event {name}")
            for entry in entries:
                if not entry.get("anonymous"):
                    layout = EventLayout(entry, event_type, fields)
                    self.layouts[layout.topic0] = layout

    def decode(self, log: Mapping[str, Any]) -> Any | None:
        """The event of one log (raw JSON or web3-formatted), None if it is not one of this
        contract's events in the table; MalformedLog if it is one but does not decode."""
        if str(log.get("address", "")).lower() != self.address:
            return None
        topics = log.get("topics") or ()
        if not topics:
            return None
        layout = self.layouts.get(_as_bytes(topics[0], "topic"))
        if layout is None:
            return None
        return layout.decode(
            self.codec,
            [_as_bytes(topic, "topic") for topic in topics[1:]],
            _as_bytes(log.get("data", b""), "data"),
        )


def _as_bytes(value: Any, what: str) -> bytes:
    """Bytes of a log field given as ``0x`` hex (raw JSON) or bytes (web3's HexBytes)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return bytes.fromhex(value[2:] if value[:2] in ("0x", "0X") else value)
        except ValueError:
            pass
    raise MalformedLog(f"log {what} is not hex: {str(value)[:80]!r}")


def _block_param(block: int | str) -> str:
    return hex(block) if isinstance(block, int) else block


def fetch_logs(
    provider: HTTPProvider,
    address: str,
    from_block: int | str,
    to_block: int | str,
    topics: Sequence[str | None] | None = None,
) -> list[dict[str, Any]]:
    """``address``'s logs in the blocks ``from_block``..``to_block`` (both included, as
    ``eth_getLogs`` defines them), in chain order, as the endpoint sent them; ``topics``
    filters as in ``eth_getLogs`` (``0x`` hex words by position, None = any)."""
    request: dict[str, Any] = {
        "address": address,
        "fromBlock": _block_param(from_block),
        "toBlock": _block_param(to_block),
    }
    if topics is not None:
        request["topics"] = list(topics)
    logs = _post(provider, "eth_getLogs", [request])
    if not isinstance(logs, list) or not all(isinstance(log, dict) for log in logs):
        raise LogQueryFailed(f"eth_getLogs answered {str(logs)[:80]!r}, not a list of logs")
    return cast(list[dict[str, Any]], logs)


def latest_block(provider: HTTPProvider) -> int:
    """The chain head's number (``eth_blockNumber`` without web3's formatters)."""
    answer = _post(provider, "eth_blockNumber", [])
    try:
        return int(answer, 16)
    except (TypeError, ValueError):
        raise LogQueryFailed(f"eth_blockNumber answered {str(answer)[:80]!r}") from None


def _post(provider: HTTPProvider, method: str, params: list[Any]) -> Any:
    try:
        return post_json(provider, method, params)
    except JsonRpcError as error:
        raise LogQueryFailed(f"{method} failed: {error.message} (code {error.code})") from None
    except requests.HTTPError as error:
        raise LogQueryFailed(f"{method} failed: {error}") from None
    except (requests.ConnectionError, requests.Timeout, ConnectionError) as error:
        raise ChainUnreachable(
            f"no EVM JSON-RPC endpoint answers at {provider.endpoint_uri} ({type(error).__name__})"
        ) from None
    except json.JSONDecodeError:
        raise LogQueryFailed(f"{method}: the endpoint's answer is not JSON") from None
