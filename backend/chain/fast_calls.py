"""ABI coding of contract calls done once per function, not on every call.

web3 resolves a function's ABI element, its selector and its eth-abi coders again on each
``ContractFunction.call``. A :class:`CallPlan` keeps them per function ABI element, so a
call is: normalise the arguments, ``selector + encode``, send, ``decode``, normalise the
result exactly as web3 does (checksummed addresses, arrays as lists, one output unwrapped).

Anything unusual (keyword arguments, tuple-typed inputs, ENS names, ``decode_tuples``,
custom return normalisers, empty or undecodable answers) makes the plan answer None, and
the caller lets web3 do that call, so results and errors never differ from web3's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, cast

from eth_abi.exceptions import DecodingError, EncodingError
from eth_utils.abi import (
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
)
from web3 import Web3
from web3._utils.abi import map_abi_data
from web3._utils.method_formatters import receipt_formatter
from web3._utils.normalizers import BASE_RETURN_NORMALIZERS
from web3.contract.contract import ContractFunction
from web3.datastructures import AttributeDict
from web3.types import TxReceipt

OFFCHAIN_LOOKUP: Final = bytes.fromhex("556f1830")
"""EIP-3668 revert selector: web3 follows such reverts (CCIP read), so it handles them."""
MAX_PLANS: Final = 4096
"""Plans kept before the cache starts over (bounds memory if ABIs are rebuilt per call)."""


class CallPlan:
    """The selector and coders of one function ABI element."""

    def __init__(self, w3: Web3, abi: dict[str, Any]) -> None:
        self.abi = abi
        self.codec = w3.codec
        self.selector = "0x" + function_abi_to_4byte_selector(cast(Any, abi)).hex()
        self.input_types: list[str] = list(get_abi_input_types(cast(Any, abi)))
        self.output_types: list[str] = list(get_abi_output_types(cast(Any, abi)))
        self.normalises_result = any("address" in kind or "[" in kind for kind in self.output_types)
        self.has_outputs = bool(self.output_types)

    def calldata(self, function: ContractFunction) -> str | None:
        """``0x`` selector + encoded arguments, or None if web3 should encode them."""
        args = function.args or ()
        if function.kwargs or len(args) != len(self.input_types):
            return None
        try:
            values = [
                _plain(kind, value) for kind, value in zip(self.input_types, args, strict=True)
            ]
            return self.selector + self.codec.encode(self.input_types, values).hex()
        except (_Unusual, EncodingError, ValueError, TypeError, OverflowError):
            return None

    def result(self, answer: Any) -> tuple[bool, Any]:
        """``(True, value)`` as web3 would return it, or ``(False, None)`` for web3 to redo."""
        if not isinstance(answer, str) or not answer.startswith("0x"):
            return False, None
        try:
            data = bytes.fromhex(answer[2:])
        except ValueError:
            return False, None
        if not data and self.has_outputs:
            return False, None  # no code at the address: web3 words that error
        try:
            decoded = self.codec.decode(self.output_types, data)
        except (DecodingError, OverflowError, ValueError):
            return False, None
        values: list[Any] = (
            list(map_abi_data(BASE_RETURN_NORMALIZERS, self.output_types, decoded))
            if self.normalises_result
            else list(decoded)
        )
        return True, values[0] if len(values) == 1 else values

    def needs_web3_for_revert(self, data: bytes) -> bool:
        return data[:4] == OFFCHAIN_LOOKUP


class CallPlans:
    """Plans by function ABI element (the dict object web3 resolved the call to)."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self._plans: dict[int, CallPlan] = {}

    def plan(self, function: ContractFunction) -> CallPlan | None:
        abi = function.abi
        if (
            not isinstance(abi, dict)
            or abi.get("type") != "function"
            or function.decode_tuples
            or function._return_data_normalizers
        ):
            return None
        plan = self._plans.get(id(abi))
        if plan is None or plan.abi is not abi:
            if len(self._plans) >= MAX_PLANS:
                self._plans.clear()
            plan = CallPlan(self.w3, cast(dict[str, Any], abi))
            self._plans[id(abi)] = plan
        return plan


class _Unusual(Exception):
    """An argument web3 would normalise in a way this module does not copy."""


def _plain(kind: str, value: Any) -> Any:
    """``value`` as web3's argument normalisers would hand it to eth-abi."""
    if kind.endswith("]"):
        if not isinstance(value, list | tuple):
            raise _Unusual(kind)
        inner = kind[: kind.rindex("[")]
        return [_plain(inner, item) for item in value]
    if kind.startswith("("):
        raise _Unusual(kind)
    if kind == "address":
        if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
            return Web3.to_checksum_address(value)
        if isinstance(value, bytes) and len(value) == 20:
            return value
        raise _Unusual(kind)  # ENS names and the like
    if kind.startswith("bytes"):
        if isinstance(value, bytes):
            return value
        raise _Unusual(kind)
    if kind == "string":
        if isinstance(value, str):
            return value
        raise _Unusual(kind)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise _Unusual(kind)
    if kind.startswith(("uint", "int")):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Unusual(kind)
    raise _Unusual(kind)


def formatted_receipt(raw: dict[str, Any]) -> TxReceipt:
    """A raw ``eth_getTransactionReceipt`` result formatted as web3 returns it."""
    return cast(TxReceipt, AttributeDict.recursive(receipt_formatter(raw)))


__all__: Sequence[str] = ("CallPlan", "CallPlans", "formatted_receipt")
