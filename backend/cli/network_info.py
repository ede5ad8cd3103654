"""`walrus info | health`: the network as the chain and the nodes describe it."""

from __future__ import annotations

from pathlib import Path

import click

from backend.chain.challenges import NodeRecord
from backend.cli.client_options import client_options, emit_json, make_client, with_user_errors
from backend.cli.staking import wal_text
from backend.sdk.availability_dashboard import challenge_records
from backend.sdk.staking import NodeOverview, StakingClient


@click.command("info")
@click.option(
    "--nodes", "show_nodes", is_flag=True, help="Every node's stake, shards, commission, APY."
)
@client_options
@with_user_errors
def info(
    rpc_url: str | None,
    private_key_file: Path | None,
    deployment_file: Path | None,
    node_timeout: float,
    as_json: bool,
    show_nodes: bool,
) -> None:
    """Epoch, committee, prices and encoding parameters (--nodes: per-node staking view)."""
    client = make_client(rpc_url, private_key_file, deployment_file, node_timeout)
    if show_nodes:
        _print_nodes(StakingClient(client).node_overview(), as_json, challenge_records(client))
        return
    facts = client.info()
    if as_json:
        emit_json(facts)
        return
    click.echo(f"chain {facts['chain_id']}, epoch {facts['epoch']}")
    click.echo(
        f"shards n = {facts['n_shards']}, f = {facts['f']}, "
        f"certificate quorum {facts['quorum_shards']} shards"
    )
    click.echo(
        f"prices: storage {facts['storage_price_frost_per_mib_epoch']} FROST/MiB/epoch, "
        f"write {facts['write_price_frost_per_mib']} FROST/MiB; "
        f"at most {facts['max_epochs_ahead']} epochs ahead"
    )
    if not facts["committee"]:
        click.echo("no committee yet: register nodes and stake, then start epoch 1")
    for member in facts["committee"]:
        click.echo(f"  node {member['node_id']}: {member['shards']} shards at {member['url']}")


def _print_nodes(nodes: list[NodeOverview], as_json: bool, records: dict[int, NodeRecord]) -> None:
    if as_json:
        emit_json([{**vars(node), **_challenge_columns(records, node.node_id)} for node in nodes])
        return
    if not nodes:
        click.echo("no registered nodes")
    for node in nodes:
        click.echo(
            f"node {node.node_id} {node.name}: stake {wal_text(node.stake)} "
            f"(next epoch {wal_text(node.next_stake)}), {node.shards} shards, "
            f"commission {node.commission_bps / 100:.2f}%, {_yield_text(node)}, {node.url}"
            + _challenge_text(records, node.node_id)
        )


def _yield_text(node: NodeOverview) -> str:
    """APY when epochs are long enough to annualise; on devnets (epochs of seconds or
    minutes) the measured reward per epoch, which is what the delegator really sees."""
    if node.reward_per_epoch is None:
        return "no rewards yet"
    if node.apy is None:
        return f"reward {node.reward_per_epoch * 100:.4f}% per epoch (epochs too short for an APY)"
    return f"APY est. {node.apy * 100:.2f}%"


def _challenge_columns(records: dict[int, NodeRecord], node_id: int) -> dict[str, int | None]:
    record = records.get(node_id)
    return {
        "challenges_passed": None if record is None else record.passed,
        "challenges_failed": None if record is None else record.failed,
    }


def _challenge_text(records: dict[int, NodeRecord], node_id: int) -> str:
    record = records.get(node_id)
    return "" if record is None else f", challenges {record.passed} passed / {record.failed} failed"


@click.command("health")
@client_options
@with_user_errors
def health(
    rpc_url: str | None,
    private_key_file: Path | None,
    deployment_file: Path | None,
    node_timeout: float,
    as_json: bool,
) -> None:
    """Ask every committee node for its health; exit 1 if any does not answer."""
    client = make_client(rpc_url, private_key_file, deployment_file, node_timeout)
    answers = client.health()
    if as_json:
        emit_json(answers)
    else:
        for answer in answers:
            state = "ok" if answer["ok"] else f"DOWN ({answer['error']})"
            click.echo(f"node {answer['node_id']} {answer['url']}: {state}")
    down = [f"node {answer['node_id']}" for answer in answers if not answer["ok"]]
    if down:
        raise click.ClickException(
            f"{len(down)} of {len(answers)} nodes not healthy: {', '.join(down)}"
        )
