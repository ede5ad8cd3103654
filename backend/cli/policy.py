"""`walrus policy ...`: deploy Seal policy contracts and act on them (docs/seal.md)."""

from __future__ import annotations

import click
from web3 import Web3

from backend.chain.compiler import compile_contracts
from backend.chain.policies import POLICY_KINDS, PolicyContract, deploy_policy, seal_approve
from backend.cli.client_options import Connection, connection_options, emit_json, with_user_errors

FROST_PER_WAL = 10**9


def _address(value: str, what: str) -> str:
    if not Web3.is_address(value):
        raise click.ClickException(f"{what} {value!r} is not an address")
    return Web3.to_checksum_address(value)


def _identity(value: str) -> bytes:
    try:
        identity = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise click.ClickException(f"--id {value!r} is not hex") from None
    if len(identity) != 32:
        raise click.ClickException(f"--id must be 32 bytes (64 hex digits), got {len(identity)}")
    return identity


def _policy(connection: Connection, kind: str, address: str) -> PolicyContract:
    client = connection.client()
    return PolicyContract.at(client.chain, compile_contracts(), kind, _address(address, "policy"))


@click.group("policy")
def policy() -> None:
    """Seal access policies: who may decrypt blobs encrypted under a policy."""


@policy.command("deploy")
@click.argument("kind", type=click.Choice(sorted(POLICY_KINDS)))
@click.option("--price-per-day", type=float, help="subscription: WAL per day of access.")
@click.option("--token", help="token-gated: ERC-20 or ERC-721 address.")
@click.option("--min-balance", type=int, default=1, show_default=True, help="token-gated.")
@click.option("--registry", help="blob-owner: the BlobRegistry (default: the deployment's).")
@connection_options
@with_user_errors
def deploy(
    kind: str,
    price_per_day: float | None,
    token: str | None,
    min_balance: int,
    registry: str | None,
    connection: Connection,
    as_json: bool,
) -> None:
    """Deploy a new policy contract of KIND owned/created by the wallet."""
    client = connection.client()
    me = client.chain.address
    args: tuple[object, ...]
    if kind == "allowlist":
        args = (me,)
    elif kind == "subscription":
        if price_per_day is None or price_per_day < 0:
            raise click.ClickException("subscription needs --price-per-day WAL (>= 0)")
        args = (client.wal.address, me, round(price_per_day * FROST_PER_WAL))
    elif kind == "token-gated":
        if token is None:
            raise click.ClickException("token-gated needs --token <address>")
        args = (_address(token, "--token"), min_balance)
    elif kind == "blob-owner":
        args = (_address(registry, "--registry") if registry else client.registry.address,)
    else:
        args = ()
    address = deploy_policy(client.chain, compile_contracts(), kind, *args)
    if as_json:
        emit_json({"kind": kind, "address": address})
    else:
        click.echo(f"{kind} policy deployed at {address}")


@policy.group("allowlist")
def allowlist() -> None:
    """Add or remove readers of an allowlist policy (owner only)."""


@allowlist.command("add")
@click.argument("policy_address")
@click.argument("reader")
@connection_options
@with_user_errors
def allowlist_add(policy_address: str, reader: str, connection: Connection, as_json: bool) -> None:
    """Let READER decrypt blobs under POLICY_ADDRESS."""
    _policy(connection, "allowlist", policy_address).add_reader(_address(reader, "reader"))
    click.echo(f"{reader} added to {policy_address}")


@allowlist.command("remove")
@click.argument("policy_address")
@click.argument("reader")
@connection_options
@with_user_errors
def allowlist_remove(
    policy_address: str, reader: str, connection: Connection, as_json: bool
) -> None:
    """Stop READER from obtaining keys under POLICY_ADDRESS from now on."""
    _policy(connection, "allowlist", policy_address).remove_reader(_address(reader, "reader"))
    click.echo(f"{reader} removed from {policy_address}")


@policy.command("subscribe")
@click.argument("policy_address")
@click.option("--days", type=click.IntRange(1, 3660), required=True)
@connection_options
@with_user_errors
def subscribe(policy_address: str, days: int, connection: Connection, as_json: bool) -> None:
    """Pay for DAYS days of access to a creator's content."""
    client = connection.client()
    until = _policy(connection, "subscription", policy_address).subscribe(client.wal, days)
    if as_json:
        emit_json({"policy": policy_address, "paid_until": until})
    else:
        click.echo(f"Subscribed to {policy_address} until unix time {until}")


@policy.command("time-lock")
@click.argument("policy_address")
@click.option("--id", "identity", required=True, help="32 bytes as 64 hex digits.")
@click.option("--at", "unlock_at", type=click.IntRange(min=1), required=True, help="Unix time.")
@connection_options
@with_user_errors
def time_lock(
    policy_address: str, identity: str, unlock_at: int, connection: Connection, as_json: bool
) -> None:
    """Lock --id until --at; from then anyone may decrypt it."""
    _policy(connection, "time-lock", policy_address).lock(_identity(identity), unlock_at)
    click.echo(f"id {identity} opens at unix time {unlock_at}")


@policy.command("check")
@click.argument("policy_address")
@click.option("--id", "identity", required=True, help="32 bytes as 64 hex digits.")
@click.option("--requester", help="Address to check (default: the wallet).")
@connection_options
@with_user_errors
def check(
    policy_address: str,
    identity: str,
    requester: str | None,
    connection: Connection,
    as_json: bool,
) -> None:
    """Evaluate sealApprove(id, requester) at the latest block, as key servers do."""
    client = connection.client()
    who = _address(requester, "--requester") if requester else client.chain.address
    approved = seal_approve(
        client.chain, _address(policy_address, "policy"), _identity(identity), who
    )
    if as_json:
        emit_json({"policy": policy_address, "requester": who, "approved": approved})
    else:
        click.echo(f"{who}: {'approved' if approved else 'refused'}")
