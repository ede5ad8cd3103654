"""Governance for users: proposals named by parameter, found by (a prefix of) their id,
and the checks that turn a doomed transaction into a clear one-line error first.

The contracts enforce everything themselves (``WalrusGovernorNoVotingPower``,
``TimelockUnexpectedOperationState``...); the checks here only explain, before paying
gas, what the revert would have said and what to do about it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts, compile_contracts
from backend.chain.deployment import Deployment
from backend.chain.governance import (
    Governance,
    Proposal,
    ProposalState,
    ProposalStatus,
    VoteSupport,
)
from backend.chain.governed_parameters import (
    calls_for,
    current_values,
    describe,
    parse_assignments,
)
from backend.sdk.config import (
    ClientSettings,
    resolve_deployment,
    resolve_private_key,
    resolve_rpc_url,
)
from backend.sdk.errors import SdkError

MIN_ID_PREFIX = 4


class ProposalNotFound(SdkError):
    """No proposal (or more than one) matches the id given."""


class NoVotingPower(SdkError):
    """The account had no delegated WAL votes at the proposal's snapshot."""


class NotExecutableYet(SdkError):
    """The proposal is queued but its timelock delay has not passed."""


class WrongProposalState(SdkError):
    """The proposal is not in a state that allows the action."""


@dataclass
class GovernanceClient:
    """One wallet's view of a deployment's governor."""

    governance: Governance
    deployment: Deployment
    artifacts: Artifacts

    @property
    def chain(self) -> ChainClient:
        return self.governance.client

    @property
    def address(self) -> str:
        return self.chain.address

    def now(self) -> int:
        return int(self.chain.w3.eth.get_block("latest")["timestamp"])

    # ------------------------------------------------------------ reads

    def parameters(self) -> dict[str, int | None]:
        return current_values(self.chain, self.deployment, self.artifacts)

    def proposals(self) -> list[ProposalStatus]:
        return [
            self.governance.status(proposal)
            for proposal in self.governance.proposals(self.deployment.deploy_block)
        ]

    def find(self, id_text: str) -> Proposal:
        """The proposal whose decimal id is ``id_text`` or starts with it (>= 4 digits)."""
        text = id_text.strip()
        if not text.isdigit():
            raise ProposalNotFound(f"a proposal id is a decimal number, got {id_text!r}")
        proposals = self.governance.proposals(self.deployment.deploy_block)
        exact = [p for p in proposals if str(p.proposal_id) == text]
        if exact:
            return exact[0]
        matches = [p for p in proposals if str(p.proposal_id).startswith(text)]
        if len(text) < MIN_ID_PREFIX or len(matches) != 1:
            reason = "matches several proposals" if len(matches) > 1 else "matches no proposal"
            raise ProposalNotFound(
                f"proposal id {text} {reason}; see `walrus gov list` for the ids"
            )
        return matches[0]

    # ------------------------------------------------------------ writes

    def delegate(self, to: str | None = None) -> int:
        """Delegate this wallet's WAL votes (to itself by default); returns the delegatee's
        voting power afterwards (FROST)."""
        self.governance.delegate(to)
        return self.governance.votes(to or self.address)

    def propose(self, assignments: Iterable[str], description: str | None) -> Proposal:
        values = parse_assignments(assignments)
        calls = calls_for(self.chain, self.deployment, self.artifacts, values)
        threshold = self.governance.proposal_threshold()
        if threshold and self.governance.votes(self.address) < threshold:
            raise NoVotingPower(
                f"{self.address} has {self.governance.votes(self.address)} FROST of votes, "
                f"proposing needs {threshold}; delegate first (`walrus gov delegate`)"
            )
        return self.governance.propose(calls, description or describe(values))

    def vote(self, id_text: str, support: str, reason: str = "") -> tuple[Proposal, int]:
        """Cast a vote; returns the proposal and the weight counted (FROST)."""
        choice = VoteSupport.parse(support)
        proposal = self.find(id_text)
        self._expect(proposal, ProposalState.ACTIVE, "voted on")
        snapshot = self.governance.snapshot(proposal.proposal_id)
        if self.governance.votes_at(self.address, snapshot) == 0:
            raise NoVotingPower(
                f"{self.address} had no voting power when proposal {short(proposal)} was "
                "created (WalrusGovernorNoVotingPower): WAL votes count only once delegated "
                "before a proposal; run `walrus gov delegate` for the next one"
            )
        return proposal, self.governance.cast_vote(proposal.proposal_id, choice, reason)

    def queue(self, id_text: str) -> tuple[Proposal, int]:
        """Queue a succeeded proposal in the timelock; returns it and its eta."""
        proposal = self.find(id_text)
        self._expect(proposal, ProposalState.SUCCEEDED, "queued")
        return proposal, self.governance.queue(proposal)

    def execute(self, id_text: str) -> Proposal:
        proposal = self.find(id_text)
        self._expect(proposal, ProposalState.QUEUED, "executed")
        eta = self.governance.eta(proposal.proposal_id)
        now = self.now()
        if now < eta:
            raise NotExecutableYet(
                f"proposal {short(proposal)} is in the timelock until {_utc(eta)} "
                f"({eta - now} s from now); executing earlier reverts with "
                "TimelockUnexpectedOperationState"
            )
        self.governance.execute(proposal)
        return proposal

    def _expect(self, proposal: Proposal, wanted: ProposalState, action: str) -> None:
        state = self.governance.state(proposal.proposal_id)
        if state is not wanted:
            hint = ""
            if state is ProposalState.PENDING:
                hint = f"; voting opens at {_utc(proposal.vote_start)}"
            elif state is ProposalState.ACTIVE:
                hint = f"; voting ends at {_utc(proposal.vote_end)}"
            raise WrongProposalState(
                f"proposal {short(proposal)} is {state.label}, only a {wanted.label} "
                f"proposal can be {action}{hint}"
            )


def short(proposal: Proposal) -> str:
    """The first 12 digits of a proposal id (enough to name it in `walrus gov`)."""
    return str(proposal.proposal_id)[:12]


def _utc(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def load_governance(settings: ClientSettings) -> GovernanceClient:
    """The deployment's governor for the configured wallet; ChainUnreachable,
    DeploymentError (no governor deployed) or ConfigError otherwise."""
    url = resolve_rpc_url(settings.rpc_url)
    artifacts = compile_contracts()
    probe = ChainClient.connect(url, error_abis=artifacts.all_abis())
    key = resolve_private_key(settings.private_key_file, probe.chain_id)
    chain = probe if key is None else probe.with_account(key)
    deployment = resolve_deployment(settings.deployment_file, probe.chain_id, artifacts)
    return GovernanceClient(Governance.of(chain, deployment, artifacts), deployment, artifacts)
