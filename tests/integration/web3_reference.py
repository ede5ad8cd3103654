"""web3's own paths, as references for backend/chain's direct ones: the requests a provider
posted (and whether web3's formatting ran), and logs decoded through ``process_log``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from web3 import Web3
from web3.contract import Contract

from backend.chain.events import plain


def requests_during(w3: Web3, action: Callable[[], Any]) -> tuple[Any, list[tuple[str, bool]]]:
    """``action()``'s result and each request posted: (method, whether web3's request
    formatting ran, i.e. its ``make_request`` is on the stack)."""
    provider = w3.provider
    sent: list[tuple[str, bool]] = []
    original = provider._make_request  # type: ignore[attr-defined]

    def counted(method: str, data: bytes) -> bytes:
        through_web3 = any(
            frame.function == "make_request" for frame in inspect.stack(context=0)[1:4]
        )
        sent.append((method, through_web3))
        return original(method, data)  # type: ignore[no-any-return]

    provider._make_request = counted  # type: ignore[attr-defined]
    try:
        return action(), sent
    finally:
        del provider._make_request  # type: ignore[attr-defined]


def web3_events(contract: Contract, table: Mapping[str, Any], logs: Sequence[Any]) -> list[Any]:
    """Each log through web3's ``process_log``, as events (what backend/chain/events.py did
    before fast_logs): other contracts' logs and unknown events skipped."""
    by_topic = {bytes(Web3.keccak(text=contract.events[name].signature)): name for name in table}
    decoded = []
    for log in logs:
        name = by_topic.get(bytes(log["topics"][0])) if log["topics"] else None
        if log["address"] != contract.address or name is None:
            continue
        event_type, fields = table[name]
        args = contract.events[name]().process_log(log)["args"]
        decoded.append(event_type(*(plain(args[field]) for field in fields)))
    return decoded
