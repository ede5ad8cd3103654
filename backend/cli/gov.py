"""`walrus gov`: WAL holders change protocol parameters through the governor and timelock.

delegate -> propose --set name=value -> vote -> (voting period) -> queue -> (timelock
delay) -> execute. See docs/governance.md.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from backend.chain.governance import FROST_PER_WAL, Proposal, ProposalStatus, VoteSupport
from backend.chain.governed_parameters import GOVERNED, NOT_GOVERNABLE, parse_assignments
from backend.cli.client_options import client_options, emit_json, with_user_errors
from backend.sdk.config import ClientSettings
from backend.sdk.governance import GovernanceClient, load_governance, short

F = TypeVar("F", bound=Callable[..., Any])


def governance_options(command: F) -> F:
    """The shared connection flags; the command receives ``gov: GovernanceClient`` and
    ``as_json`` (connecting only when the command runs, after its own input checks)."""

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        rpc_url: str | None,
        private_key_file: Path | None,
        deployment_file: Path | None,
        node_timeout: float,
        **kwargs: Any,
    ) -> Any:
        settings = ClientSettings(rpc_url, private_key_file, deployment_file, node_timeout)
        return command(*args, connect=lambda: load_governance(settings), **kwargs)

    return client_options(with_user_errors(wrapper))  # type: ignore[return-value]


Connect = Callable[[], GovernanceClient]


@click.group("gov")
def gov() -> None:
    """Governance: propose, vote on, queue and execute parameter changes."""


@gov.command("delegate")
@click.option("--to", "delegatee", help="Address to delegate to (default: yourself).")
@governance_options
def delegate(connect: Connect, delegatee: str | None, as_json: bool) -> None:
    """Make your WAL count as votes (needed once, before the proposals you vote on)."""
    client = connect()
    power = client.delegate(delegatee)
    target = delegatee or client.address
    if as_json:
        emit_json({"from": client.address, "to": target, "votes_frost": power})
    else:
        click.echo(f"{client.address} delegated to {target}: {_wal(power)} of votes")


@gov.command("params")
@governance_options
def params(connect: Connect, as_json: bool) -> None:
    """The governed parameters and their current values."""
    values = connect().parameters()
    if as_json:
        emit_json(values)
        return
    for name, parameter in GOVERNED.items():
        value = values[name]
        shown = "not in this deployment" if value is None else f"{value} {parameter.unit}"
        click.echo(f"{name:<22} {shown:<28} {parameter.description}")
    for name, reason in NOT_GOVERNABLE.items():
        click.echo(f"{name:<22} {'(not governable)':<28} {reason.split(':')[0]}")


@gov.command("propose")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    required=True,
    metavar="PARAMETER=VALUE",
    help=f"A parameter to change (repeatable): {', '.join(GOVERNED)}.",
)
@click.option("--description", help="What and why (default: the list of changes).")
@governance_options
def propose(
    connect: Connect, assignments: tuple[str, ...], description: str | None, as_json: bool
) -> None:
    """Propose parameter changes; voting opens after the voting delay."""
    parse_assignments(assignments)  # bad input fails before touching the chain
    client = connect()
    proposal = client.propose(assignments, description)
    if as_json:
        emit_json(_proposal_json(proposal))
        return
    click.echo(f"proposal {proposal.proposal_id}")
    click.echo(f"  {proposal.description}")
    click.echo(f"  voting from {_utc(proposal.vote_start)} to {_utc(proposal.vote_end)}")


@gov.command("vote")
@click.argument("proposal_id")
@click.option("--support", required=True, metavar="for|against|abstain")
@click.option("--reason", default="", help="Recorded on chain with the vote.")
@governance_options
def vote(connect: Connect, proposal_id: str, support: str, reason: str, as_json: bool) -> None:
    """Vote on an active proposal with the votes delegated to you at its snapshot."""
    VoteSupport.parse(support)  # bad input fails before touching the chain
    proposal, weight = connect().vote(proposal_id, support, reason)
    if as_json:
        emit_json({"proposal_id": str(proposal.proposal_id), "support": support, "weight": weight})
    else:
        click.echo(f"voted {support} on {short(proposal)} with {_wal(weight)}")


@gov.command("queue")
@click.argument("proposal_id")
@governance_options
def queue(connect: Connect, proposal_id: str, as_json: bool) -> None:
    """Queue a succeeded proposal in the timelock."""
    proposal, eta = connect().queue(proposal_id)
    if as_json:
        emit_json({"proposal_id": str(proposal.proposal_id), "eta": eta})
    else:
        click.echo(f"queued {short(proposal)}: executable from {_utc(eta)}")


@gov.command("execute")
@click.argument("proposal_id")
@governance_options
def execute(connect: Connect, proposal_id: str, as_json: bool) -> None:
    """Execute a queued proposal once its timelock delay has passed."""
    proposal = connect().execute(proposal_id)
    if as_json:
        emit_json({"proposal_id": str(proposal.proposal_id), "state": "executed"})
    else:
        click.echo(f"executed {short(proposal)}: {proposal.description}")


@gov.command("list")
@governance_options
def list_proposals(connect: Connect, as_json: bool) -> None:
    """Every proposal of this deployment: state, votes, description."""
    statuses = connect().proposals()
    if as_json:
        emit_json([_status_json(status) for status in statuses])
        return
    if not statuses:
        click.echo("no proposals yet")
    for status in statuses:
        tally = status.tally
        click.echo(
            f"{short(status.proposal)}  {status.state.label:<9} for {_wal(tally.for_)} "
            f"against {_wal(tally.against)} abstain {_wal(tally.abstain)}  "
            f"{status.proposal.description}"
        )


def _proposal_json(proposal: Proposal) -> dict[str, Any]:
    return {
        "proposal_id": str(proposal.proposal_id),
        "proposer": proposal.proposer,
        "description": proposal.description,
        "vote_start": proposal.vote_start,
        "vote_end": proposal.vote_end,
        "calls": [
            {"target": call.target, "value": call.value, "calldata": "0x" + call.calldata.hex()}
            for call in proposal.calls
        ],
    }


def _status_json(status: ProposalStatus) -> dict[str, Any]:
    return {
        **_proposal_json(status.proposal),
        "state": status.state.label,
        "votes": {
            "for": status.tally.for_,
            "against": status.tally.against,
            "abstain": status.tally.abstain,
        },
        "quorum": status.quorum,
        "eta": status.eta,
    }


def _wal(frost: int) -> str:
    if frost % FROST_PER_WAL == 0:
        return f"{frost // FROST_PER_WAL:,} WAL"
    return f"{frost:,} FROST"


def _utc(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
