"""`walrus stake | request-withdraw-stake | withdraw-stake | rewards`: delegate WAL to a
storage node, get it back after the epoch boundary with its rewards, and claim rewards.

Amounts are in FROST (1 WAL = 10^9 FROST), as in `walrus node register --stake`.
"""

from __future__ import annotations

import click

from backend.cli.client_options import Connection, connection_options, emit_json, user_errors
from backend.sdk.staking import StakingClient

FROST_PER_WAL = 10**9


def wal_text(frost: int) -> str:
    """FROST as a WAL amount with all 9 decimals kept (trailing zeros dropped)."""
    whole, fraction = divmod(frost, FROST_PER_WAL)
    return f"{whole}.{fraction:09d}".rstrip("0").rstrip(".") + " WAL"


@click.command("stake")
@click.option("--node", "node_id", type=click.IntRange(min=1), required=True, help="Node id.")
@click.option(
    "--amount", type=click.IntRange(min=1), required=True, help="FROST to stake (10^9 = 1 WAL)."
)
@connection_options
def stake(connection: Connection, as_json: bool, node_id: int, amount: int) -> None:
    """Stake AMOUNT FROST with node NODE (a new stake position)."""
    with user_errors():
        position = StakingClient(connection.client()).stake(node_id, amount)
    if as_json:
        emit_json(
            {
                "position_id": position.position_id,
                "node_id": node_id,
                "amount": amount,
                "activation_epoch": position.activation_epoch,
            }
        )
        return
    click.echo(
        f"position {position.position_id}: staked {wal_text(amount)} with node {node_id}, "
        f"counting from epoch {position.activation_epoch}"
    )


@click.command("request-withdraw-stake")
@click.option("--position", "position_id", type=click.IntRange(min=1), required=True)
@click.option(
    "--amount", type=click.IntRange(min=1), help="FROST to withdraw (default: the whole position)."
)
@connection_options
def request_withdraw_stake(
    connection: Connection, as_json: bool, position_id: int, amount: int | None
) -> None:
    """Ask to withdraw a stake position (or part of it); it keeps earning until its withdraw
    epoch, from which on `walrus withdraw-stake` pays it back."""
    with user_errors():
        position = StakingClient(connection.client()).request_withdraw(position_id, amount)
    if as_json:
        emit_json(
            {
                "position_id": position.position_id,
                "amount": position.amount,
                "withdraw_epoch": position.withdraw_epoch,
            }
        )
        return
    click.echo(
        f"position {position.position_id}: {wal_text(position.amount)} withdrawable from "
        f"epoch {position.withdraw_epoch}"
    )


@click.command("withdraw-stake")
@click.option("--position", "position_id", type=click.IntRange(min=1), required=True)
@connection_options
def withdraw_stake(connection: Connection, as_json: bool, position_id: int) -> None:
    """Pay back a position whose withdraw epoch has come, with its unclaimed rewards."""
    with user_errors():
        withdrawal = StakingClient(connection.client()).withdraw(position_id)
    if as_json:
        emit_json(
            {
                "position_id": position_id,
                "stake": withdrawal.stake,
                "rewards": withdrawal.rewards,
            }
        )
        return
    click.echo(
        f"position {position_id}: withdrew {wal_text(withdrawal.stake)} of stake and "
        f"{wal_text(withdrawal.rewards)} of rewards"
    )


@click.command("rewards")
@click.option("--claim", is_flag=True, help="Claim every position's rewards and commission.")
@click.option("--owner", help="Show another address's rewards (default: the wallet).")
@connection_options
def rewards(connection: Connection, as_json: bool, claim: bool, owner: str | None) -> None:
    """Claimable rewards per stake position, and commission of the nodes you operate."""
    if claim and owner:
        raise click.UsageError("--claim pays the wallet; it cannot be combined with --owner")
    with user_errors():
        staking = StakingClient(connection.client())
        summary = staking.rewards_summary(owner)
        claimed = staking.claim_all() if claim else None
    if as_json:
        emit_json({**summary.to_json(), "claimed_frost": claimed})
        return
    if not summary.positions and not summary.commission:
        click.echo("no stake positions and no operated nodes")
    for position in summary.positions:
        state = (
            f"withdrawable from epoch {position.withdraw_epoch}"
            if position.withdraw_epoch
            else f"active from epoch {position.activation_epoch}"
        )
        click.echo(
            f"position {position.position_id}: {wal_text(position.amount)} on node "
            f"{position.node_id} ({state}), rewards {wal_text(position.pending_rewards)}"
        )
    for node_id, amount in summary.commission.items():
        click.echo(f"node {node_id}: commission {wal_text(amount)}")
    click.echo(f"total claimable: {wal_text(summary.total)}")
    if claimed is not None:
        click.echo(f"claimed {wal_text(claimed)}")


@click.command("vote")
@click.option("--node", "node_id", type=click.IntRange(min=1), required=True, help="Your node.")
@click.option(
    "--storage-price",
    type=click.IntRange(min=0, max=2**128 - 1),
    required=True,
    help="FROST per MiB of encoded size per epoch.",
)
@click.option(
    "--write-price",
    type=click.IntRange(min=0, max=2**128 - 1),
    required=True,
    help="FROST per MiB of encoded size, paid once per write.",
)
@click.option(
    "--capacity",
    type=click.IntRange(min=0, max=2**64 - 1),
    required=True,
    help="Bytes of encoded storage the node offers.",
)
@connection_options
def vote(
    connection: Connection,
    as_json: bool,
    node_id: int,
    storage_price: int,
    write_price: int,
    capacity: int,
) -> None:
    """Vote next epochs' prices and capacity as NODE's operator (the wallet). The committee's
    stake-weighted 66.67th percentile applies from the next epoch change."""
    with user_errors():
        StakingClient(connection.client()).vote(
            node_id, storage_price=storage_price, write_price=write_price, capacity=capacity
        )
    if as_json:
        emit_json(
            {
                "node_id": node_id,
                "storage_price": storage_price,
                "write_price": write_price,
                "capacity": capacity,
            }
        )
        return
    click.echo(
        f"node {node_id} votes storage {storage_price} FROST/MiB/epoch, write {write_price} "
        f"FROST/MiB, capacity {capacity} bytes (from the next epoch change)"
    )
