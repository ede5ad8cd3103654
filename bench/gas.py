"""Gas of the control plane on a real anvil (JSON lines), with a same-run ECDSA baseline.

For every shard count n and committee size (nodes <= n) this deploys a fresh Staking and
BlobRegistry against the deployed WAL, registers the nodes (BLS keys with proofs of
possession), stakes equal WAL with each, runs two epoch changes, and measures (gas used by
the transaction, receipts of real transactions):

- stake: `Staking.stake` (median over the nodes);
- epoch_change_first / epoch_change: `initiateEpochChange` for epoch 1 and for epoch 2
  (the second keeps the previous shard assignment, the usual case);
- register_first / register: `registerBlob` (1 MiB, 5 epochs) into a fresh registry (every
  slot new) and the next one (the usual case: the epoch pools' slots exist already);
- extend / delete: `extendBlob` (+2 epochs), `deleteBlob` of a certified deletable blob;
- certify_all: `certifyBlob` with every member signing; certify_quorum: the fewest members
  whose shards reach the quorum n - f (= 2f + 1 for n = 3f + 1), the rest subtracted;
- ecdsa_all / ecdsa_quorum (baseline): the same certificates checked with one ecrecover per
  signer (contracts/src/testing/EcdsaCertificateHarness.sol), same message, same weights.

A final "summary" line checks the issue's targets: certify with 100 nodes all signing
<= 300,000 gas; certify at 100 nodes <= 1.5 x certify at 10 nodes (same n); the epoch change
with 100 nodes against the block gas limit.

Usage: python bench/gas.py [--shards 10,30,100,1000] [--nodes 10,30,100]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.registry import (
    BlobRegistryContract,
    RegistryParameters,
    deploy_registry,
    signer_bitmap,
)
from backend.chain.staking import StakingContract, StakingParameters, deploy_staking
from backend.core.blob_id import compute_blob_id
from backend.core.bls import BlsSecretKey, aggregate_signatures
from backend.core.intents import blob_certification_message

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/report.py
EPOCH_SECONDS = 60
STAKE_PER_NODE = 10**9
BLOB_SIZE = 2**20
CERTIFY_TARGET = 300_000
FLATNESS_TARGET = 1.5


@dataclass(frozen=True)
class Committee:
    keys: list[BlsSecretKey]
    """Members' BLS keys in committee order."""
    shard_counts: tuple[int, ...]


def gas(receipt: Any) -> int:
    return int(receipt["gasUsed"])


def node_key(index: int) -> BlsSecretKey:
    return BlsSecretKey.from_seed(
        hashlib.sha256(b"gas-bench-node" + index.to_bytes(4, "big")).digest()
    )


def quorum_signers(shard_counts: tuple[int, ...], quorum: int) -> list[int]:
    """The fewest members whose shards reach `quorum` (largest first), in committee order."""
    chosen: list[int] = []
    weight = 0
    for index in sorted(range(len(shard_counts)), key=lambda i: -shard_counts[i]):
        if weight >= quorum:
            break
        chosen.append(index)
        weight += shard_counts[index]
    return sorted(chosen)


def advance(chain: ChainClient, seconds: int) -> None:
    chain.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def setup_staking(
    chain: ChainClient, artifacts: Artifacts, wal: Contract, n: int, nodes: int
) -> tuple[StakingContract, Committee, dict[str, int]]:
    staking = deploy_staking(
        chain,
        artifacts.abi("Staking"),
        artifacts.bytecode("Staking"),
        wal.address,
        chain.address,
        StakingParameters(
            n_shards=n,
            epoch_duration=EPOCH_SECONDS,
            storage_price=1_000,
            write_price=100,
            min_stake=1,
            max_committee_size=nodes,
            max_shard_share_bps=10_000,
        ),
    )
    keys = [node_key(i) for i in range(nodes)]
    node_ids = [
        staking.register_node(f"node-{i}", f"http://127.0.0.1:{10_000 + i}", keys[i])
        for i in range(nodes)
    ]
    chain.transact(wal.functions.approve(staking.address, STAKE_PER_NODE * nodes))
    stake_gas = [
        gas(chain.transact(staking.contract.functions.stake(node_id, STAKE_PER_NODE)))
        for node_id in node_ids
    ]
    first = gas(chain.transact(staking.contract.functions.initiateEpochChange()))
    advance(chain, EPOCH_SECONDS + 1)
    second = gas(chain.transact(staking.contract.functions.initiateEpochChange()))
    committee = staking.committee()
    by_node = dict(zip(node_ids, keys, strict=True))
    measured = {
        "stake": int(statistics.median(stake_gas)),
        "epoch_change_first": first,
        "epoch_change": second,
    }
    return (
        staking,
        Committee([by_node[i] for i in committee.node_ids], committee.shard_counts),
        measured,
    )


def certificate(
    chain: ChainClient,
    registry: BlobRegistryContract,
    committee: Committee,
    epoch: int,
    registered: Any,
    signers: list[int],
) -> tuple[bytes, bytes, bytes]:
    """(message, bitmap, aggregate signature) of `signers` for a registered blob."""
    message = blob_certification_message(
        chain.chain_id, registry.address, epoch, registered.blob_id, True, registered.token_id
    )
    signature = aggregate_signatures([committee.keys[i].sign(message) for i in signers])
    return message, signer_bitmap(len(committee.keys), signers), signature.to_eip2537()


def ecdsa_baseline(
    chain: ChainClient,
    artifacts: Artifacts,
    committee: Committee,
    quorum: int,
    message: bytes,
    signer_sets: dict[str, list[int]],
) -> dict[str, int]:
    harness, _ = chain.deploy(
        artifacts.abi("EcdsaCertificateHarness"), artifacts.bytecode("EcdsaCertificateHarness")
    )
    accounts = [
        Account.from_key(hashlib.sha256(b"gas-bench-ecdsa" + bytes([i % 256, i // 256])).digest())
        for i in range(len(committee.keys))
    ]
    chain.transact(
        harness.functions.setCommittee(
            [a.address for a in accounts], list(committee.shard_counts), quorum
        )
    )
    digest = Web3.keccak(message)
    measured = {}
    for name, signers in signer_sets.items():
        signatures = []
        for i in signers:
            signed = Account.unsafe_sign_hash(digest, accounts[i].key)
            signatures.append(
                signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
            )
        measured[name] = gas(
            chain.transact(harness.functions.certify(message, signers, signatures))
        )
    return measured


def run_one(
    chain: ChainClient, artifacts: Artifacts, wal: Contract, n: int, nodes: int
) -> dict[str, Any]:
    staking, committee, measured = setup_staking(chain, artifacts, wal, n, nodes)
    registry = deploy_registry(
        chain,
        artifacts.abi("BlobRegistry"),
        artifacts.bytecode("BlobRegistry"),
        wal.address,
        staking.address,
        chain.address,
        RegistryParameters(),
    )
    chain.transact(wal.functions.approve(registry.address, 10**18))
    epoch = staking.current_epoch()
    quorum = n - (n - 1) // 3
    everyone = list(range(len(committee.keys)))
    just_quorum = quorum_signers(committee.shard_counts, quorum)

    def register(salt: bytes) -> tuple[Any, int]:
        root = hashlib.sha256(salt).digest()
        blob_id = compute_blob_id(2, BLOB_SIZE, root).raw
        receipt = chain.transact(
            registry.contract.functions.registerBlob(blob_id, root, BLOB_SIZE, 2, 5, True)
        )
        return registry.events.from_receipt(receipt)[-1], gas(receipt)

    first, measured["register_first"] = register(b"first")
    message, bitmap, signature = certificate(chain, registry, committee, epoch, first, everyone)
    measured["certify_all"] = gas(
        chain.transact(registry.contract.functions.certifyBlob(first.token_id, bitmap, signature))
    )
    second, measured["register"] = register(b"second")
    _, bitmap, signature = certificate(chain, registry, committee, epoch, second, just_quorum)
    measured["certify_quorum"] = gas(
        chain.transact(registry.contract.functions.certifyBlob(second.token_id, bitmap, signature))
    )
    measured["extend"] = gas(
        chain.transact(registry.contract.functions.extendBlob(first.token_id, 2))
    )
    measured["delete"] = gas(
        chain.transact(registry.contract.functions.deleteBlob(second.token_id))
    )
    baseline = ecdsa_baseline(
        chain,
        artifacts,
        committee,
        quorum,
        message,
        {"ecdsa_all": everyone, "ecdsa_quorum": just_quorum},
    )
    return {
        "bench": "gas",
        "n_shards": n,
        "nodes": len(committee.keys),
        "quorum_weight": quorum,
        "quorum_signers": len(just_quorum),
        "quorum_signer_weight": sum(committee.shard_counts[i] for i in just_quorum),
        **measured,
        **baseline,
    }


def summary(rows: list[dict[str, Any]], block_gas_limit: int) -> dict[str, Any]:
    by_key = {(row["n_shards"], row["nodes"]): row for row in rows}
    out: dict[str, Any] = {"bench": "gas", "summary": True, "block_gas_limit": block_gas_limit}
    at_100 = [row for row in rows if row["nodes"] == 100]
    if at_100:
        worst = max(row["certify_all"] for row in at_100)
        out["certify_all_100_nodes_max"] = worst
        out["certify_all_100_nodes_ok"] = worst <= CERTIFY_TARGET
        epoch_change = max(row["epoch_change"] for row in at_100)
        out["epoch_change_100_nodes_max"] = epoch_change
        out["epoch_change_100_nodes_pct_of_block"] = round(100 * epoch_change / block_gas_limit, 1)
    ratios = {}
    for (n, nodes), row in by_key.items():
        if nodes == 100 and (n, 10) in by_key:
            ratios[str(n)] = round(row["certify_all"] / by_key[(n, 10)]["certify_all"], 3)
    if ratios:
        out["certify_all_100_vs_10_nodes_ratio"] = ratios
        out["certify_flatness_ok"] = all(r <= FLATNESS_TARGET for r in ratios.values())
    return out


def main() -> None:
    from bench.devnet import deployed_devnet
    from bench.report import bench_report

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shards", default="10,30,100,1000", help="shard counts n")
    parser.add_argument("--nodes", default="10,30,100", help="committee sizes (<= n)")
    args = parser.parse_args()
    shard_counts = [int(x) for x in args.shards.split(",")]
    node_counts = [int(x) for x in args.nodes.split(",")]
    with deployed_devnet() as devnet:
        chain, artifacts = devnet.chain, devnet.artifacts
        wal = devnet.deployment.contract(chain, artifacts, "WAL")
        block_gas_limit = int(chain.w3.eth.get_block("latest")["gasLimit"])
        rows = []
        with bench_report("gas", incremental=True) as report:
            for n in shard_counts:
                for nodes in node_counts:
                    if nodes > n:
                        continue
                    row = run_one(chain, artifacts, wal, n, nodes)
                    rows.append(row)
                    report.emit(row)
            report.emit(summary(rows, block_gas_limit))


if __name__ == "__main__":
    main()
