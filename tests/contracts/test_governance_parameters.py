"""The governed-parameter table: `--set name=value` becomes setter calls that change only
the named parameters when the proposal executes."""

from __future__ import annotations

import pytest

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.governance import Governance, GovernanceError, enact_on_devnet
from backend.chain.governed_parameters import (
    GOVERNED,
    ParameterUnavailable,
    UnknownParameter,
    calls_for,
    current_values,
    parse_assignments,
)

pytestmark = pytest.mark.usefixtures("snapshot")


def test_one_committee_parameter_changes_alone(
    chain: ChainClient, deployment: Deployment, artifacts: Artifacts
) -> None:
    before = current_values(chain, deployment, artifacts)
    assert before["max_committee_size"] != 3
    changes = parse_assignments(["max_committee_size=3", "max-epochs-ahead=1_000"])
    calls = calls_for(chain, deployment, artifacts, changes)
    assert len(calls) == 2
    enact_on_devnet(Governance.of(chain, deployment, artifacts), calls, "committee of 3")
    after = current_values(chain, deployment, artifacts)
    assert after == {**before, "max_committee_size": 3, "max_epochs_ahead": 1_000}


def test_burn_share_and_subsidy_rate_are_governed(
    chain: ChainClient, deployment: Deployment, artifacts: Artifacts
) -> None:
    before = current_values(chain, deployment, artifacts)
    assert before["burn_share_bps"] is not None and before["burn_share_bps"] != 2_500
    changes = parse_assignments(["burn_share_bps=2500", "subsidy_rate=7"])
    calls = calls_for(chain, deployment, artifacts, changes)
    assert {call.target for call in calls} == {deployment.address("StakingRewards")}
    enact_on_devnet(Governance.of(chain, deployment, artifacts), calls, "burn a quarter")
    after = current_values(chain, deployment, artifacts)
    assert after == {**before, "burn_share_bps": 2_500, "subsidy_rate": 7}


def test_two_parameters_of_one_setter_make_one_call(
    chain: ChainClient, deployment: Deployment, artifacts: Artifacts
) -> None:
    changes = parse_assignments(["min_stake=9", "max_shard_share_bps=5000"])
    [call] = calls_for(chain, deployment, artifacts, changes)
    assert call.target == deployment.address("Staking")


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("n_shards=16", UnknownParameter, "fixed at deployment"),
        ("replicas=3", UnknownParameter, "unknown parameter 'replicas'"),
        ("epoch_duration", GovernanceError, "<parameter>=<value>"),
        ("epoch_duration=ten", GovernanceError, "whole number"),
        ("epoch_duration=-5", GovernanceError, "must not be negative"),
    ],
)
def test_bad_assignments_are_named(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_assignments([text])


def test_values_must_fit_the_setter_type(
    chain: ChainClient, deployment: Deployment, artifacts: Artifacts
) -> None:
    with pytest.raises(GovernanceError, match="uint16"):
        calls_for(chain, deployment, artifacts, {"max_committee_size": 70_000})


def test_a_parameter_of_a_contract_not_deployed_is_unavailable(
    chain: ChainClient, deployment: Deployment, artifacts: Artifacts
) -> None:
    without = Deployment(
        deployment.chain_id,
        deployment.deploy_block,
        deployment.abi_hash,
        {name: address for name, address in deployment.contracts.items() if name != "Staking"},
    )
    with pytest.raises(ParameterUnavailable, match="no Staking contract"):
        calls_for(chain, without, artifacts, {"epoch_duration": 5})
    assert current_values(chain, without, artifacts)["epoch_duration"] is None
    assert set(current_values(chain, deployment, artifacts)) == set(GOVERNED)
