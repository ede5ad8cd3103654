"""Client CPU per contract call and per transaction: ChainClient against plain web3 (JSON lines).

Starts its own anvil, deploys every contract (as `walrus devnet deploy`), then times, with
``time.process_time`` (this process's CPU, what a store pays on a busy 2-core box) and wall
time, ``--calls`` calls of each kind, interleaved in rounds of ``--round`` (A B A B ...):

- ``view_args``: ``WAL.balanceOf(address)`` (uint256 from an address argument);
- ``struct``: ``BlobRegistry.blobIdStatus(bytes32)`` (a struct result);
- ``revert``: ``WAL.transfer`` beyond the balance as a call (raises the named
  ``ERC20InsufficientBalance`` ContractRevert);
- ``transfer_tx`` (``--transactions`` of them): a signed ``WAL.transfer`` sent and waited for.

Each kind is measured two ways on the same anvil in the same run: ``client`` is ChainClient
as built by default (direct eth_call, keep-alive http.client), ``baseline_web3`` is
ChainClient on a stock ``Web3.HTTPProvider`` (web3 builds, encodes and posts through
``requests``: the behaviour before the direct path). The contract function object is built
outside the timed call in both (``build`` rows time building it alone).

Columns: ``kind``, ``path`` (client / baseline_web3 / build), ``calls``, ``cpu_ms_per_call``
and ``wall_ms_per_call`` (means), and on the ``ratio`` rows ``cpu_ratio`` = client CPU /
baseline CPU for that kind (lower is better), with the load average of the moment.

Usage: .venv/bin/python bench/chain_calls.py [--calls 500] [--transactions 40] [--no-save]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from web3 import Web3

from backend.chain.client import ChainClient
from backend.chain.errors import ContractRevert
from bench.devnet import deployed_devnet
from bench.report import bench_report


def timed(action: Callable[[], Any], count: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``count`` runs of ``action``."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        action()
    return time.process_time() - cpu, time.perf_counter() - wall


def reverting(client: ChainClient, function: Any, sender: str) -> Callable[[], None]:
    def run() -> None:
        try:
            client.call(function, sender=sender)
        except ContractRevert as error:
            assert error.name == "ERC20InsufficientBalance", error
            return
        raise AssertionError("the transfer beyond the balance did not revert")

    return run


def transfer(client: ChainClient, wal: Any, recipient: str) -> None:
    client.transact(wal.functions.transfer(recipient, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per kind and path")
    parser.add_argument("--transactions", type=int, default=40, help="transactions per path")
    parser.add_argument("--round", type=int, default=50, help="calls per A/B turn")
    parser.add_argument("--no-save", action="store_true", help="print only")
    arguments = parser.parse_args()

    with deployed_devnet() as devnet:
        client, artifacts, accounts = devnet.chain, devnet.artifacts, devnet.accounts
        stock = Web3(Web3.HTTPProvider(devnet.url, exception_retry_configuration=None))
        stock.middleware_onion.remove("validation")  # as ChainClient has always done
        baseline = ChainClient(
            devnet.url, accounts[0].key, w3=stock, error_abis=artifacts.all_abis()
        )
        assert client.direct is not None and baseline.direct is None
        with bench_report("chain_calls", save=not arguments.no_save) as report:
            run(report, arguments, client, baseline, devnet.deployment, artifacts, accounts)


def run(
    report: Any,
    arguments: argparse.Namespace,
    client: ChainClient,
    baseline: ChainClient,
    deployment: Any,
    artifacts: Any,
    accounts: Any,
) -> None:
    paths = {"client": client, "baseline_web3": baseline}
    wal = {name: deployment.contract(c, artifacts, "WAL") for name, c in paths.items()}
    registry = {
        name: deployment.contract(c, artifacts, "BlobRegistry") for name, c in paths.items()
    }
    holder, poor = accounts[1].address, accounts[9].address
    kinds: dict[str, dict[str, Callable[[], Any]]] = {
        "view_args": {
            name: partial(c.call, wal[name].functions.balanceOf(holder))
            for name, c in paths.items()
        },
        "struct": {
            name: partial(c.call, registry[name].functions.blobIdStatus(b"\x07" * 32))
            for name, c in paths.items()
        },
        "revert": {
            name: reverting(c, wal[name].functions.transfer(poor, 10**40), poor)
            for name, c in paths.items()
        },
    }
    counts = {"view_args": arguments.calls, "struct": arguments.calls, "revert": arguments.calls}
    recipient = accounts[8].address
    kinds["transfer_tx"] = {
        name: partial(transfer, c, wal[name], recipient) for name, c in paths.items()
    }
    counts["transfer_tx"] = arguments.transactions
    for kind, actions in kinds.items():
        for action in actions.values():
            action()  # warm: connections, caches, gas reuse
        totals = {name: [0.0, 0.0] for name in actions}
        done = 0
        while done < counts[kind]:
            turn = min(arguments.round, counts[kind] - done)
            for name, action in actions.items():
                cpu, wall = timed(action, turn)
                totals[name][0] += cpu
                totals[name][1] += wall
            done += turn
        for name, (cpu, wall) in totals.items():
            report.emit(
                {
                    "kind": kind,
                    "path": name,
                    "calls": done,
                    "cpu_ms_per_call": round(cpu / done * 1e3, 3),
                    "wall_ms_per_call": round(wall / done * 1e3, 3),
                }
            )
        report.emit(
            {
                "kind": kind,
                "path": "ratio",
                "cpu_ratio": round(totals["client"][0] / totals["baseline_web3"][0], 3),
                "wall_ratio": round(totals["client"][1] / totals["baseline_web3"][1], 3),
            }
        )
    build_cpu, build_wall = timed(
        lambda: wal["client"].functions.balanceOf(holder), arguments.calls
    )
    report.emit(
        {
            "kind": "view_args",
            "path": "build",
            "calls": arguments.calls,
            "cpu_ms_per_call": round(build_cpu / arguments.calls * 1e3, 3),
            "wall_ms_per_call": round(build_wall / arguments.calls * 1e3, 3),
        }
    )


if __name__ == "__main__":
    main()
