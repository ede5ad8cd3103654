"""Bad input (issue 13, part 3): schemathesis generates requests for every operation of the
backend's OpenAPI document (``GET /v1/api``) and of a storage node's routes
(tests/reliability/node_openapi.py), valid-shaped and malformed. No answer may be a 5xx, no
process may die, and blobs stored before the fuzzing must be served unchanged afterwards by
every node (the sha256 of each node's metadata and slivers, fetched over HTTP: the LMDB files
themselves change with every chain event the node follows, so their bytes cannot be compared).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from backend.core import routes
from backend.core.blob_id import BlobId
from backend.core.sliver_kind import SliverKind
from backend.sdk.client import Client
from tests.integration.network import Network, NodeProcess
from tests.reliability.backend_process import BackendProcess
from tests.reliability.node_openapi import NODE_OPERATIONS, node_openapi, node_route_templates
from tests.reliability.scenarios import ScenarioLog

CATEGORY = "Bad input (HTTP fuzzing)"
EXAMPLES_PER_OPERATION = int(os.environ.get("WALRUS_FUZZ_EXAMPLES", "40"))
EXAMPLES_STORING = 8
"""PUT /v1/blobs and /v1/quilts really pay and store: fewer examples there."""


@dataclass
class FuzzOutcome:
    requests_sent: int = 0
    server_errors: list[str] = field(default_factory=list)


def fuzz(schema_dict: dict[str, object], base_url: str, outcome: FuzzOutcome) -> None:
    schema = schemathesis.openapi.from_dict(schema_dict)
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        storing = operation.method.upper() == "PUT" and operation.path in (
            "/v1/blobs",
            "/v1/quilts",
        )
        examples = EXAMPLES_STORING if storing else EXAMPLES_PER_OPERATION
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            )
            @given(case=strategy)
            def send(case: schemathesis.Case[Any]) -> None:
                outcome.requests_sent += 1
                try:
                    response = case.call(base_url=base_url, timeout=60)
                except requests.RequestException as error:
                    outcome.server_errors.append(f"{_reproduction(case)} -> {error!r}")
                    return
                if response.status_code >= 500:
                    outcome.server_errors.append(
                        f"{_reproduction(case)} -> {response.status_code} {response.text[:200]}"
                    )

            # Unsatisfiable: no way to break this request (negative mode, no parameters)
            with contextlib.suppress(hypothesis.errors.Unsatisfiable):
                send()


def _reproduction(case: schemathesis.Case[Any]) -> str:
    body = "" if case.body is None or not isinstance(case.body, bytes | str) else case.body
    return (
        f"{case.method} {case.formatted_path} query={case.query!r} "
        f"headers={case.headers!r} body={body[:80]!r}"
    )


def stored_content_digest(network: Network, blob_ids: list[BlobId]) -> dict[str, str]:
    """sha256 of each node's metadata and slivers of `blob_ids`, as it serves them."""
    digests = {}
    for node in network.nodes:
        digest = hashlib.sha256()
        for blob_id in blob_ids:
            metadata = requests.get(node.url + routes.metadata_path(blob_id), timeout=10)
            digest.update(metadata.content)
            for pair in range(network.n_shards):
                for kind in (SliverKind.PRIMARY, SliverKind.SECONDARY):
                    answer = requests.get(node.url + routes.sliver_path(blob_id, pair, kind))
                    digest.update(answer.status_code.to_bytes(2, "big") + answer.content)
        digests[node.url] = digest.hexdigest()
    return digests


@pytest.fixture(scope="module")
def stored_before(client: Client) -> dict[BlobId, bytes]:
    blobs = [os.urandom(size) for size in (1, 5000, 70_000)]
    return {client.store(data, epochs=3).blob_id: data for data in blobs}


def test_node_schema_covers_every_node_route() -> None:
    assert node_route_templates() == set(NODE_OPERATIONS)


FuzzWithoutHarm = Callable[[dict[str, object], str, NodeProcess | BackendProcess, str], None]


@pytest.fixture
def fuzz_without_harm(
    network: Network,
    client: Client,
    stored_before: dict[BlobId, bytes],
    scenarios: ScenarioLog,
) -> FuzzWithoutHarm:
    """``check(document, base_url, target, scenario_name)``: fuzz every operation of
    `document` at `base_url`, counted as scenario `scenario_name`; no 5xx, the `target`
    process still alive, every node serving the blobs stored before unchanged."""

    def check(
        document: dict[str, object],
        base_url: str,
        target: NodeProcess | BackendProcess,
        scenario_name: str,
    ) -> None:
        blob_ids = list(stored_before)
        before = stored_content_digest(network, blob_ids)
        outcome = FuzzOutcome()
        fuzz(document, base_url, outcome)
        scenario = scenarios.scenario(CATEGORY, scenario_name)
        scenario.runs += outcome.requests_sent
        scenario.failures += len(outcome.server_errors)
        assert target.process is not None and target.process.poll() is None, f"{base_url} died"
        after = stored_content_digest(network, blob_ids)
        changed = [url for url in before if before[url] != after[url]]
        scenario.data_lost += len(changed)
        scenario.note = "; ".join(outcome.server_errors[:3])
        assert not outcome.server_errors, outcome.server_errors[:10]
        assert not changed
        assert all(client.read(blob_id) == data for blob_id, data in stored_before.items())

    return check


def test_fuzz_storage_node_routes(network: Network, fuzz_without_harm: FuzzWithoutHarm) -> None:
    target = network.nodes[0]
    fuzz_without_harm(node_openapi(), target.url, target, "schemathesis: every storage node route")


def test_fuzz_backend_openapi(backend: BackendProcess, fuzz_without_harm: FuzzWithoutHarm) -> None:
    backend.ensure_running()
    document = requests.get(backend.url + "/v1/api", timeout=30).json()
    fuzz_without_harm(
        document, backend.url, backend, "schemathesis: every backend operation (/v1/api)"
    )
