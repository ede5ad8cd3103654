"""Client CPU per event-follower poll: backend/chain/fast_logs against web3's per-log path.

Starts its own anvil, deploys every contract, builds a 4-node committee (as the registry
tests do) and registers ``--blobs`` blobs (each register tx leaves a ``BlobRegistered`` and
an ERC-721 ``Transfer`` log on BlobRegistry). Then times, with ``time.process_time`` (this
process's CPU) and wall time, interleaved in turns (A B A B ...):

- ``range``: every BlobRegistry event of the registrations' blocks decoded into the event
  dataclasses (``--polls`` reads of the whole range);
- ``poll``: what a node's follower does per poll while blobs arrive: the chain head, then
  the events of one block holding one registration (``--polls`` times);
- ``head``: the chain head alone (what an idle follower asks twice a second).

Two paths on the same anvil in the same run: ``fast`` is ``RegistryEvents.in_blocks`` and
``nodes.chain_view.ChainView.head_block`` (plain ``eth_getLogs`` / ``eth_blockNumber``,
decoding plans cached per topic0); ``baseline_web3`` is the code before it:
``w3.eth.get_logs`` + ``contract.events[name]().process_log(log)`` per log and
``ChainClient.block_number`` (web3's formatters), on the same keep-alive provider. Both
paths' events are checked equal before timing.

Columns: ``kind``, ``path`` (fast / baseline_web3 / ratio), ``ops``, ``logs_per_op``,
``cpu_ms_per_op`` / ``wall_ms_per_op`` (means), ``cpu_us_per_log`` (range only), and on
the ``ratio`` rows ``cpu_ratio`` / ``wall_ratio`` = fast / baseline (lower is better), with
the load average of the moment.

Usage: .venv/bin/python bench/chain_logs.py [--blobs 100] [--polls 200] [--no-save]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from backend.chain.client import ChainClient
from backend.chain.registry import BlobRegistryContract
from bench.devnet import deployed_devnet
from bench.report import bench_report
from nodes.chain_view import ChainView
from tests.contracts.blob_registry_env import (
    RegistryEnv,
    blob_fields,
    build_env,
    fresh_client,
)
from tests.integration.web3_reference import web3_events

STAKES = [4 * 10**9, 3 * 10**9, 2 * 10**9, 1 * 10**9]


def web3_in_blocks(registry: BlobRegistryContract, first: int, last: int) -> list[Any]:
    """The follower's read before fast_logs: web3's get_logs and process_log per log."""
    contract = registry.contract
    logs = contract.w3.eth.get_logs(
        {"address": contract.address, "fromBlock": first, "toBlock": last}
    )
    return web3_events(contract, registry.events.table, logs)


def timed(action: Callable[[], Any], count: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``count`` runs of ``action``."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        action()
    return time.process_time() - cpu, time.perf_counter() - wall


def registered_blobs(env: RegistryEnv, client: ChainClient, count: int) -> tuple[int, int]:
    """Register ``count`` made-up blobs; returns the first and last block they used."""
    env.approve(client, 10**18)
    user = env.as_user(client)
    first = env.chain.block_number() + 1
    for index in range(count):
        blob_id, root, size, encoding = blob_fields(1024, index.to_bytes(4, "big"))
        user.register_blob(blob_id, root, size, encoding, 2, deletable=True)
    return first, env.chain.block_number()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=100, help="registrations to read")
    parser.add_argument("--polls", type=int, default=200, help="reads per kind and path")
    parser.add_argument("--round", type=int, default=20, help="reads per A/B turn")
    parser.add_argument("--no-save", action="store_true", help="print only")
    arguments = parser.parse_args()

    with deployed_devnet() as devnet:
        chain, artifacts = devnet.chain, devnet.artifacts
        wal = devnet.deployment.contract(chain, artifacts, "WAL")

        def client_for(key: bytes) -> ChainClient:
            return chain.with_account(key)

        operators = [
            fresh_client(chain, wal, client_for, b"bench-operator" + bytes([i]))
            for i in range(len(STAKES))
        ]
        env = build_env(chain, artifacts, wal, operators, STAKES)
        user = fresh_client(chain, wal, client_for, b"bench-user")
        first, last = registered_blobs(env, user, arguments.blobs)
        view = ChainView(chain, env.staking.address, env.registry.address, env.node_ids[0])
        with bench_report("chain_logs", save=not arguments.no_save) as report:
            run(report, arguments, env.registry, view, chain, first, last)


def run(
    report: Any,
    arguments: argparse.Namespace,
    registry: BlobRegistryContract,
    view: ChainView,
    chain: ChainClient,
    first: int,
    last: int,
) -> None:
    fast_range = registry.events.in_blocks(first, last)
    assert fast_range == web3_in_blocks(registry, first, last), "the two paths disagree"
    one = last  # one registration: BlobRegistered and the token's Transfer
    assert registry.events.in_blocks(one, one) == web3_in_blocks(registry, one, one)
    assert view.head_block() == chain.block_number()
    kinds: dict[str, tuple[int, dict[str, Callable[[], Any]]]] = {
        "range": (
            len(fast_range),
            {
                "fast": lambda: registry.events.in_blocks(first, last),
                "baseline_web3": lambda: web3_in_blocks(registry, first, last),
            },
        ),
        "poll": (
            2,
            {
                "fast": lambda: (view.head_block(), registry.events.in_blocks(one, one)),
                "baseline_web3": lambda: (
                    chain.block_number(),
                    web3_in_blocks(registry, one, one),
                ),
            },
        ),
        "head": (0, {"fast": view.head_block, "baseline_web3": chain.block_number}),
    }
    polls = arguments.polls
    for kind, (logs, actions) in kinds.items():
        for action in actions.values():
            action()  # warm: connections, caches
        totals = {name: [0.0, 0.0] for name in actions}
        done = 0
        while done < polls:
            turn = min(arguments.round, polls - done)
            for name, action in actions.items():
                cpu, wall = timed(action, turn)
                totals[name][0] += cpu
                totals[name][1] += wall
            done += turn
        for name, (cpu, wall) in totals.items():
            row: dict[str, object] = {
                "kind": kind,
                "path": name,
                "ops": done,
                "logs_per_op": logs,
                "cpu_ms_per_op": round(cpu / done * 1e3, 3),
                "wall_ms_per_op": round(wall / done * 1e3, 3),
            }
            if kind == "range":
                row["cpu_us_per_log"] = round(cpu / done / logs * 1e6, 1)
            report.emit(row)
        report.emit(
            {
                "kind": kind,
                "path": "ratio",
                "cpu_ratio": round(totals["fast"][0] / totals["baseline_web3"][0], 3),
                "wall_ratio": round(totals["fast"][1] / totals["baseline_web3"][1], 3),
            }
        )


if __name__ == "__main__":
    main()
