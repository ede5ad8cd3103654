"""A CLI user who runs a command without a chain (or without contracts on it): the message
says how to get one when the URL was the devnet default, and stays the plain error for a
URL they gave; a deployment file of another chain run is named as such."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

import backend.sdk.config as config
from backend.chain.deployment import Deployment
from backend.chain.devnet import Devnet, free_port
from backend.chain.errors import ChainUnreachable, DeploymentError
from backend.sdk.config import RPC_URL_ENV, ClientSettings, load_client


def test_the_devnet_default_unreachable_says_make_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RPC_URL_ENV, raising=False)
    monkeypatch.setattr(config, "read_state", lambda: None)  # no devnet recorded
    monkeypatch.setattr(config, "DEFAULT_PORT", free_port())  # nothing listens there
    with pytest.raises(ChainUnreachable) as unreachable:
        load_client(ClientSettings())
    message = str(unreachable.value)
    assert "is the devnet running? Start it with `make up`" in message
    assert "\n" not in message


def test_a_given_url_unreachable_has_no_devnet_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnreachable) as unreachable:
        load_client(ClientSettings(rpc_url=url))
    assert url in str(unreachable.value) and "make up" not in str(unreachable.value)


def test_a_deployment_of_another_chain_run_says_deploy(anvil: Devnet, tmp_path: Path) -> None:
    """`walrus devnet up` on a fresh anvil, then a command with the old deployment file:
    was a web3 BadFunctionCallOutput traceback."""
    nowhere = Web3.to_checksum_address("0x" + "ab" * 20)
    stale = Deployment(
        chain_id=31337,
        deploy_block=0,
        abi_hash="0" * 64,
        contracts={"WAL": nowhere, "Staking": nowhere, "BlobRegistry": nowhere},
    )
    file = tmp_path / "31337.json"
    file.write_text(json.dumps(stale.to_json()))
    with pytest.raises(DeploymentError) as stale_file:
        load_client(ClientSettings(rpc_url=anvil.url, deployment_file=file))
    message = str(stale_file.value)
    assert "no contract at the BlobRegistry address" in message and str(file) in message
    assert "walrus devnet deploy" in message
