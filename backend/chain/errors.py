"""Exceptions of the chain layer, and decoding of Solidity custom errors.

Every failure a user can cause (bad contract, missing toolchain, unreachable RPC URL,
stale deployment, a revert) is a subclass of :class:`ChainError` whose ``str()`` is one
line that says what went wrong, so the CLI can print it as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from web3 import Web3


class ChainError(Exception):
    """Base of every error raised by backend.chain."""


class ToolchainMissing(ChainError):
    """A required tool (node, solcjs, anvil) is not installed; run scripts/bootstrap."""


class CompilationError(ChainError):
    """solc rejected the contracts; ``messages`` holds solc's formatted error messages."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = tuple(messages)
        first = self.messages[0].strip().splitlines() if self.messages else ["unknown error"]
        summary = " ".join(line.strip() for line in first[:2])
        more = f" (+{len(self.messages) - 1} more)" if len(self.messages) > 1 else ""
        super().__init__(f"solc failed: {summary}{more}")

    def full_report(self) -> str:
        """All of solc's messages, as solc formatted them."""
        return "\n".join(self.messages)


class UnknownContract(ChainError):
    """An artifact was asked for a contract name that was not compiled."""


class DevnetError(ChainError):
    """The local anvil devnet could not be started, found or stopped."""


class ChainUnreachable(ChainError):
    """Nothing answers JSON-RPC at the given URL."""


class DeploymentError(ChainError):
    """A deployment file is missing, malformed, or does not match the compiled sources."""


class ContractError(ChainError):
    """A contract call or transaction failed on chain."""


class ContractRevert(ContractError):
    """A call or transaction reverted with a known custom error (or Error(string)/Panic).

    ``name`` is the Solidity error name, e.g. ``ERC20InsufficientBalance``, and ``args`` its
    decoded arguments (``arguments``) in declaration order.
    """

    def __init__(self, name: str, args: Sequence[Any], data: bytes = b"") -> None:
        self.name = name
        self.arguments = tuple(args)
        self.data = data
        rendered = ", ".join(_render(arg) for arg in self.arguments)
        super().__init__(f"{name}({rendered})")


class UnknownRevert(ContractError):
    """A revert whose data matches no compiled error (or carries no data at all)."""

    def __init__(self, data: bytes, context: str = "") -> None:
        self.data = data
        where = f" in {context}" if context else ""
        detail = f"data 0x{data.hex()}" if data else "no revert data"
        super().__init__(f"transaction reverted{where} ({detail})")


class TransactionTimeout(ContractError):
    """A sent transaction was not mined in time."""


def _selector(signature: str) -> bytes:
    return bytes(Web3.keccak(text=signature)[:4])


def _normalised(kind: str, value: Any) -> Any:
    """Addresses checksummed (as web3 returns them elsewhere), arrays as tuples."""
    if kind == "address":
        return Web3.to_checksum_address(value)
    if kind.endswith("]") and isinstance(value, list | tuple):
        inner = kind[: kind.rindex("[")]
        return tuple(_normalised(inner, item) for item in value)
    return value


def _render(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_render(item) for item in value) + "]"
    return str(value)


def _canonical_type(param: dict[str, Any]) -> str:
    """The ABI type string of one parameter, expanding tuples for the selector."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(component) for component in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


class ErrorDecoder:
    """Maps 4-byte selectors of custom errors to their names and argument types.

    Built from any number of ABIs (all compiled contracts, including OpenZeppelin's
    errors inherited into them), plus the built-in ``Error(string)`` and ``Panic(uint256)``.
    """

    def __init__(self, abis: Iterable[Sequence[dict[str, Any]]] = ()) -> None:
        self._errors: dict[bytes, tuple[str, list[str]]] = {
            _selector("Error(string)"): ("Error", ["string"]),
            _selector("Panic(uint256)"): ("Panic", ["uint256"]),
        }
        for abi in abis:
            self.add_abi(abi)

    def add_abi(self, abi: Sequence[dict[str, Any]]) -> None:
        for entry in abi:
            if entry.get("type") != "error":
                continue
            types = [_canonical_type(param) for param in entry.get("inputs", [])]
            signature = f"{entry['name']}({','.join(types)})"
            self._errors[_selector(signature)] = (str(entry["name"]), types)

    def decode(self, data: bytes) -> ContractRevert | None:
        """The revert described by ``data``, or None if its selector is unknown."""
        known = self._errors.get(bytes(data[:4])) if len(data) >= 4 else None
        if known is None:
            return None
        name, types = known
        try:
            args = abi_decode(types, bytes(data[4:]))
        except (DecodingError, ValueError, OverflowError):
            return None
        return ContractRevert(
            name, [_normalised(t, a) for t, a in zip(types, args, strict=True)], bytes(data)
        )

    def exception_for(self, data: bytes, context: str = "") -> ContractError:
        """A :class:`ContractRevert` if the data decodes, else an :class:`UnknownRevert`."""
        return self.decode(data) or UnknownRevert(bytes(data), context)
