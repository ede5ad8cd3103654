"""Typed binding of WalrusGovernor + WalrusTimelock: delegate, propose, vote, queue, execute.

Proposals are identified as the Governor identifies them: ``proposal_id`` hashes the calls
and the keccak of the description, so queue and execute need the exact proposal. They are
recovered from the governor's ``ProposalCreated`` events (:meth:`Governance.proposals`),
which is also how ``walrus gov list`` works; nothing is stored off chain.

Votes are WAL ``ERC20Votes`` checkpoints on a timestamp clock: an account has voting power
only once it has delegated (to itself or someone else) before a proposal's snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Final

from eth_abi.abi import encode
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.errors import ChainError
from backend.chain.events import ContractEvents

if TYPE_CHECKING:
    from backend.chain.compiler import Artifacts
    from backend.chain.deployment import Deployment

FROST_PER_WAL: Final = 10**9


@dataclass(frozen=True)
class GovernanceParameters:
    """Governor and timelock settings; times are seconds (WAL uses a timestamp clock)."""

    voting_delay: int
    voting_period: int
    proposal_threshold: int
    """Votes (FROST) an account needs to propose."""
    quorum_percent: int
    """Percent of the WAL supply that must vote For or Abstain."""
    timelock_delay: int

    def governor_args(self, wal: str, timelock: str) -> list[Any]:
        return [
            Web3.to_checksum_address(wal),
            Web3.to_checksum_address(timelock),
            self.voting_delay,
            self.voting_period,
            self.proposal_threshold,
            self.quorum_percent,
        ]


DEVNET_GOVERNANCE: Final = GovernanceParameters(
    voting_delay=1, voting_period=30, proposal_threshold=0, quorum_percent=4, timelock_delay=10
)
"""Seconds, so a devnet proposal passes in under a minute (tests warp time instead)."""

MAINNET_GOVERNANCE: Final = GovernanceParameters(
    voting_delay=86_400,
    voting_period=7 * 86_400,
    proposal_threshold=1_000_000 * FROST_PER_WAL,
    quorum_percent=4,
    timelock_delay=2 * 86_400,
)
"""Realistic values for a public chain (docs/governance.md): 1 day, 1 week, 2 days."""


class ProposalState(IntEnum):
    """IGovernor.ProposalState, in Solidity order."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7

    @property
    def label(self) -> str:
        return self.name.lower()


class VoteSupport(IntEnum):
    """GovernorCountingSimple's vote types."""

    AGAINST = 0
    FOR = 1
    ABSTAIN = 2

    @classmethod
    def parse(cls, text: str) -> VoteSupport:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise GovernanceError(
                f"support must be for, against or abstain, got {text!r}"
            ) from None


class GovernanceError(ChainError):
    """Bad governance input found before any transaction (unknown proposal, bad support)."""


@dataclass(frozen=True)
class Call:
    """One call a proposal makes through the timelock."""

    target: ChecksumAddress
    value: int
    calldata: bytes


@dataclass(frozen=True)
class Proposal:
    """A proposal as created on chain (from its ProposalCreated event)."""

    proposal_id: int
    proposer: ChecksumAddress
    targets: tuple[ChecksumAddress, ...]
    values: tuple[int, ...]
    signatures: tuple[str, ...]
    calldatas: tuple[bytes, ...]
    vote_start: int
    vote_end: int
    description: str

    @property
    def description_hash(self) -> bytes:
        return description_hash(self.description)

    @property
    def calls(self) -> list[Call]:
        return [
            Call(target, value, calldata)
            for target, value, calldata in zip(
                self.targets, self.values, self.calldatas, strict=True
            )
        ]


@dataclass(frozen=True)
class Tally:
    against: int
    for_: int
    abstain: int


@dataclass(frozen=True)
class ProposalStatus:
    """What `walrus gov list` shows for one proposal."""

    proposal: Proposal
    state: ProposalState
    tally: Tally
    quorum: int
    eta: int
    """Unix time from which a queued proposal can be executed; 0 when not queued."""


def description_hash(description: str) -> bytes:
    return bytes(Web3.keccak(text=description))


def proposal_id(calls: Sequence[Call], description: str) -> int:
    """Governor.hashProposal: keccak256(abi.encode(targets, values, calldatas, descHash))."""
    encoded = encode(
        ["address[]", "uint256[]", "bytes[]", "bytes32"],
        [
            [call.target for call in calls],
            [call.value for call in calls],
            [call.calldata for call in calls],
            description_hash(description),
        ],
    )
    return int.from_bytes(Web3.keccak(encoded), "big")


_EVENTS: Final = {
    "ProposalCreated": (
        Proposal,
        (
            "proposalId",
            "proposer",
            "targets",
            "values",
            "signatures",
            "calldatas",
            "voteStart",
            "voteEnd",
            "description",
        ),
    ),
}


class Governance:
    """The governor, its timelock and the WAL votes, as seen by one account of a client.

    Writes raise :class:`~backend.chain.errors.ContractRevert` named after the contract's
    error (``WalrusGovernorNoVotingPower``, ``GovernorUnexpectedProposalState``,
    ``TimelockUnexpectedOperationState``...).
    """

    def __init__(
        self, client: ChainClient, governor: Contract, timelock: Contract, wal: Contract
    ) -> None:
        self.client = client
        self.governor = governor
        self.timelock = timelock
        self.wal = wal
        self.events: ContractEvents[Proposal] = ContractEvents(governor, _EVENTS)

    @classmethod
    def of(cls, client: ChainClient, deployment: Deployment, artifacts: Artifacts) -> Governance:
        """The governance contracts of a deployment (DeploymentError if it has none)."""

        def bound(name: str) -> Contract:
            return client.contract(deployment.address(name), artifacts.abi(name))

        return cls(client, bound("WalrusGovernor"), bound("WalrusTimelock"), bound("WAL"))

    def as_account(self, client: ChainClient) -> Governance:
        """The same contracts, sending from ``client``'s account."""

        def rebound(contract: Contract) -> Contract:
            return client.w3.eth.contract(contract.address, abi=contract.abi)

        return Governance(client, rebound(self.governor), rebound(self.timelock), rebound(self.wal))

    # ------------------------------------------------------------ settings

    def voting_delay(self) -> int:
        return int(self.client.call(self.governor.functions.votingDelay()))

    def voting_period(self) -> int:
        return int(self.client.call(self.governor.functions.votingPeriod()))

    def timelock_delay(self) -> int:
        return int(self.client.call(self.timelock.functions.getMinDelay()))

    def proposal_threshold(self) -> int:
        return int(self.client.call(self.governor.functions.proposalThreshold()))

    # ------------------------------------------------------------ votes

    def delegate(self, delegatee: str | None = None) -> None:
        """Delegate this account's WAL votes (to itself by default)."""
        to = Web3.to_checksum_address(delegatee or self.client.address)
        self.client.transact(self.wal.functions.delegate(to))

    def delegate_of(self, account: str) -> ChecksumAddress:
        return Web3.to_checksum_address(
            self.client.call(self.wal.functions.delegates(Web3.to_checksum_address(account)))
        )

    def votes(self, account: str) -> int:
        """Current voting power (FROST) of ``account``."""
        return int(self.client.call(self.wal.functions.getVotes(Web3.to_checksum_address(account))))

    def votes_at(self, account: str, timepoint: int) -> int:
        return int(
            self.client.call(
                self.governor.functions.getVotes(Web3.to_checksum_address(account), timepoint)
            )
        )

    # ------------------------------------------------------------ lifecycle

    def propose(self, calls: Sequence[Call], description: str) -> Proposal:
        """Create a proposal; returns it as recorded by its ProposalCreated event."""
        receipt = self.client.transact(
            self.governor.functions.propose(
                [call.target for call in calls],
                [call.value for call in calls],
                [call.calldata for call in calls],
                description,
            )
        )
        created = self.events.from_receipt(receipt)
        if not created:
            raise ChainError("propose succeeded but emitted no ProposalCreated event")
        return created[0]

    def cast_vote(self, proposal: int, support: VoteSupport, reason: str = "") -> int:
        """Vote on ``proposal``; returns the weight counted (FROST)."""
        function = (
            self.governor.functions.castVoteWithReason(proposal, int(support), reason)
            if reason
            else self.governor.functions.castVote(proposal, int(support))
        )
        self.client.transact(function)
        return self.votes_at(self.client.address, self.snapshot(proposal))

    def queue(self, proposal: Proposal) -> int:
        """Schedule a succeeded proposal in the timelock; returns its eta (unix time)."""
        self.client.transact(
            self.governor.functions.queue(
                list(proposal.targets),
                list(proposal.values),
                list(proposal.calldatas),
                proposal.description_hash,
            )
        )
        return self.eta(proposal.proposal_id)

    def execute(self, proposal: Proposal) -> None:
        """Run a queued proposal's calls through the timelock (after its delay)."""
        self.client.transact(
            self.governor.functions.execute(
                list(proposal.targets),
                list(proposal.values),
                list(proposal.calldatas),
                proposal.description_hash,
            )
        )

    # ------------------------------------------------------------ views

    def state(self, proposal: int) -> ProposalState:
        return ProposalState(int(self.client.call(self.governor.functions.state(proposal))))

    def snapshot(self, proposal: int) -> int:
        return int(self.client.call(self.governor.functions.proposalSnapshot(proposal)))

    def eta(self, proposal: int) -> int:
        return int(self.client.call(self.governor.functions.proposalEta(proposal)))

    def tally(self, proposal: int) -> Tally:
        against, for_, abstain = self.client.call(self.governor.functions.proposalVotes(proposal))
        return Tally(int(against), int(for_), int(abstain))

    def quorum(self, timepoint: int) -> int:
        return int(self.client.call(self.governor.functions.quorum(timepoint)))

    def proposals(self, from_block: int = 0, to_block: int | None = None) -> list[Proposal]:
        """Every proposal created in the block range, oldest first."""
        last = self.client.block_number() if to_block is None else to_block
        return self.events.in_blocks(from_block, last)

    def proposal(self, proposal: int, from_block: int = 0) -> Proposal:
        """The proposal with this id; GovernanceError if the governor never saw it."""
        for candidate in self.proposals(from_block):
            if candidate.proposal_id == proposal:
                return candidate
        raise GovernanceError(f"no proposal {proposal} on governor {self.governor.address}")

    def status(self, proposal: Proposal) -> ProposalStatus:
        snapshot = proposal.vote_start
        now = int(self.client.w3.eth.get_block("latest")["timestamp"])
        return ProposalStatus(
            proposal=proposal,
            state=self.state(proposal.proposal_id),
            tally=self.tally(proposal.proposal_id),
            quorum=self.quorum(snapshot) if snapshot < now else 0,
            eta=self.eta(proposal.proposal_id),
        )


def warp(client: ChainClient, seconds: int) -> None:
    """Devnet only (anvil): move the clock ``seconds`` forward and mine a block."""
    client.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    client.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def enact_on_devnet(governance: Governance, calls: Sequence[Call], description: str) -> Proposal:
    """Run a proposal through its whole lifecycle on anvil, warping time between steps:
    propose, vote For, queue, execute. ``governance``'s account must hold (delegated)
    votes above the quorum, e.g. dev account 0 (community reserve, 43%) after
    :meth:`Governance.delegate`. For tests and scripts that need a parameter changed on a
    timelock-owned deployment."""
    if governance.votes(governance.client.address) == 0:
        governance.delegate()
    proposal = governance.propose(calls, description)
    warp(governance.client, governance.voting_delay() + 1)
    governance.cast_vote(proposal.proposal_id, VoteSupport.FOR)
    warp(governance.client, governance.voting_period() + 1)
    governance.queue(proposal)
    warp(governance.client, governance.timelock_delay() + 1)
    governance.execute(proposal)
    return proposal
