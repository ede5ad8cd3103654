"""Read-side JSON for the web dApp's Staking and Governance pages: the per-node overview
(stake, shards, commission, measured reward per epoch, APY when meaningful, challenge
record), a wallet's stake positions with their claimable rewards, the governor's proposals
with state and votes, and the calldata of a parameter change (so the browser's wallet
signs ``propose`` itself).

Everything here is read from the chain through the SDK (``backend/sdk/staking.py``,
``backend/sdk/governance.py``); the browser never gets the backend's key to sign with.
Amounts are decimal strings of FROST (they overflow JavaScript numbers); times are Unix
seconds.
"""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, Response, current_app, jsonify, request
from web3 import Web3

from backend.api.errors import BadRequest, error_response
from backend.api.frontend import _artifacts, _contracts, served_deployment
from backend.chain.challenges import StorageChallengesContract
from backend.chain.deployment import Deployment
from backend.chain.governance import Governance, GovernanceError, ProposalStatus
from backend.chain.governed_parameters import (
    GOVERNED,
    calls_for,
    current_values,
    describe,
    parse_assignments,
)
from backend.chain.seal_trust import SealTrust
from backend.sdk.client import Client
from backend.sdk.seal import (
    NO_TRUSTED_KEY_SERVERS,
    key_server_registry,
    key_server_urls_from_env,
)
from backend.sdk.staking import APY_EPOCHS, MIN_ANNUALISED_EPOCH_SECONDS, StakingClient

network_views = Blueprint("network_views", __name__)

GOVERNANCE_CONTRACTS: Final = ("WalrusGovernor", "WalrusTimelock")


def _client() -> Client:
    client: Client = current_app.extensions["walrus_client"]
    return client


def _deployment(client: Client) -> Deployment:
    artifacts = _artifacts()
    addresses, deploy_block = _contracts(client, artifacts)
    return Deployment(
        chain_id=client.chain.chain_id,
        deploy_block=deploy_block,
        abi_hash=artifacts.abi_hash,
        contracts={name: Web3.to_checksum_address(a) for name, a in addresses.items()},
    )


def _not_deployed(names: str) -> tuple[Response, int]:
    return error_response(
        404,
        "NotDeployed",
        f"this deployment has no {names}; deploy it with `walrus devnet deploy`",
    )


@network_views.get("/v1/staking/nodes")
def staking_nodes() -> Any:
    """Every registered node: stake now and next epoch, shards, commission, the delegators'
    measured reward per staked WAL per epoch (`rewardPerEpoch`, a fraction averaged over the
    last APY_EPOCHS distributed epochs), `apy` (that annualised without compounding) only
    when epochs last at least MIN_ANNUALISED_EPOCH_SECONDS (`yieldBasis` says which, with a
    note otherwise), and its storage-challenge record (null without StorageChallenges)."""
    client = _client()
    deployment = _deployment(client)
    staking = StakingClient(client)
    info = client.staking.epoch_info()
    challenges = None
    if "StorageChallenges" in deployment.contracts:
        challenges = StorageChallengesContract.at(
            client.chain,
            deployment.contracts["StorageChallenges"],
            _artifacts().abi("StorageChallenges"),
        )
    annualised = info.duration >= MIN_ANNUALISED_EPOCH_SECONDS
    nodes = []
    for node in staking.node_overview():
        record = challenges.node_record(node.node_id) if challenges else None
        nodes.append(
            {
                "nodeId": node.node_id,
                "name": node.name,
                "url": node.url,
                "commissionBps": node.commission_bps,
                "stake": str(node.stake),
                "nextStake": str(node.next_stake),
                "shards": node.shards,
                "rewardPerEpoch": node.reward_per_epoch,
                "apy": node.apy,
                "challenges": (
                    None if record is None else {"passed": record.passed, "failed": record.failed}
                ),
            }
        )
    return jsonify(
        epoch=info.epoch,
        epochStartTime=info.start_time,
        epochDuration=info.duration,
        rewards=client.staking.rewards_address(),
        yieldBasis={
            "epochsAveraged": APY_EPOCHS,
            "annualised": annualised,
            "minEpochSecondsToAnnualise": MIN_ANNUALISED_EPOCH_SECONDS,
            "note": None
            if annualised
            else (
                f"devnet epochs are {info.duration} s long; annualised figures are not meaningful"
            ),
        },
        nodes=nodes,
    )


@network_views.get("/v1/staking/positions/<owner>")
def staking_positions(owner: str) -> Any:
    """The live stake positions of `owner` with the rewards each can claim now."""
    if not Web3.is_address(owner):
        raise BadRequest(f"{owner!r} is not an Ethereum address (0x and 40 hex digits)")
    client = _client()
    staking = StakingClient(client)
    address = Web3.to_checksum_address(owner)
    has_rewards = client.staking.rewards_address() is not None
    positions = []
    for position in staking.positions(address):
        pending = staking.rewards.pending_rewards(position.position_id) if has_rewards else 0
        positions.append(
            {
                "positionId": position.position_id,
                "nodeId": position.node_id,
                "amount": str(position.amount),
                "activationEpoch": position.activation_epoch,
                "withdrawEpoch": position.withdraw_epoch,
                "pendingRewards": str(pending),
            }
        )
    return jsonify(owner=address, epoch=client.staking.current_epoch(), positions=positions)


def _governance(client: Client) -> tuple[Governance, Deployment] | None:
    deployment = _deployment(client)
    if any(name not in deployment.contracts for name in GOVERNANCE_CONTRACTS):
        return None
    return Governance.of(client.chain, deployment, _artifacts()), deployment


def _proposal_json(status: ProposalStatus) -> dict[str, Any]:
    proposal = status.proposal
    return {
        "proposalId": str(proposal.proposal_id),
        "proposer": proposal.proposer,
        "description": proposal.description,
        "descriptionHash": "0x" + proposal.description_hash.hex(),
        "targets": list(proposal.targets),
        "values": [str(value) for value in proposal.values],
        "calldatas": ["0x" + data.hex() for data in proposal.calldatas],
        "voteStart": proposal.vote_start,
        "voteEnd": proposal.vote_end,
        "state": status.state.label,
        "votes": {
            "for": str(status.tally.for_),
            "against": str(status.tally.against),
            "abstain": str(status.tally.abstain),
        },
        "quorum": str(status.quorum),
        "eta": status.eta,
    }


@network_views.get("/v1/governance/proposals")
def governance_proposals() -> Any:
    """Every proposal (newest first) with state, votes, quorum and timelock eta, plus the
    governor's settings and the current value of every governed parameter."""
    client = _client()
    found = _governance(client)
    if found is None:
        return _not_deployed("governor (WalrusGovernor + WalrusTimelock)")
    governance, deployment = found
    statuses = [
        governance.status(proposal) for proposal in governance.proposals(deployment.deploy_block)
    ]
    return jsonify(
        now=int(client.chain.w3.eth.get_block("latest")["timestamp"]),
        votingDelay=governance.voting_delay(),
        votingPeriod=governance.voting_period(),
        timelockDelay=governance.timelock_delay(),
        proposalThreshold=str(governance.proposal_threshold()),
        parameters={
            name: None if value is None else str(value)
            for name, value in current_values(client.chain, deployment, _artifacts()).items()
        },
        proposals=[_proposal_json(status) for status in reversed(statuses)],
    )


@network_views.get("/v1/governance/votes/<account>")
def governance_votes(account: str) -> Any:
    """The WAL voting power of `account` now and whom it delegates to."""
    if not Web3.is_address(account):
        raise BadRequest(f"{account!r} is not an Ethereum address (0x and 40 hex digits)")
    client = _client()
    found = _governance(client)
    if found is None:
        return _not_deployed("governor (WalrusGovernor + WalrusTimelock)")
    governance, _ = found
    address = Web3.to_checksum_address(account)
    return jsonify(
        account=address,
        votes=str(governance.votes(address)),
        delegate=governance.delegate_of(address),
    )


@network_views.post("/v1/governance/calls")
def governance_calls() -> Any:
    """The calls a proposal setting ``{"set": {"epoch_duration": 600}}`` makes, checked
    like `walrus gov propose --set` (UnknownParameter, ParameterUnavailable...)."""
    client = _client()
    found = _governance(client)
    if found is None:
        return _not_deployed("governor (WalrusGovernor + WalrusTimelock)")
    _, deployment = found
    body = request.get_json(silent=True)
    assignments = body.get("set") if isinstance(body, dict) else None
    if not isinstance(assignments, dict) or not assignments:
        raise BadRequest(
            'the body is JSON {"set": {"<parameter>": <value>}} with at least one parameter; '
            f"governed: {', '.join(sorted(GOVERNED))}"
        )
    try:
        values = parse_assignments(f"{name}={value}" for name, value in assignments.items())
        calls = calls_for(client.chain, deployment, _artifacts(), values)
    except GovernanceError as error:
        return error_response(400, type(error).__name__, str(error))
    return jsonify(
        targets=[call.target for call in calls],
        values=[str(call.value) for call in calls],
        calldatas=["0x" + call.calldata.hex() for call in calls],
        description=describe(values),
    )


@network_views.get("/v1/keyservers")
def key_servers() -> Any:
    """The Seal key servers the browser encrypts to and asks (`urls`, in sealing order, with
    `threshold`): WALRUS_KEY_SERVERS (the backend operator's comma-separated URLs, `source:
    "env"`), else the registry ids the deployment file trusts (`source: "deployment"`), else
    none (`source: "none"`); `message` says what to do then, or which trusted ids are gone
    (those are left out of `urls`). `servers`: the registry's active
    entries (id, operator, name, url, public_key, `trusted`): the registry is permissionless,
    so an untrusted entry is shown, never used unless the user enters its URL."""
    client = _client()
    registry = key_server_registry(client, _deployment(client), _artifacts())
    entries = registry.all() if registry is not None else []
    env_urls = key_server_urls_from_env()
    trust = None if env_urls else _trusted(client)
    message: str | None = None
    by_id = {entry.id: entry for entry in entries}
    if env_urls:
        source, urls, threshold = "env", env_urls, None
    elif trust is not None:
        chosen = [by_id[i] for i in trust.key_server_ids if i in by_id and by_id[i].active]
        source, urls, threshold = "deployment", [e.url for e in chosen], trust.threshold
        gone = [str(i) for i in trust.key_server_ids if i not in by_id or not by_id[i].active]
        if gone:
            message = (
                f"trusted key server(s) {', '.join(gone)} are deregistered or unknown: the "
                "deployment's list needs updating (walrus keyserver trust ID...)"
            )
    else:
        source, urls, threshold = "none", [], None
        message = NO_TRUSTED_KEY_SERVERS
    trusted_ids = set(trust.key_server_ids) if trust is not None else set()
    return jsonify(
        source=source,
        urls=urls,
        threshold=threshold,
        trusted_ids=sorted(trusted_ids),
        servers=[
            {**entry.to_json(), "trusted": entry.id in trusted_ids or entry.url in env_urls}
            for entry in entries
            if entry.active
        ],
        registry=registry.address if registry is not None else None,
        message=message,
    )


def _trusted(client: Client) -> SealTrust | None:
    deployment = served_deployment(client, _artifacts())
    return deployment.seal if deployment is not None else None


def _path(summary: str, parameter: str | None = None, method: str = "get") -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": {"description": "JSON"},
            "400": {"description": "JSON error {error: {code, message}}"},
            "404": {"description": "JSON error NotDeployed"},
        },
    }
    if parameter is not None:
        operation["parameters"] = [
            {"name": parameter, "in": "path", "required": True, "schema": {"type": "string"}}
        ]
    return {method: operation}


NETWORK_VIEW_PATHS: Final[dict[str, Any]] = {
    "/v1/staking/nodes": _path(
        "Nodes with stake, shards, commission, reward per epoch, APY (epochs >= 1 h), challenges"
    ),
    "/v1/staking/positions/{owner}": _path("An address's stake positions and rewards", "owner"),
    "/v1/governance/proposals": _path("Proposals with state, votes and timelock eta"),
    "/v1/governance/votes/{account}": _path("An account's voting power and delegate", "account"),
    "/v1/keyservers": _path(
        "Seal key servers to use: WALRUS_KEY_SERVERS, else the deployment's trusted registry "
        "ids; every registered one listed with `trusted`"
    ),
    "/v1/governance/calls": _path(
        'Calldata of a parameter change: body {"set": {"<parameter>": <value>}}', None, "post"
    ),
}
"""OpenAPI paths of this blueprint (merged into ``GET /v1/api``)."""
