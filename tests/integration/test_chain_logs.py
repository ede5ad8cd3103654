"""Contract logs decoded by backend/chain/fast_logs.py equal what web3's ``process_log``
makes of them, for every event a real flow on anvil emits (BlobRegistry, Staking, the
governor's ProposalCreated); ``in_blocks`` is one plain ``eth_getLogs``; malformed logs are
refused as MalformedLog, and a node's event follower behind an endpoint that returns them
keeps running, stores nothing from them, and catches up once the logs are sound again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from web3 import Web3
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.errors import ChainError
from backend.chain.events import ContractEvents
from backend.chain.fast_logs import LogQueryFailed, MalformedLog, fetch_logs
from backend.chain.governance import Call, Governance
from backend.chain.registry import BlobRegistered
from backend.core.blob_id import BlobId
from nodes.chain_view import ChainView
from nodes.follower import EventFollower
from nodes.store import NodeStore
from tests.contracts.blob_registry_env import (
    RegistryEnv,
    funded_client_fixture,
    funded_clients_fixture,
    registry_env_fixture,
    restore_chain_fixture,
)
from tests.integration.web3_reference import requests_during, web3_events

STAKES = [4 * 10**9, 3 * 10**9, 2 * 10**9, 1 * 10**9]
REGISTRY_EVENTS_OF_THE_FLOW = {
    "BlobRegistered",
    "BlobCertified",
    "BlobExtended",
    "BlobDeleted",
    "BlobBurned",
    "BlobInvalidated",
    "BlobAttributeSet",
    "BlobAttributeRemoved",
    "EpochRewardsReleased",
    "MaxEpochsAheadUpdated",
    "Transfer",
}
STAKING_EVENTS_OF_THE_FLOW = {
    "NodeRegistered",
    "NodeMetadataUpdated",
    "CommissionUpdated",
    "VotesCast",
    "Staked",
    "WithdrawalRequested",
    "Withdrawn",
    "EpochChangeStarted",
    "CommitteeSelected",
    "EpochParametersSelected",
    "EpochSyncDoneReported",
    "EpochChangeDone",
    "EpochDurationUpdated",
    "CommitteeParametersUpdated",
}

restore_chain = restore_chain_fixture()
operators = funded_clients_fixture(b"logs-operator", len(STAKES))
env = registry_env_fixture(STAKES, n_shards=10)
alice = funded_client_fixture(b"logs-alice")
bob = funded_client_fixture(b"logs-bob")


@dataclasses.dataclass
class Flow:
    head: int
    register_block: int
    """The block of one registration (its BlobRegistered and the token mint)."""
    governance: Governance
    proposal_block: int


@pytest.fixture(scope="module")
def flow(
    env: RegistryEnv,
    alice: ChainClient,
    bob: ChainClient,
    chain: ChainClient,
    deployment: Deployment,
    artifacts: Artifacts,
) -> Flow:
    """Everything a user, the nodes and the owner do to a registry and its staking: each
    event the two contracts declare is emitted at least once (Approval and the like aside)."""
    staking = env.staking
    epoch = env.epoch()
    for index, node_id in enumerate(env.node_ids):
        if staking.as_account(env.operators[index]).epoch_sync_done(node_id, epoch):
            break
    as_alice = env.as_user(alice)
    kept = env.register(alice, 3_000, 5, salt=b"kept")
    register_block = chain.block_number()
    env.certify(kept)
    env.approve(alice, env.registry.extension_cost(kept.token_id, 2))
    as_alice.extend_blob(kept.token_id, 2)
    as_alice.set_attribute(kept.token_id, "content-type", "text/plain; charset=utf-8 \u00e9")
    as_alice.remove_attribute(kept.token_id, "content-type")
    as_alice.transfer(kept.token_id, bob.address)
    env.as_user(bob).delete_blob(kept.token_id)
    short = env.register(alice, 10, 1, deletable=False, salt=b"short")
    invalid = env.register(alice, 20, 2, salt=b"invalid")
    env.registry.invalidate_blob(invalid.blob_id, *env.invalidation(invalid.blob_id, [0, 1]))
    env.registry.set_max_epochs_ahead(9)

    last = len(env.node_ids) - 1
    as_last = staking.as_account(env.operators[last])
    node_id = env.node_ids[last]
    as_last.set_node_metadata(node_id, "renamed \u2603", "http://127.0.0.1:9999/x")
    as_last.set_commission(node_id, 250)
    as_last.cast_votes(node_id, storage_price=1_100, write_price=310, capacity=10**12)
    position = staking.positions_of(env.operators[last].address)[0]
    waiting = as_last.request_withdraw(position.position_id, position.amount // 4)
    first_epoch = env.epoch()
    while env.epoch() < max(waiting.withdraw_epoch or 0, short.end_epoch):
        env.next_epoch()
    as_last.withdraw(waiting.position_id)
    env.registry.release_epoch_rewards(first_epoch)
    as_alice.burn_blob(short.token_id)
    staking.set_epoch_duration(1_000)
    staking.set_committee_parameters(min_stake=1, max_committee_size=10, max_shard_share_bps=9_000)

    governance = Governance.of(chain, deployment, artifacts)
    calldata = env.registry.contract.encode_abi("setMaxEpochsAhead", [11])
    targets = [deployment.address("BlobRegistry"), deployment.address("Staking")]
    governance.propose(
        [Call(target, 0, bytes(Web3.to_bytes(hexstr=calldata))) for target in targets],
        "two calls, addresses and bytes in arrays",
    )
    proposal_block = chain.block_number()
    return Flow(chain.block_number(), register_block, governance, proposal_block)


def field_types(event: Any) -> list[type]:
    values = [getattr(event, field.name) for field in dataclasses.fields(event)]
    return [type(event), *(type(value) for value in values)]


def contracts_of(env: RegistryEnv, flow: Flow) -> list[tuple[ContractEvents[Any], Contract]]:
    return [
        (env.registry.events, env.registry.contract),
        (env.staking.events, env.staking.contract),
        (flow.governance.events, flow.governance.governor),
    ]


def test_every_event_of_the_flow_decodes_as_web3_decodes_it(
    env: RegistryEnv, flow: Flow, chain: ChainClient
) -> None:
    seen: set[str] = set()
    for events, contract in contracts_of(env, flow):
        first = 0 if contract is not flow.governance.governor else flow.proposal_block
        reference_logs = chain.w3.eth.get_logs(
            {"address": contract.address, "fromBlock": first, "toBlock": flow.head}
        )
        expected = web3_events(contract, events.table, reference_logs)
        fetched, sent = requests_during(chain.w3, partial(events.in_blocks, first, flow.head))
        assert sent == [("eth_getLogs", False)], "one request, no web3 formatting"
        assert fetched == expected
        assert [field_types(e) for e in fetched] == [field_types(e) for e in expected]
        from_receipts = events.decode_logs(reference_logs)  # web3-formatted logs decode too
        assert from_receipts == expected
        seen |= {name for name, (kind, _) in events.table.items() if kind in map(type, fetched)}
    assert REGISTRY_EVENTS_OF_THE_FLOW | STAKING_EVENTS_OF_THE_FLOW | {"ProposalCreated"} <= seen
    proposal = flow.governance.proposals(flow.proposal_block)[0]
    assert all(Web3.is_checksum_address(target) for target in proposal.targets)


def test_in_blocks_reads_exactly_the_range_asked_for(env: RegistryEnv, flow: Flow) -> None:
    block = flow.register_block
    registered = env.registry.events.in_blocks(block, block)
    assert [type(event).__name__ for event in registered] == ["BlobTransferred", "BlobRegistered"]
    assert env.registry.events.in_blocks(block + 1, block + 1)[0] != registered[-1]
    around = env.registry.events.in_blocks(block - 1, block + 1)
    assert registered[0] in around and registered[1] in around


def test_fetch_logs_filters_by_topic_as_web3_does(
    env: RegistryEnv, flow: Flow, alice: ChainClient, chain: ChainClient
) -> None:
    assert chain.direct is not None
    events = env.registry.contract.events
    registered, transfer = str(events.BlobRegistered.topic), str(events.Transfer.topic)
    alice_word, zero_word = "0x" + "00" * 12 + alice.address[2:].lower(), "0x" + "00" * 32
    filters: dict[str, list[str | None]] = {
        "registrations": [registered],
        "alice's registrations": [registered, None, None, alice_word],
        "token burns": [transfer, None, zero_word],
    }
    for what, topics in filters.items():
        reference = chain.w3.eth.get_logs(
            {
                "address": env.registry.address,
                "fromBlock": 0,
                "toBlock": flow.head,
                "topics": topics,
            }
        )
        raw = fetch_logs(chain.direct, env.registry.address, 0, flow.head, topics)
        assert raw, what
        assert [(log["transactionHash"], int(log["logIndex"], 16)) for log in raw] == [
            ("0x" + bytes(log["transactionHash"]).hex(), log["logIndex"]) for log in reference
        ], what
        assert env.registry.events.decode_logs(raw) == env.registry.events.decode_logs(reference)
    alices = env.registry.events.decode_logs(
        fetch_logs(
            chain.direct, env.registry.address, 0, flow.head, filters["alice's registrations"]
        )
    )
    assert alices and all(
        isinstance(e, BlobRegistered) and e.owner == alice.address for e in alices
    )


def raw_registration(env: RegistryEnv, flow: Flow) -> dict[str, Any]:
    logs = fetch_logs(
        env.chain.w3.provider,  # type: ignore[arg-type]
        env.registry.address,
        flow.register_block,
        flow.register_block,
    )
    (log,) = [log for log in logs if len(log["topics"]) == 4 and len(log["data"]) > 66 * 2]
    return log


def test_malformed_logs_are_refused_by_name(env: RegistryEnv, flow: Flow) -> None:
    log = raw_registration(env, flow)
    events = env.registry.events
    assert isinstance(events.decode_log(log), BlobRegistered)
    bad_bool = log["data"][:-128] + "2".zfill(64) + log["data"][-64:]  # `deletable` = 2
    malformed = {
        "a topic missing": {**log, "topics": log["topics"][:-1]},
        "a topic too many": {**log, "topics": [*log["topics"], "0x" + "00" * 32]},
        "short data": {**log, "data": log["data"][:-64]},
        "no data": {**log, "data": "0x"},
        "a bool that is 2": {**log, "data": bad_bool},
        "a 31-byte topic": {**log, "topics": [*log["topics"][:-1], log["topics"][-1][:-2]]},
    }
    for what, bad in malformed.items():
        with pytest.raises(MalformedLog, match="BlobRegistered log"):
            events.decode_log(bad)
        with pytest.raises(Exception):  # noqa: B017 - web3 refuses them too, in its own ways
            env.registry.contract.events.BlobRegistered().process_log(bad)
        assert issubclass(MalformedLog, ChainError), what
    with pytest.raises(MalformedLog, match="not hex"):
        events.decode_log({**log, "data": "0xzz"})
    unknown_topic = "0x" + "ab" * 32
    assert events.decode_log({**log, "topics": [unknown_topic, *log["topics"][1:]]}) is None
    assert events.decode_log({**log, "address": env.staking.address.lower()}) is None
    assert events.decode_log({**log, "topics": []}) is None


def test_a_refused_log_query_is_a_named_error(env: RegistryEnv) -> None:
    head = env.chain.block_number()
    with pytest.raises(LogQueryFailed, match=r"^eth_getLogs failed: .*block"):
        env.registry.events.in_blocks(head + 1, head + 5)  # anvil: beyond the chain head


class TamperingRpc:
    """A JSON-RPC endpoint in front of anvil that, while ``tamper`` is set, cuts the last
    32 bytes off the data of every log it returns (127.0.0.1, free port)."""

    def __init__(self, upstream: str) -> None:
        self.tamper = False
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = requests.post(
                    upstream, data=body, headers={"Content-Type": "application/json"}, timeout=30
                ).json()
                if proxy.tamper and isinstance(answer.get("result"), list):
                    for log in answer["result"]:
                        if isinstance(log, dict) and len(log.get("data", "")) > 66:
                            log["data"] = log["data"][:-64]
                payload = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def tampering_rpc(chain: ChainClient) -> Iterator[TamperingRpc]:
    proxy = TamperingRpc(chain.rpc_url)
    try:
        yield proxy
    finally:
        proxy.close()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_node_follower_survives_malformed_logs_and_catches_up(
    env: RegistryEnv,
    flow: Flow,
    alice: ChainClient,
    tampering_rpc: TamperingRpc,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    start = env.chain.block_number() + 1
    registered = env.register(alice, 500, 2, salt=b"follower")
    blob_id = BlobId(registered.blob_id)
    view = ChainView(ChainClient(tampering_rpc.url), env.staking.address, env.registry.address, 1)
    assert view.client.direct is not None
    store = NodeStore(tmp_path / "store")
    batches: list[list[BlobId]] = []
    follower = EventFollower(store, view, start, batches.append, lambda: None)
    tampering_rpc.tamper = True
    try:
        with pytest.raises(MalformedLog):
            follower.poll_once()
        assert store.cursor() is None and store.blob_record(blob_id) is None
        with caplog.at_level(logging.WARNING, logger="walrus-node.follower"):
            follower.start()
            assert wait_until(lambda: "does not decode" in caplog.text)
            assert follower._thread.is_alive()
            assert store.cursor() is None and store.blob_record(blob_id) is None
            tampering_rpc.tamper = False
            assert wait_until(lambda: (store.cursor() or 0) > start)
        record = store.blob_record(blob_id)
        assert record is not None and registered.token_id in record.registrations
        assert batches and blob_id in batches[0]
    finally:
        follower.stop()
        store.close()
