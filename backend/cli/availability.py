"""`walrus availability`: per node, storage challenges passed / failed and recovery backlog."""

from __future__ import annotations

from pathlib import Path

import click

from backend.chain.challenges import CONTRACT_NAME, StorageChallengesContract
from backend.chain.compiler import compile_contracts
from backend.cli.client_options import client_options, emit_json, make_client, with_user_errors
from backend.sdk.availability_dashboard import challenges_of_network, node_availability
from backend.sdk.config import resolve_deployment


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


@click.command("availability")
@click.option(
    "--challenges",
    "challenges_address",
    help="StorageChallenges address (default: the deployment's, else the rewards' score).",
)
@client_options
@with_user_errors
def availability(
    challenges_address: str | None,
    rpc_url: str | None,
    private_key_file: Path | None,
    deployment_file: Path | None,
    node_timeout: float,
    as_json: bool,
) -> None:
    """Availability per committee node: challenges passed / failed, this epoch's challenge,
    reward weight and recovery backlog."""
    client = make_client(rpc_url, private_key_file, deployment_file, node_timeout)
    artifacts = compile_contracts()
    if challenges_address is None:
        deployment = resolve_deployment(deployment_file, client.chain.chain_id, artifacts)
        challenges_address = deployment.contracts.get(CONTRACT_NAME)
    challenges = (
        challenges_of_network(client)
        if challenges_address is None
        else StorageChallengesContract.at(
            client.chain, challenges_address, artifacts.abi(CONTRACT_NAME)
        )
    )
    rows = node_availability(client, challenges)
    if as_json:
        emit_json([row.to_json() for row in rows])
        return
    if not rows:
        click.echo("no committee yet")
    click.echo("node  shards  passed  failed  this epoch  weight  backlog  url")
    for row in rows:
        click.echo(
            f"{row.node_id:>4}  {row.shards:>6}  {_cell(row.challenges_passed):>6}  "
            f"{_cell(row.challenges_failed):>6}  {row.current_challenge:>10}  "
            f"{_cell(row.reward_weight_bps):>6}  {_cell(row.recovery_backlog):>7}  {row.url}"
        )
    if challenges is None:
        click.echo("(no StorageChallenges in this deployment: pass --challenges)", err=True)
