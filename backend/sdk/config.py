"""Where a `Client` comes from: chain URL, wallet and deployment, from flags, environment
variables or the devnet's defaults.

- chain: ``rpc_url`` / ``WALRUS_RPC_URL``, else the running devnet (.devnet/state.json),
  else http://127.0.0.1:8545.
- wallet: a file holding a hex private key / ``WALRUS_PRIVATE_KEY``; on the devnet (chain id
  31337) the first anvil account when neither is given. Reading needs no wallet.
- contracts: a deployment JSON file / ``WALRUS_DEPLOYMENT``, else deployments/<chain id>.json.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts, compile_contracts
from backend.chain.deployment import Deployment, load_deployment
from backend.chain.devnet import DEFAULT_PORT, DEV_CHAIN_ID, dev_accounts, read_state
from backend.chain.errors import ChainError, ChainUnreachable, DeploymentError
from backend.sdk.client import Client
from backend.sdk.errors import SdkError

RPC_URL_ENV = "WALRUS_RPC_URL"
PRIVATE_KEY_ENV = "WALRUS_PRIVATE_KEY"
DEPLOYMENT_ENV = "WALRUS_DEPLOYMENT"


class ConfigError(SdkError):
    """A wallet, chain or deployment setting that cannot be used."""


@dataclass(frozen=True)
class ClientSettings:
    rpc_url: str | None = None
    private_key_file: Path | None = None
    deployment_file: Path | None = None
    node_timeout: float = 10.0


def resolve_rpc_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get(RPC_URL_ENV):
        return os.environ[RPC_URL_ENV]
    try:
        state = read_state()
    except ChainError:
        state = None
    return state.url if state is not None else f"http://127.0.0.1:{DEFAULT_PORT}"


def resolve_private_key(key_file: Path | None, chain_id: int) -> str | None:
    """The wallet's hex key, or None when there is none (reads still work)."""
    if key_file is not None:
        try:
            text = key_file.read_text().strip()
        except OSError as error:
            raise ConfigError(
                f"cannot read private key file {key_file}: {error.strerror}"
            ) from None
        return _checked_key(text, str(key_file))
    if os.environ.get(PRIVATE_KEY_ENV):
        return _checked_key(os.environ[PRIVATE_KEY_ENV].strip(), PRIVATE_KEY_ENV)
    if chain_id == DEV_CHAIN_ID:
        return bytes(dev_accounts(1)[0].key).hex()
    return None


def _checked_key(text: str, source: str) -> str:
    digits = text.removeprefix("0x")
    if len(digits) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ConfigError(f"{source} does not hold a 32-byte hex private key")
    return digits


def named_deployment_file(path: Path | None) -> Path | None:
    """The deployment file a command was given: `path` (its --deployment), else
    $WALRUS_DEPLOYMENT; None: deployments/<chain id>.json."""
    return path or (Path(os.environ[DEPLOYMENT_ENV]) if os.environ.get(DEPLOYMENT_ENV) else None)


def resolve_deployment(path: Path | None, chain_id: int, artifacts: Artifacts) -> Deployment:
    file = named_deployment_file(path)
    if file is None:
        return load_deployment(chain_id, artifacts)
    try:
        raw: Any = json.loads(file.read_text())
    except OSError as error:
        raise ConfigError(f"cannot read deployment file {file}: {error.strerror}") from None
    except ValueError:
        raise ConfigError(f"deployment file {file} is not valid JSON") from None
    deployment = Deployment.from_json(raw, str(file))
    if deployment.chain_id != chain_id:
        raise DeploymentError(f"{file} is for chain {deployment.chain_id}, not {chain_id}")
    return deployment


def load_client(settings: ClientSettings) -> Client:
    """A connected client; ChainUnreachable, DeploymentError or ConfigError otherwise."""
    url = resolve_rpc_url(settings.rpc_url)
    artifacts = compile_contracts()
    try:
        probe = ChainClient.connect(url, error_abis=artifacts.all_abis())
    except ChainUnreachable as error:
        if settings.rpc_url or os.environ.get(RPC_URL_ENV):
            raise
        # the user gave no URL: the devnet default, which is only there while it runs
        raise ChainUnreachable(
            f"{error}; is the devnet running? Start it with `make up`, or point to a chain "
            f"with --rpc-url or {RPC_URL_ENV}"
        ) from None
    key = resolve_private_key(settings.private_key_file, probe.chain_id)
    chain = probe if key is None else probe.with_account(key)
    deployment = resolve_deployment(settings.deployment_file, probe.chain_id, artifacts)
    _check_deployed(probe, deployment, settings.deployment_file)
    return Client.connect(
        chain,
        artifacts,
        deployment.address("Staking"),
        deployment.address("BlobRegistry"),
        node_timeout=settings.node_timeout,
        events_from_block=deployment.deploy_block,
    )


def _check_deployed(probe: ChainClient, deployment: Deployment, file: Path | None) -> None:
    """A deployment file from another run of the devnet names addresses where this chain has
    no code (`walrus devnet up` without deploy, or anvil restarted): say so instead of the
    first contract call failing to decode an empty answer."""
    registry = deployment.address("BlobRegistry")
    if len(probe.w3.eth.get_code(registry)) > 0:
        return
    source = named_deployment_file(file) or f"deployments/{probe.chain_id}.json"
    raise DeploymentError(
        f"no contract at the BlobRegistry address {registry} of {source} on the chain at "
        f"{probe.rpc_url}: the deployment is from another chain (a fresh devnet?); deploy with "
        "`walrus devnet deploy`, or start everything with `make up`"
    )
