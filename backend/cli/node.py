"""`walrus node init|register|run|vote`: set up, register, run a storage node and vote
prices (`vote` lives in backend/cli/staking.py)."""

from __future__ import annotations

from pathlib import Path

import click
from eth_account import Account

from backend.chain.client import ChainClient
from backend.chain.compiler import compile_contracts
from backend.chain.deployment import load_deployment
from backend.chain.errors import ChainError
from backend.chain.staking import StakingContract
from backend.cli.staking import vote
from backend.core.bls import BlsSecretKey
from backend.core.errors import CoreError
from nodes.config import NodeConfig, NodeConfigError, read_secret, write_secret

CONFIG_NAME = "config.json"


@click.group()
def node() -> None:
    """Operate a storage node."""


@node.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), required=True)
@click.option("--rpc-url", default="http://127.0.0.1:8545", show_default=True)
@click.option("--port", type=int, default=9100, show_default=True)
@click.option("--operator-key", envvar="WALRUS_OPERATOR_KEY", help="hex key; new one if absent")
@click.option("--staking", help="Staking address (default: the saved deployment)")
@click.option("--registry", help="BlobRegistry address (default: the saved deployment)")
@click.option(
    "--challenges",
    help="StorageChallenges address the node answers (default: the saved deployment's, if any)",
)
def init(
    directory: Path,
    rpc_url: str,
    port: int,
    operator_key: str | None,
    staking: str | None,
    registry: str | None,
    challenges: str | None,
) -> None:
    """Create DIR with config.json, a BLS key and an operator key (files mode 0600)."""
    config_path = directory / CONFIG_NAME
    if config_path.exists():
        raise click.ClickException(f"{config_path} exists; refusing to overwrite its keys")
    start_block = 0
    if staking is None or registry is None:
        try:
            client = ChainClient.connect(rpc_url)
            deployment = load_deployment(client.chain_id)
            staking = staking or deployment.address("Staking")
            registry = registry or deployment.address("BlobRegistry")
            if challenges is None:
                challenges = deployment.contracts.get("StorageChallenges")
            start_block = deployment.deploy_block
        except ChainError as error:
            raise click.ClickException(str(error)) from None
    key = operator_key or Account.create().key.hex()
    write_secret(directory / "operator.key", key.encode())
    write_secret(directory / "bls.key", BlsSecretKey.generate().to_bytes())
    NodeConfig(
        node_id=0,
        rpc_url=rpc_url,
        staking=staking,
        registry=registry,
        challenges=challenges or "",
        data_dir=str(directory / "data"),
        bls_key_file=str(directory / "bls.key"),
        operator_key_file=str(directory / "operator.key"),
        port=port,
        start_block=start_block,
    ).save(config_path)
    address = Account.from_key(key).address
    click.echo(f"node config written to {config_path}; operator {address} (fund it, then register)")


@node.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True)
@click.option("--name", required=True)
@click.option("--url", "http_url", help="public URL (default: http://127.0.0.1:<port>)")
@click.option("--stake", "stake_frost", type=int, required=True, help="stake in FROST")
def register(config_path: Path, name: str, http_url: str | None, stake_frost: int) -> None:
    """Register the node in Staking with a proof of possession, and stake."""
    try:
        config = NodeConfig.load(config_path)
        bls_key = BlsSecretKey.from_bytes(read_secret(Path(config.bls_key_file), "BLS key file"))
        operator_key = read_secret(Path(config.operator_key_file), "operator key file")
        artifacts = compile_contracts()
        client = ChainClient.connect(
            config.rpc_url, operator_key.decode().strip(), error_abis=artifacts.all_abis()
        )
        staking = StakingContract.at(client, config.staking, artifacts.abi("Staking"))
        if config.node_id:
            raise click.ClickException(f"already registered as node {config.node_id}")
        node_id = staking.register_node(
            name, http_url or f"http://{config.host}:{config.port}", bls_key
        )
        wal = client.contract(client.call(staking.contract.functions.wal()), artifacts.abi("WAL"))
        client.transact(wal.functions.approve(staking.address, stake_frost))
        staking.stake(node_id, stake_frost)
    except (NodeConfigError, ChainError, CoreError) as error:
        raise click.ClickException(str(error)) from None
    fields = {**vars(config), "node_id": node_id}
    NodeConfig(**fields).save(config_path)
    click.echo(f"registered node {node_id}, staked {stake_frost} FROST")


@node.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True)
def run(config_path: Path) -> None:
    """Run the node (same as `python -m nodes run --config FILE`)."""
    from nodes.service import run as run_node

    raise SystemExit(run_node(config_path))


node.add_command(vote)
