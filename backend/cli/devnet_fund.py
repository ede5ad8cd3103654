"""`walrus devnet fund ADDRESS`: send ETH (gas) and WAL from the CLI's wallet (on the devnet:
dev account 0) to a new account, e.g. the operator key `walrus node init` prints, which
must pay gas and stake before `walrus node register`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click

from backend.cli.client_options import Connection, connection_options, emit_json, user_errors
from backend.cli.staking import wal_text
from backend.sdk.client import is_address
from backend.sdk.errors import InsufficientWal, InvalidAddress

WEI_PER_ETH = 10**18


def _wei(eth: str) -> int:
    try:
        amount = Decimal(eth)
    except InvalidOperation:
        raise click.BadParameter(f"{eth!r} is not a number", param_hint="--eth") from None
    if not amount.is_finite() or amount < 0:
        raise click.BadParameter(f"{eth!r} is not an amount of ETH", param_hint="--eth")
    return int(amount * WEI_PER_ETH)


@click.command("fund")
@click.argument("address")
@click.option("--eth", default="10", show_default=True, help="ETH to send (for gas).")
@click.option(
    "--frost",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="WAL to send, in FROST (10^9 = 1 WAL; e.g. the --stake of `walrus node register`).",
)
@connection_options
def fund(connection: Connection, as_json: bool, address: str, eth: str, frost: int) -> None:
    """Send ETH and WAL to ADDRESS from the CLI's wallet (devnet: dev account 0)."""
    wei = _wei(eth)
    with user_errors():
        if not is_address(address):
            raise InvalidAddress(address)
        client = connection.client()
        chain = client.chain
        if frost:
            balance = client.wal_balance(chain.address)
            if balance < frost:
                raise InsufficientWal(frost, balance, "the transfer")
        if wei:
            chain.send_value(address, wei)
        if frost:
            chain.transact(client.wal.functions.transfer(address, frost))
        eth_now, frost_now = chain.balance(address), client.wal_balance(address)
    if as_json:
        emit_json(
            {
                "address": address,
                "sent_wei": wei,
                "sent_frost": frost,
                "eth_wei": eth_now,
                "wal_frost": frost_now,
            }
        )
        return
    click.echo(
        f"Sent {Decimal(wei) / WEI_PER_ETH} ETH and {wal_text(frost)} to {address}; it now "
        f"holds {Decimal(eth_now) / WEI_PER_ETH} ETH and {wal_text(frost_now)}."
    )
