"""The deployment file's "seal" section: the key servers a deployment trusts by default."""

from __future__ import annotations

from typing import Any

import pytest

from backend.chain.deployment import Deployment
from backend.chain.errors import DeploymentError
from backend.chain.seal_trust import SealTrust

ADDRESS = "0x" + "11" * 20


def _raw(**extra: Any) -> dict[str, Any]:
    return {
        "chain_id": 31337,
        "deploy_block": 1,
        "abi_hash": "ab",
        "contracts": {"BlobRegistry": ADDRESS},
        **extra,
    }


def test_the_trust_list_round_trips_and_is_absent_by_default() -> None:
    assert Deployment.from_json(_raw()).seal is None
    assert "seal" not in Deployment.from_json(_raw()).to_json()
    trusted = Deployment.from_json(_raw(seal={"key_server_ids": [3, 1], "threshold": 2}))
    assert trusted.seal == SealTrust((3, 1), 2)
    assert Deployment.from_json(trusted.to_json()) == trusted


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ({"key_server_ids": [], "threshold": 1}, "at least one key server id"),
        ({"key_server_ids": [1, 1], "threshold": 1}, "must be distinct"),
        ({"key_server_ids": [0, 2], "threshold": 1}, "registry ids >= 1"),
        ({"key_server_ids": ["1"], "threshold": 1}, "registry ids >= 1"),
        ({"key_server_ids": [1, 2], "threshold": 3}, "threshold 3 must be between 1 and the 2"),
        ({"key_server_ids": [1, 2]}, '"seal" must be {"key_server_ids"'),
        ({"key_server_ids": "1,2", "threshold": 1}, '"seal" must be {"key_server_ids"'),
    ],
)
def test_a_malformed_trust_list_is_refused_by_name(section: Any, problem: str) -> None:
    with pytest.raises(DeploymentError) as refused:
        Deployment.from_json(_raw(seal=section), "deployments/31337.json")
    assert str(refused.value).startswith("deployments/31337.json: ")
    assert problem in str(refused.value)
