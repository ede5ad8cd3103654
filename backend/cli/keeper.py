"""`walrus keeper run`: the standalone epoch keeper for multi-host deployments.

Starts the next epoch when the current one is over (the duration is read from Staking on
every tick, so governance changes apply) and runs the storage-challenge rounds. One line per
action; SIGTERM or Ctrl-C stops it between transactions. ``--once`` does what is due now and
exits (cron, tests). Permissionless: any funded account, any number of keepers.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from types import FrameType

import click

from backend.cli.client_options import client_options, user_errors
from backend.sdk.config import ClientSettings
from backend.sdk.epoch_keeper import EpochKeeper


@click.group("keeper")
def keeper() -> None:
    """Epoch keeper: start epochs and run storage-challenge rounds on time."""


@keeper.command("run")
@click.option("--once", is_flag=True, help="Do what is due now, then exit (for cron).")
@client_options
def run(
    once: bool,
    rpc_url: str | None,
    private_key_file: Path | None,
    deployment_file: Path | None,
    node_timeout: float,
    as_json: bool,
) -> None:
    """Keep epochs and challenge rounds moving; any funded account may (docs/deploy.md)."""

    def report(line: str) -> None:
        if as_json:
            click.echo(json.dumps({"time": int(time.time()), "message": line}))
        else:
            click.echo(line)

    settings = ClientSettings(rpc_url, private_key_file, deployment_file, node_timeout)
    with user_errors():
        epoch_keeper = EpochKeeper.connect(settings, report)
        if once:
            if not epoch_keeper.tick():
                info = epoch_keeper.staking.epoch_info()
                left = max(0, info.end_time - epoch_keeper.chain_now())
                report(f"epoch {info.epoch}: nothing due (next epoch in {left} s)")
            return

    def stop(signum: int, _frame: FrameType | None) -> None:
        epoch_keeper.stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    info = epoch_keeper.staking.epoch_info()
    report(
        f"keeper started as {epoch_keeper.staking.client.address}: epoch {info.epoch}, "
        f"{info.duration} s epochs"
    )
    epoch_keeper.run()
    report("keeper stopped")
