"""The `walrus` command: every user and operator action.

Subcommands live in their own modules and register on :data:`cli`. Errors meant
for the user are raised as :class:`click.ClickException` (one line, exit 1);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re
from typing import Any

import click

from backend.cli.availability import availability
from backend.cli.blobs import blob_id, blob_status, read, store
from backend.cli.devnet import devnet
from backend.cli.gov import gov
from backend.cli.keeper import keeper
from backend.cli.keyserver import keyserver
from backend.cli.network_info import health, info
from backend.cli.node import node
from backend.cli.ownership import (
    delete,
    extend,
    get_blob_attribute,
    list_blobs,
    remove_blob_attribute,
    set_blob_attribute,
    share,
)
from backend.cli.policy import policy
from backend.cli.quilt import list_patches_in_quilt, read_quilt, store_quilt
from backend.cli.serve import serve
from backend.cli.shared import extend_shared_blob, fund_shared_blob, share_blob
from backend.cli.staking import request_withdraw_stake, rewards, stake, withdraw_stake
from backend.cli.stragglers import exit_leaving_stragglers
from backend.cli.verify import verify

_BLOB_ID_LIKE = re.compile(r"-[A-Za-z0-9_-]{42}")
"""A 43-character URL-safe base64 blob id that happens to start with '-'."""


class WalrusGroup(click.Group):
    """Says how to pass a blob id that starts with '-' instead of "No such option"."""

    def invoke(self, ctx: click.Context) -> Any:
        tokens = [*getattr(ctx, "_protected_args", []), *ctx.args]
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as error:
            blob_ids = [token for token in tokens if _BLOB_ID_LIKE.fullmatch(token)]
            if blob_ids:
                raise click.UsageError(
                    f"{blob_ids[0]} looks like a blob id; put ids that start with '-' last, "
                    f"after the options and --, e.g. `walrus {tokens[0]} [OPTIONS] -- "
                    f"{blob_ids[0]}`",
                    error.ctx,
                ) from None
            raise


@click.group(cls=WalrusGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="walrus-evm", prog_name="walrus")
def cli() -> None:
    """walrus-evm: decentralized blob storage with an EVM control plane."""


cli.add_command(devnet)
for _command in (
    store,
    read,
    blob_id,
    blob_status,
    list_blobs,
    delete,
    extend,
    share,
    get_blob_attribute,
    set_blob_attribute,
    remove_blob_attribute,
    info,
    health,
    serve,
    verify,
    availability,
):
    cli.add_command(_command)
cli.add_command(node)
cli.add_command(gov)
cli.add_command(keyserver)
cli.add_command(keeper)
cli.add_command(policy)
for _command in (share_blob, fund_shared_blob, extend_shared_blob):
    cli.add_command(_command)
for _command in (store_quilt, read_quilt, list_patches_in_quilt):
    cli.add_command(_command)
for _command in (stake, request_withdraw_stake, withdraw_stake, rewards):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point (ends at once when a store left slow uploads running:
    backend/cli/stragglers.py)."""
    try:
        cli(prog_name="walrus")
    except SystemExit as done:
        exit_leaving_stragglers(
            0 if done.code is None else done.code if isinstance(done.code, int) else 1
        )
        raise


if __name__ == "__main__":
    main()
