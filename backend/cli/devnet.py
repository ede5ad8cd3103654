"""`walrus devnet up|down|status|deploy|fund`: the local anvil devnet, contract deployment, and
ETH/WAL for new accounts (`fund`, backend/cli/devnet_fund.py).

``up`` starts anvil in the background and records it in a state file (default
.devnet/state.json); ``down`` stops exactly that process by its pid. ``deploy`` works
against any EVM chain given ``--rpc-url`` and ``--private-key``; on the devnet both
default to the recorded anvil and its first dev account.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from backend.chain.client import ChainClient
from backend.chain.compiler import compile_contracts
from backend.chain.deployment import (
    DEPLOYMENTS_DIR,
    DeployConfig,
    Deployment,
    WalAllocations,
    deploy,
    devnet_config,
    load_deployment,
    save_deployment,
)
from backend.chain.devnet import (
    DEFAULT_PORT,
    DEFAULT_STATE_FILE,
    DEV_CHAIN_ID,
    attached,
    clear_state,
    dev_accounts,
    pid_alive,
    read_state,
    require_chain,
    rpc_chain_id,
    start_anvil,
    write_state,
)
from backend.chain.errors import ChainError
from backend.cli.devnet_fund import fund

STATE_FILE_OPTION = click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STATE_FILE,
    show_default=True,
    help="Where the running devnet is recorded.",
)


@click.group("devnet")
def devnet() -> None:
    """Run a local anvil devnet, deploy the contracts, fund new accounts."""


@devnet.command("up")
@click.option(
    "--port", type=int, default=DEFAULT_PORT, show_default=True, help="Port on 127.0.0.1."
)
@click.option(
    "--chain-state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Keep the chain in this file across restarts (anvil --state).",
)
@click.option("--block-time", type=float, default=None, help="Interval mining, in seconds.")
@STATE_FILE_OPTION
def up(port: int, chain_state: Path | None, block_time: float | None, state_file: Path) -> None:
    """Start anvil in the background (prague, chain id 31337)."""
    try:
        running = read_state(state_file)
        if running is not None and pid_alive(running.pid) and rpc_chain_id(running.url):
            raise click.ClickException(
                f"a devnet is already running at {running.url} (pid {running.pid}); "
                "`walrus devnet down` stops it"
            )
        node = start_anvil(
            port,
            state_path=chain_state,
            block_time=block_time,
            log_path=state_file.parent / f"anvil-{port}.log",
        )
    except ChainError as error:
        raise click.ClickException(str(error)) from None
    write_state(node.info, state_file)
    click.echo(f"devnet up at {node.url} (pid {node.pid}, chain id {node.info.chain_id})")


@devnet.command("down")
@STATE_FILE_OPTION
def down(state_file: Path) -> None:
    """Stop the recorded devnet by its pid."""
    try:
        info = read_state(state_file)
    except ChainError as error:
        raise click.ClickException(str(error)) from None
    if info is None:
        raise click.ClickException(f"no devnet is recorded in {state_file}; nothing to stop")
    if pid_alive(info.pid):
        attached(info).stop()
        click.echo(f"devnet at {info.url} stopped (pid {info.pid})")
    else:
        click.echo(f"devnet at {info.url} was not running any more (pid {info.pid})")
    clear_state(state_file)


@devnet.command("status")
@STATE_FILE_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(state_file: Path, as_json: bool) -> None:
    """Whether the devnet runs, where, and what is deployed on it."""
    try:
        info = read_state(state_file)
    except ChainError as error:
        raise click.ClickException(str(error)) from None
    if info is None:
        raise click.ClickException(f"no devnet is running (no {state_file})")
    chain_id = rpc_chain_id(info.url) if pid_alive(info.pid) else None
    if chain_id is None:
        raise click.ClickException(
            f"the devnet recorded in {state_file} (pid {info.pid}, {info.url}) is not running; "
            "`walrus devnet up` starts a new one"
        )
    report: dict[str, object] = {"url": info.url, "pid": info.pid, "chain_id": chain_id}
    try:
        report["block"] = ChainClient(info.url).block_number()
        report["deployment"] = load_deployment(chain_id).to_json()
    except ChainError as error:
        report["deployment"] = None
        report["deployment_problem"] = str(error)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"devnet running at {info.url} (pid {info.pid}, chain id {chain_id})")
    click.echo(f"block {report.get('block')}")
    deployment = report["deployment"]
    if isinstance(deployment, dict):
        for name, address in deployment["contracts"].items():
            click.echo(f"  {name:<16} {address}")
    else:
        click.echo(f"no deployment: {report['deployment_problem']}")


@devnet.command("deploy")
@click.option("--rpc-url", default=None, help="JSON-RPC URL (default: the running devnet).")
@click.option(
    "--private-key",
    envvar="WALRUS_PRIVATE_KEY",
    default=None,
    help="Deployer key (env WALRUS_PRIVATE_KEY; default on a devnet: dev account 0).",
)
@click.option(
    "--allocations",
    default=None,
    help="Five WAL allocation addresses: reserve,user-drop,subsidies,contributors,investors "
    "(default on a devnet: dev accounts 0-4, and dev accounts get WAL from the user drop).",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEPLOYMENTS_DIR,
    show_default=True,
)
@STATE_FILE_OPTION
def deploy_command(
    rpc_url: str | None,
    private_key: str | None,
    allocations: str | None,
    out_dir: Path,
    state_file: Path,
) -> None:
    """Compile (cached) and deploy every contract; write <out-dir>/<chain-id>.json."""
    try:
        deployment = run_deploy(rpc_url, private_key, allocations, out_dir, state_file)
    except ChainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"deployed to chain {deployment.chain_id} from block {deployment.deploy_block}:")
    for name, address in deployment.contracts.items():
        click.echo(f"  {name:<16} {address}")
    click.echo(f"wrote {os.path.relpath(out_dir / f'{deployment.chain_id}.json')}")


def run_deploy(
    rpc_url: str | None,
    private_key: str | None,
    allocations: str | None,
    out_dir: Path = DEPLOYMENTS_DIR,
    state_file: Path = DEFAULT_STATE_FILE,
) -> Deployment:
    """Resolve defaults (devnet URL, dev keys), deploy, save; raises ChainError subclasses."""
    if rpc_url is None:
        info = read_state(state_file)
        if info is None:
            raise click.ClickException(
                "no --rpc-url given and no devnet is running; start one with `walrus devnet up`"
            )
        rpc_url = info.url
    chain_id = require_chain(rpc_url)
    devnet_keys = dev_accounts()
    if private_key is None:
        if chain_id != DEV_CHAIN_ID:
            raise click.ClickException(
                f"chain {chain_id} is not the devnet: pass --private-key (or WALRUS_PRIVATE_KEY)"
            )
        private_key = devnet_keys[0].key.hex()
    if allocations is not None:
        config = DeployConfig(allocations=WalAllocations.parse(allocations))
    elif chain_id == DEV_CHAIN_ID:
        config = devnet_config(devnet_keys)
    else:
        raise click.ClickException(f"chain {chain_id} is not the devnet: pass --allocations")
    artifacts = compile_contracts()
    client = ChainClient.connect(rpc_url, private_key, error_abis=artifacts.all_abis())
    deployment = deploy(client, artifacts, config)
    save_deployment(deployment, out_dir)
    return deployment


devnet.add_command(fund)
