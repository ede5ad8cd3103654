"""The epoch keeper: starts the next epoch once the current one is over and runs each
epoch's storage-challenge round (issue, then close after the answer window).

Nothing in a node or the backend sends these transactions; anyone may (docs/deploy.md,
"Epoch keeper"), so any number of keepers can run. When two race, the loser's transaction
reverts with a named error (`StakingEpochNotOver`, `StorageChallengesAlreadyIssued`,
`StorageChallengesNotClosable`, `StorageChallengesWrongEpoch`): that is "already done",
reported as such and never a failure.

Time is the chain's: the contract checks ``block.timestamp``. On a devnet (anvil) whose
chain stands still while nobody sends transactions, the keeper mines an empty block before
sending so chain time catches up with the wall clock; on any other chain it never mines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final, TypeVar

from backend.chain.challenges import StorageChallengesContract
from backend.chain.client import ChainClient
from backend.chain.compiler import compile_contracts
from backend.chain.errors import ChainError, ChainUnreachable, ContractRevert
from backend.chain.staking import StakingContract
from backend.sdk.config import (
    ClientSettings,
    ConfigError,
    resolve_deployment,
    resolve_private_key,
    resolve_rpc_url,
)

ALREADY_DONE: Final = frozenset(
    {
        "StakingEpochNotOver",
        "StorageChallengesAlreadyIssued",
        "StorageChallengesNotClosable",
        "StorageChallengesWrongEpoch",
    }
)
"""Reverts that mean another keeper (or chain time a moment behind) got there first."""

DEVNET_CLIENTS: Final = ("anvil", "hardhat", "ganache")
"""Node software whose chain only moves when a block is mined on demand."""

MAX_SLEEP_SECONDS: Final = 5.0
"""Re-read the chain at least this often: governance may change the epoch duration."""

Report = Callable[[str], None]
_T = TypeVar("_T")


def _is_on_demand_devnet(chain: ChainClient) -> bool:
    try:
        version = str(chain.w3.client_version).lower()
    except Exception:  # a node without web3_clientVersion is not a devnet
        return False
    return version.startswith(DEVNET_CLIENTS)


class EpochKeeper:
    """Keeps epochs and challenge rounds moving; `tick` does what is due now, `run` loops
    until `stop` (or the stop event) is set."""

    def __init__(
        self,
        staking: StakingContract,
        challenges: StorageChallengesContract,
        report: Report = print,
        *,
        mine_when_idle: bool | None = None,
    ) -> None:
        self.staking = staking
        self.challenges = challenges
        self.report = report
        chain = staking.client
        self.mine_when_idle = (
            _is_on_demand_devnet(chain) if mine_when_idle is None else mine_when_idle
        )
        self.stopped = threading.Event()
        self._last_error = ""
        self._thread: threading.Thread | None = None

    @classmethod
    def connect(cls, settings: ClientSettings, report: Report = print) -> EpochKeeper:
        """A keeper on the chain, wallet and deployment of ``settings`` (flags, environment
        or devnet defaults, as every `walrus` command); ChainUnreachable, DeploymentError or
        ConfigError otherwise."""
        url = resolve_rpc_url(settings.rpc_url)
        artifacts = compile_contracts()
        probe = ChainClient.connect(url, error_abis=artifacts.all_abis())
        key = resolve_private_key(settings.private_key_file, probe.chain_id)
        if key is None:
            raise ConfigError(
                "the keeper sends transactions: give --private-key-file or WALRUS_PRIVATE_KEY"
            )
        chain = probe.with_account(key)
        deployment = resolve_deployment(settings.deployment_file, probe.chain_id, artifacts)
        staking = StakingContract.at(chain, deployment.address("Staking"), artifacts.abi("Staking"))
        challenges = StorageChallengesContract.at(
            chain, deployment.address("StorageChallenges"), artifacts.abi("StorageChallenges")
        )
        return cls(staking, challenges, report)

    # ------------------------------------------------------------ time

    def chain_now(self) -> int:
        """Unix seconds as the next transaction will see them (at least)."""
        latest = self._latest_timestamp()
        if self.mine_when_idle:  # the devnet's next block takes the wall clock
            return max(latest, int(time.time()))
        return latest

    def _mine_if_idle(self) -> None:
        """anvil estimates gas at the latest block's timestamp, which stands still while
        nobody sends transactions: mine an empty block so chain time catches up."""
        if not self.mine_when_idle:
            return
        if self._latest_timestamp() < int(time.time()):  # even 1 s behind fails a deadline
            provider = self.staking.client.w3.provider
            self._raw_rpc(lambda: provider.make_request("evm_mine", []))  # type: ignore[arg-type]

    def _latest_timestamp(self) -> int:
        return int(
            self._raw_rpc(lambda: self.staking.client.w3.eth.get_block("latest"))["timestamp"]
        )

    def _raw_rpc(self, action: Callable[[], _T]) -> _T:
        """A JSON-RPC request made here rather than through ChainClient: a dropped
        connection becomes ChainUnreachable, which the loop reports and retries."""
        try:
            return action()
        except OSError as error:  # requests' ConnectionError and Timeout are OSErrors
            url = self.staking.client.rpc_url
            raise ChainUnreachable(
                f"no EVM JSON-RPC endpoint answers at {url} ({type(error).__name__})"
            ) from None

    # ------------------------------------------------------------ actions

    def tick(self) -> list[str]:
        """Everything due now, in order: close a finished challenge round, start the next
        epoch, issue the current epoch's round. Returns the lines reported."""
        lines: list[str] = []
        errors: list[ChainError] = []
        for step in (self._close_due_rounds, self._start_epoch_if_over, self._issue_round):
            try:  # a stuck challenge round never holds up the epoch change, nor the reverse
                step(lines)
            except ChainError as error:
                errors.append(error)
        if errors:
            raise errors[0]
        return lines

    def seconds_until_due(self) -> float:
        """How long nothing is due (epoch end or round deadline), at most MAX_SLEEP_SECONDS."""
        now = self.chain_now()
        info = self.staking.epoch_info()
        waits = [info.end_time - now if info.epoch > 0 else 0]
        round_ = self.challenges.round_of(info.epoch) if info.epoch > 0 else None
        if round_ is not None and round_.issued and not round_.closed:
            waits.append(round_.deadline + 1 - now)
        return max(0.0, min(MAX_SLEEP_SECONDS, min(waits) + 0.5))

    def _say(self, lines: list[str], line: str) -> None:
        lines.append(line)
        self.report(line)

    def _close_due_rounds(self, lines: list[str]) -> None:
        """The current and the previous epoch's round (an epoch may end before its answer
        window does) are closed once their deadline has passed."""
        current = self.staking.current_epoch()
        for epoch in (current - 1, current):
            if epoch < 1:
                continue
            round_ = self.challenges.round_of(epoch)
            if not round_.issued or round_.closed or self.chain_now() <= round_.deadline:
                continue
            self._mine_if_idle()
            try:
                failed = self.challenges.close_challenges(epoch)
            except ContractRevert as error:
                self._raise_unless_done(error)
                if not self.challenges.round_of(epoch).closed:
                    continue  # NotClosable also means "not yet" by the chain's clock: next tick
                self._say(lines, f"epoch {epoch}: challenge round already closed ({error.name})")
            else:
                self._say(lines, f"epoch {epoch}: challenge round closed, {len(failed)} failed")

    def _start_epoch_if_over(self, lines: list[str]) -> None:
        info = self.staking.epoch_info()
        if info.epoch > 0 and self.chain_now() < info.end_time:
            return
        self._mine_if_idle()
        try:
            committee = self.staking.initiate_epoch_change()
        except ContractRevert as error:
            self._raise_unless_done(error)
            now_epoch = self.staking.current_epoch()
            if now_epoch > info.epoch:
                self._say(lines, f"epoch {now_epoch} already started ({error.name})")
            # else chain time is a moment behind the wall clock: due again on the next tick
        else:
            self._say(lines, f"epoch {committee.epoch} started ({len(committee.node_ids)} nodes)")

    def _issue_round(self, lines: list[str]) -> None:
        epoch = self.staking.current_epoch()
        if epoch < 1 or self.challenges.round_of(epoch).issued:
            return
        try:
            issued = self.challenges.issue_challenges(epoch)
        except ContractRevert as error:
            self._raise_unless_done(error)
            self._say(lines, f"epoch {epoch}: storage challenges already issued ({error.name})")
        else:
            self._say(lines, f"epoch {epoch}: {len(issued)} storage challenges issued")

    @staticmethod
    def _raise_unless_done(error: ContractRevert) -> None:
        if error.name not in ALREADY_DONE:
            raise error

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        """Tick until stopped; chain errors are reported (the same one once, not every
        second) and retried, never fatal: the keeper outlives RPC hiccups."""
        while not self.stopped.is_set():
            try:
                self.tick()
                self._last_error = ""
                pause = self.seconds_until_due()
            except ChainError as error:  # ContractRevert included
                if str(error) != self._last_error:
                    self.report(f"epoch keeper: {error}")
                self._last_error = str(error)
                pause = 2.0
            self.stopped.wait(pause)

    def start(self) -> None:
        """Run in a daemon thread (`make up`)."""
        self._thread = threading.Thread(target=self.run, name="epoch-keeper", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self.stopped.set()
        if self._thread is not None:
            self._thread.join(30)
