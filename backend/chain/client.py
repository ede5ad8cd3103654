"""A connection to any EVM chain: locally signed transactions, fast receipts, named reverts.

:class:`ChainClient` takes an RPC URL and (for writes) a private key; nothing here assumes
anvil. Transactions are signed with eth-account (coincurve backend), nonces are counted
locally so many quick transactions need no round trip for them, and receipts are polled
every few milliseconds (web3's default of 0.1 s caps a client at ~9 tx/s).

Reverts come back as :class:`~backend.chain.errors.ContractRevert` decoded against the
ABIs the client was given (normally every compiled contract, so OpenZeppelin errors such
as ``ERC20InsufficientBalance`` decode too).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, TypeVar, cast

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import TxParams, TxReceipt

from backend.chain.errors import (
    ChainError,
    ChainUnreachable,
    ContractError,
    ErrorDecoder,
    TransactionTimeout,
    UnknownRevert,
)
from backend.chain.fast_calls import OFFCHAIN_LOOKUP, CallPlans, formatted_receipt
from backend.chain.rpc import DirectHTTPProvider, JsonRpcError, post_json

POLL_LATENCY: Final = 0.005
"""Seconds between receipt polls."""
RECEIPT_TIMEOUT: Final = 120.0
GAS_MARGIN: Final = 1.2
"""Gas limit = estimate * margin: estimates can fall short when the state moves."""
FEE_REFRESH_SECONDS: Final = 2.0
VALIDATION_MIDDLEWARE: Final = "validation"
REUSED_GAS_HEADROOM: Final = 1.5
"""Gas limit of a call whose estimate is reused = gas it used last time * this headroom."""


_T = TypeVar("_T")


class TransactionRejected(ContractError):
    """The node refused the transaction (insufficient funds, bad nonce, fee too low...)."""


class InsufficientGasFunds(TransactionRejected):
    """The wallet holds too little of the chain's native currency to pay for the gas."""


NONCE_ATTEMPTS = 3
"""Sends of one transaction when the account's nonce was used elsewhere meanwhile."""


class NonceBook:
    """Next nonce per account, counted locally; shared by the clients of one connection."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._next: dict[str, int] = {}

    def take(self, address: ChecksumAddress, fetch: Callable[[ChecksumAddress], int]) -> int:
        with self.lock:
            nonce = self._next.get(address)
            if nonce is None:
                nonce = fetch(address)
            self._next[address] = nonce + 1
            return nonce

    def forget(self, address: str) -> None:
        with self.lock:
            self._next.pop(address, None)

    def clear(self) -> None:
        with self.lock:
            self._next.clear()


class ChainClient:
    """One account (optional) on one chain, sending transactions with local signing.

    Thread-safe: nonce allocation and sending happen under the nonce book's lock, so
    clients made with :meth:`with_account` never race each other either.
    """

    def __init__(
        self,
        rpc_url: str,
        private_key: str | bytes | None = None,
        *,
        error_abis: Iterable[Sequence[dict[str, Any]]] = (),
        poll_latency: float = POLL_LATENCY,
        request_timeout: float = 30.0,
        w3: Web3 | None = None,
        decoder: ErrorDecoder | None = None,
        nonces: NonceBook | None = None,
    ) -> None:
        self.rpc_url = rpc_url
        if w3 is None:
            w3 = Web3(DirectHTTPProvider(rpc_url, request_timeout))
            # web3's validation middleware asks eth_chainId before every call and
            # transaction (5.8 ms instead of 2.7 ms per eth_call on anvil); this client
            # signs with its own cached chain id, so the check adds nothing.
            w3.middleware_onion.remove(VALIDATION_MIDDLEWARE)
        self.w3 = w3
        self.direct = w3.provider if isinstance(w3.provider, DirectHTTPProvider) else None
        """This client's own provider: calls and receipt polls skip web3's formatting."""
        self.account: LocalAccount | None = (
            Account.from_key(private_key) if private_key is not None else None
        )
        self.decoder = decoder or ErrorDecoder(error_abis)
        self.poll_latency = poll_latency
        self.nonces = nonces or NonceBook()
        self._fees: tuple[float, dict[str, int]] | None = None
        self._chain_id: int | None = None
        self.reuse_gas_estimates: set[str] = set()
        """Functions (by name) sent without a fresh eth_estimateGas once one call of them
        succeeded: estimating a BLS-verifying certifyBlob runs it ~15 times (65 ms on
        anvil). A call that fails with the reused limit is sent again with an estimate."""
        self._gas_used: dict[tuple[str, str], int] = {}
        self._plans = CallPlans(self.w3)

    @classmethod
    def connect(
        cls,
        rpc_url: str,
        private_key: str | bytes | None = None,
        *,
        error_abis: Iterable[Sequence[dict[str, Any]]] = (),
        poll_latency: float = POLL_LATENCY,
    ) -> ChainClient:
        """A client whose chain has answered ``eth_chainId``; ChainUnreachable otherwise."""
        client = cls(rpc_url, private_key, error_abis=error_abis, poll_latency=poll_latency)
        client.chain_id  # noqa: B018 - probes the endpoint
        return client

    def with_account(self, private_key: str | bytes) -> ChainClient:
        """Another account on the same connection and error decoder."""
        return ChainClient(
            self.rpc_url,
            private_key,
            poll_latency=self.poll_latency,
            w3=self.w3,
            decoder=self.decoder,
            nonces=self.nonces,
        )

    # --- chain facts ----------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._rpc(lambda: int(self.w3.eth.chain_id))
        return self._chain_id

    @property
    def address(self) -> ChecksumAddress:
        if self.account is None:
            raise ChainError("this client has no private key; pass one to send transactions")
        return self.account.address

    def block_number(self) -> int:
        return self._rpc(lambda: int(self.w3.eth.block_number))

    def balance(self, address: str) -> int:
        return self._rpc(lambda: int(self.w3.eth.get_balance(Web3.to_checksum_address(address))))

    def contract(self, address: str, abi: Sequence[dict[str, Any]]) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=list(abi))

    # --- calls and transactions -----------------------------------------------------------

    def call(self, function: ContractFunction, *, sender: str | None = None) -> Any:
        """The result of a read-only call; a revert raises ContractRevert/UnknownRevert."""
        params: TxParams = {}
        if sender is not None or self.account is not None:
            params["from"] = Web3.to_checksum_address(sender or self.address)
        if self.direct is not None:
            done, result = self._direct_call(self.direct, function, params)
            if done:
                return result
        return self._with_reverts(lambda: function.call(params), function.fn_name)

    def _direct_call(
        self, direct: DirectHTTPProvider, function: ContractFunction, params: TxParams
    ) -> tuple[bool, Any]:
        """``(True, result)`` of an eth_call sent as plain JSON with cached ABI coding, or
        ``(False, None)`` when web3 must do it (unusual arguments or answers) so that its
        results and errors stay exactly web3's."""
        plan = self._plans.plan(function)
        data = plan.calldata(function) if plan is not None else None
        block = self.w3.eth.default_block
        if plan is None or data is None or not isinstance(block, str):
            return False, None
        request: dict[str, str] = {"to": str(function.address), "data": data}
        if "from" in params:
            request["from"] = str(params["from"])
        try:
            answer = self._rpc(lambda: post_json(direct, "eth_call", [request, block]))
        except JsonRpcError as error:
            revert = _error_revert_data(error)
            if revert is None or plan.needs_web3_for_revert(revert):
                return False, None
            raise self.decoder.exception_for(revert, function.fn_name) from None
        return plan.result(answer)

    def transact(
        self, function: ContractFunction, *, value: int = 0, gas: int | None = None
    ) -> TxReceipt:
        """Sign, send and wait for a contract function call; raise on revert."""
        params: TxParams = {
            "from": self.address,
            "value": Web3.to_wei(value, "wei"),
            "chainId": self.chain_id,  # else build_transaction asks eth_chainId every time
        }
        unestimated = _unestimated(params, gas, self._fee_params())
        transaction = self._direct_transaction(function, unestimated)
        if transaction is None:
            transaction = self._with_reverts(
                lambda: function.build_transaction(unestimated), function.fn_name
            )
        if gas is not None or function.fn_name not in self.reuse_gas_estimates:
            return self.send(_with_gas(transaction, gas), context=function.fn_name)
        key = (str(function.address), function.fn_name)
        used = self._gas_used.get(key)
        if used is not None:
            reused = cast(TxParams, {**transaction, "gas": int(used * REUSED_GAS_HEADROOM)})
            try:
                return self._remember_gas(key, self.send(reused, context=function.fn_name))
            except TransactionTimeout:
                raise  # it may still be mined: never send it twice
            except ContractError:
                pass  # out of gas or a real revert: the estimate below tells which
        receipt = self.send(_with_gas(transaction, None), context=function.fn_name)
        return self._remember_gas(key, receipt)

    def _direct_transaction(self, function: ContractFunction, params: TxParams) -> TxParams | None:
        """What ``function.build_transaction(params)`` returns when every field is given
        (``to`` and the calldata from the cached plan), or None for web3 to build it (also
        when it would refuse: value sent to a function that is not payable)."""
        if self.direct is None:
            return None
        plan = self._plans.plan(function)
        data = plan.calldata(function) if plan is not None else None
        if plan is None or data is None:
            return None
        if params.get("value") and plan.abi.get("stateMutability") != "payable":
            return None
        return cast(TxParams, {**params, "to": function.address, "data": data})

    def _remember_gas(self, key: tuple[str, str], receipt: TxReceipt) -> TxReceipt:
        self._gas_used[key] = max(self._gas_used.get(key, 0), int(receipt["gasUsed"]))
        return receipt

    def deploy(
        self,
        abi: Sequence[dict[str, Any]],
        bytecode: str,
        *args: Any,
        gas: int | None = None,
    ) -> tuple[Contract, TxReceipt]:
        """Deploy a contract with constructor ``args``; returns the bound contract and receipt."""
        factory = self.w3.eth.contract(abi=list(abi), bytecode=bytecode)
        params: TxParams = {"from": self.address}
        transaction = self._with_reverts(
            lambda: factory.constructor(*args).build_transaction(
                _unestimated(params, gas, self._fee_params())
            ),
            "constructor",
        )
        transaction = _with_gas(transaction, gas)
        receipt = self.send(transaction, context="constructor")
        address = receipt["contractAddress"]
        if address is None:
            raise ContractError("deployment receipt has no contract address")
        return self.contract(address, abi), receipt

    def send_value(self, to: str, amount_wei: int) -> TxReceipt:
        """Send native currency."""
        transaction: TxParams = {
            "to": Web3.to_checksum_address(to),
            "value": Web3.to_wei(amount_wei, "wei"),
            "gas": 21_000,
        }
        return self.send(transaction, context="transfer")

    def send(self, transaction: TxParams, *, context: str = "") -> TxReceipt:
        """Fill in nonce, gas and chain id, sign locally, send, and wait for the receipt."""
        account = self.account
        if account is None:
            raise ChainError("this client has no private key; pass one to send transactions")
        tx: dict[str, Any] = {**transaction, "from": account.address, "chainId": self.chain_id}
        if "maxFeePerGas" not in tx and "gasPrice" not in tx:
            tx.update(self._fee_params())
        if "gas" in tx:
            tx["gas"] = int(tx["gas"])
        else:
            tx["gas"] = int(self._estimate_gas(tx, context) * GAS_MARGIN)
        tx_hash = self._sign_and_send(account, tx, context)
        receipt = self.wait_for_receipt(tx_hash)
        if receipt["status"] != 1:
            raise self._replay_revert(tx, receipt, context)
        return receipt

    def _estimate_gas(self, tx: dict[str, Any], context: str) -> int:
        """eth_estimateGas as plain JSON when the transaction's fields allow; a revert with
        data raises its named error; anything else is asked again through web3."""
        direct, request = self.direct, _json_transaction(tx)
        block = self.w3.eth.default_block
        if direct is not None and request is not None and isinstance(block, str):
            try:
                answer = self._rpc(lambda: post_json(direct, "eth_estimateGas", [request, block]))
                return int(answer, 16)
            except JsonRpcError as error:
                revert = _error_revert_data(error)
                if revert is not None and revert[:4] != OFFCHAIN_LOOKUP:
                    raise self.decoder.exception_for(revert, context) from None
            except (TypeError, ValueError):
                pass  # an answer that is not a hex quantity: web3 words the error
        try:
            estimate = self._with_reverts(
                lambda: self.w3.eth.estimate_gas(_without_nonce(tx)), context
            )
        except Web3RPCError as error:
            raise self._estimate_refused(tx, _rpc_message(error), context) from None
        return int(estimate)

    def _estimate_refused(self, tx: dict[str, Any], message: str, context: str) -> ContractError:
        """The error for an estimate the node refused without revert data: a sender who
        cannot pay the gas (anvil: "gas required exceeds allowance", geth: "insufficient
        funds") is told so with its balance; anything else keeps the node's message."""
        lowered = message.lower()
        if "exceeds allowance" in lowered or "insufficient funds" in lowered:
            sender = Web3.to_checksum_address(str(tx["from"]))
            balance = self._rpc(lambda: int(self.w3.eth.get_balance(sender)))
            return InsufficientGasFunds(
                f"wallet {sender} cannot pay the gas{_where(context)}: it holds "
                f"{Web3.from_wei(balance, 'ether')} ETH (the chain's native currency); "
                "fund it and retry"
            )
        return TransactionRejected(f"transaction rejected{_where(context)}: {message}")

    def _sign_and_send(self, account: LocalAccount, tx: dict[str, Any], context: str) -> HexBytes:
        """Take the next nonce, sign, send; resend when another process with the same key
        (a node and its operator's CLI) used that nonce meanwhile."""
        attempts = 0
        with self.nonces.lock:
            while True:
                attempts += 1
                tx["nonce"] = self.nonces.take(account.address, self._pending_nonce)
                try:
                    return self._send_raw(account.sign_transaction(tx).raw_transaction)
                except Web3RPCError as error:
                    self.nonces.forget(account.address)  # resynchronise after any rejection
                    message = _rpc_message(error)
                    if "nonce too low" in message.lower() and attempts < NONCE_ATTEMPTS:
                        continue
                    raise TransactionRejected(
                        f"transaction rejected{_where(context)}: {message}"
                    ) from None
                except BaseException:
                    self.nonces.forget(account.address)
                    raise

    def _send_raw(self, raw: bytes) -> HexBytes:
        direct = self.direct
        if direct is None:
            return self._rpc(lambda: self.w3.eth.send_raw_transaction(raw))
        params = ["0x" + bytes(raw).hex()]
        try:
            tx_hash = self._rpc(lambda: post_json(direct, "eth_sendRawTransaction", params))
        except JsonRpcError as error:
            response = {"code": error.code, "message": error.message, "data": error.data}
            raise Web3RPCError(error.message, rpc_response=cast(Any, {"error": response})) from None
        return HexBytes(tx_hash)

    def wait_for_receipt(
        self, tx_hash: HexBytes | bytes, timeout: float = RECEIPT_TIMEOUT
    ) -> TxReceipt:
        if self.direct is not None:
            return self._poll_receipt(self.direct, HexBytes(tx_hash), timeout)
        try:
            return self._rpc(
                lambda: self.w3.eth.wait_for_transaction_receipt(
                    HexBytes(tx_hash), timeout=timeout, poll_latency=self.poll_latency
                )
            )
        except TimeExhausted:
            raise TransactionTimeout(
                f"transaction 0x{bytes(tx_hash).hex()} not mined within {timeout:.0f} s"
            ) from None

    def _poll_receipt(
        self, direct: DirectHTTPProvider, tx_hash: HexBytes, timeout: float
    ) -> TxReceipt:
        """Poll eth_getTransactionReceipt as plain JSON; format the receipt as web3 does."""
        deadline = time.monotonic() + timeout
        params = [tx_hash.to_0x_hex()]
        while True:
            raw = self._rpc(lambda: post_json(direct, "eth_getTransactionReceipt", params))
            if raw is not None:
                return formatted_receipt(raw)
            if time.monotonic() >= deadline:
                raise TransactionTimeout(
                    f"transaction 0x{bytes(tx_hash).hex()} not mined within {timeout:.0f} s"
                )
            time.sleep(self.poll_latency)

    # --- internals ------------------------------------------------------------------------

    def reset_nonces(self) -> None:
        """Forget counted nonces of every account on this connection (after evm_revert)."""
        self.nonces.clear()

    def _pending_nonce(self, address: ChecksumAddress) -> int:
        return self._rpc(lambda: int(self.w3.eth.get_transaction_count(address, "pending")))

    def _fee_params(self) -> dict[str, int]:
        """EIP-1559 fees, refreshed at most every FEE_REFRESH_SECONDS."""
        now = time.monotonic()
        if self._fees is None or now - self._fees[0] > FEE_REFRESH_SECONDS:
            block = self._rpc(lambda: self.w3.eth.get_block("latest"))
            base_fee = int(block.get("baseFeePerGas", 0))
            if base_fee:
                priority = self._rpc(lambda: int(self.w3.eth.max_priority_fee))
                fees = {"maxFeePerGas": 2 * base_fee + priority, "maxPriorityFeePerGas": priority}
            else:
                fees = {"gasPrice": self._rpc(lambda: int(self.w3.eth.gas_price))}
            self._fees = (now, fees)
        return dict(self._fees[1])

    def _with_reverts(self, action: Any, context: str) -> Any:
        try:
            return self._rpc(action)
        except ContractLogicError as error:
            raise self.decoder.exception_for(_revert_data(error), context) from None

    def _replay_revert(
        self, transaction: dict[str, Any], receipt: TxReceipt, context: str
    ) -> ContractError:
        """Re-run a mined, failed transaction as a call at its block to get the revert data."""
        try:
            self.w3.eth.call(_without_nonce(transaction), receipt["blockNumber"] - 1)
        except ContractLogicError as error:
            return self.decoder.exception_for(_revert_data(error), context)
        except (Web3RPCError, ValueError):
            pass
        return UnknownRevert(b"", context or f"0x{bytes(receipt['transactionHash']).hex()}")

    def _rpc(self, action: Callable[[], _T]) -> _T:
        """Run one JSON-RPC interaction, turning connection failures into ChainUnreachable."""
        try:
            return action()
        except (requests.ConnectionError, requests.Timeout, ConnectionError) as error:
            raise ChainUnreachable(
                f"no EVM JSON-RPC endpoint answers at {self.rpc_url} ({type(error).__name__})"
            ) from None


def _unestimated(params: TxParams, gas: int | None, fees: dict[str, int]) -> TxParams:
    """Build parameters that stop web3 from estimating gas or fetching a nonce itself;
    :meth:`ChainClient.send` estimates (decoding reverts) and allocates the nonce."""
    return cast(TxParams, {**params, **fees, "nonce": 0, "gas": gas if gas is not None else 1})


def _with_gas(transaction: TxParams, gas: int | None) -> TxParams:
    if gas is None:
        return cast(TxParams, {k: v for k, v in transaction.items() if k != "gas"})
    return transaction


def _without_nonce(transaction: TxParams | dict[str, Any]) -> TxParams:
    return cast(TxParams, {key: value for key, value in transaction.items() if key != "nonce"})


def _where(context: str) -> str:
    return f" ({context})" if context else ""


def _rpc_message(error: Web3RPCError) -> str:
    response = error.rpc_response or {}
    message = response.get("error", {}).get("message") if isinstance(response, dict) else None
    return str(message or error.message or error).splitlines()[0]


def _json_transaction(tx: dict[str, Any]) -> dict[str, str] | None:
    """The transaction's fields as JSON-RPC quantities and data (without the nonce), or
    None when a field is not a plain int, str or bytes (web3 formats those)."""
    request: dict[str, str] = {}
    for key, value in tx.items():
        if key == "nonce":
            continue
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            request[key] = hex(value)
        elif isinstance(value, str):
            request[key] = value
        elif isinstance(value, bytes):
            request[key] = "0x" + value.hex()
        else:
            return None
    return request


def _error_revert_data(error: JsonRpcError) -> bytes | None:
    """The revert data of an eth_call error answer, or None if it carries none."""
    data = error.data
    if not isinstance(data, str) or not data.startswith("0x") or len(data) < 10:
        return None
    try:
        return bytes.fromhex(data[2:])
    except ValueError:
        return None


def _revert_data(error: ContractLogicError) -> bytes:
    data = error.data
    if isinstance(data, dict):
        data = next(iter(data.values()), None)
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    return b""
