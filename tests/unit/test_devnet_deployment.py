"""deployments/<chain-id>.json: written by deploy, loaded back, stale or missing is an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.chain.compiler import Artifacts
from backend.chain.deployment import (
    STEPS,
    Deployment,
    WalAllocations,
    load_deployment,
    save_deployment,
)
from backend.chain.errors import DeploymentError


def test_deployment_round_trips_and_matches_the_sources(
    tmp_path: Path, deployment: Deployment, artifacts: Artifacts
) -> None:
    assert list(deployment.contracts) == [name for name, _ in STEPS]
    assert deployment.abi_hash == artifacts.abi_hash
    path = save_deployment(deployment, tmp_path)
    assert path == tmp_path / "31337.json"
    assert load_deployment(31337, artifacts, tmp_path) == deployment


def test_stale_abi_hash_is_a_clear_error(
    tmp_path: Path, deployment: Deployment, artifacts: Artifacts
) -> None:
    record = deployment.to_json() | {"abi_hash": "0" * 64}
    (tmp_path / "31337.json").write_text(json.dumps(record))
    with pytest.raises(DeploymentError, match="deployed from different contract sources"):
        load_deployment(31337, artifacts, tmp_path)
    assert load_deployment(31337, None, tmp_path).contracts == deployment.contracts


def test_missing_and_malformed_deployments_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match=r"no deployment for chain 5 .* run `walrus devnet"):
        load_deployment(5, None, tmp_path)
    (tmp_path / "5.json").write_text("{")
    with pytest.raises(DeploymentError, match="not valid JSON"):
        load_deployment(5, None, tmp_path)
    (tmp_path / "5.json").write_text(json.dumps({"chain_id": 5, "contracts": {}}))
    with pytest.raises(DeploymentError, match="malformed"):
        load_deployment(5, None, tmp_path)


def test_unknown_contract_in_a_deployment_names_what_is_there(deployment: Deployment) -> None:
    with pytest.raises(DeploymentError, match=r"contract Nope is not in the deployment .*WAL"):
        deployment.address("Nope")


def test_allocations_parse_five_addresses_or_explain() -> None:
    addresses = ",".join("0x" + f"{i:02x}" * 20 for i in range(1, 6))
    assert WalAllocations.parse(addresses).investors == "0x" + "05" * 20
    with pytest.raises(DeploymentError, match="five comma-separated addresses"):
        WalAllocations.parse("0x01,0x02")
