"""`walrus info` before the first committee: epoch 0 answers, with an empty committee."""

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.sdk import Client


def test_info_in_genesis_epoch_has_no_committee_and_does_not_fail(
    chain: ChainClient, artifacts: Artifacts, deployment: Deployment
) -> None:
    client = Client.connect(
        chain, artifacts, deployment.address("Staking"), deployment.address("BlobRegistry")
    )
    assert client.staking.current_epoch() == 0
    facts = client.info()
    assert facts["epoch"] == 0
    assert facts["committee"] == []
    assert facts["n_shards"] >= 4
