"""Gas of on-chain storage challenges (JSON lines), against `certifyBlob` in the same run.

For each shard count n, committee size and symbol size S: fresh Staking + BlobRegistry with
the nodes staked equally (tests/contracts/blob_registry_env.py), one real blob of p·s·S bytes
(so every challenge lands on it), certified by all members (the baseline: `certifyBlob` gas),
then a fresh StorageChallenges: `issueChallenges` (one challenge per member), `respond` by
every other member (median; calldata carries one S-byte symbol and two ceil(log2 n)-hash
proofs), `closeChallenges` after the deadline with half of the members failed.

Usage: python bench/challenges.py [--shards 10,100,1000] [--nodes 10,100]
       [--symbols 2,1024,16384] [--max-blob-mib 16] [--no-save]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

MIB = 1 << 20
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, bench/report.py


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=_ints, default=[10, 100, 1000])
    parser.add_argument("--nodes", type=_ints, default=[10, 100])
    parser.add_argument("--symbols", type=_ints, default=[2, 1024, 16384])
    parser.add_argument("--max-blob-mib", type=float, default=16.0)
    parser.add_argument("--no-save", action="store_true")
    arguments = parser.parse_args()

    from backend.chain.challenges import build_answer
    from backend.chain.client import ChainClient
    from backend.chain.compiler import compile_contracts
    from backend.chain.deployment import deploy, devnet_config
    from backend.chain.devnet import dev_accounts, start_anvil
    from backend.core.encoder import encode_blob
    from backend.core.params import EncodingParams
    from bench.report import bench_report
    from tests.contracts.blob_registry_env import build_env, fresh_client

    with (
        bench_report("challenges", save=not arguments.no_save, incremental=True) as report,
        tempfile.TemporaryDirectory() as raw,
    ):
        devnet = start_anvil(log_path=Path(raw) / "anvil.log")
        try:
            artifacts = compile_contracts()
            accounts = dev_accounts()
            chain = ChainClient.connect(
                devnet.url, accounts[0].key, error_abis=artifacts.all_abis()
            )
            wal = deploy(chain, artifacts, devnet_config(accounts)).contract(
                chain, artifacts, "WAL"
            )
            run = 0
            for n in arguments.shards:
                params = EncodingParams(n)
                for nodes in (count for count in arguments.nodes if count <= n):
                    for symbol in arguments.symbols:
                        size = params.p * params.s * symbol
                        if size > arguments.max_blob_mib * MIB:
                            continue
                        run += 1
                        operators = [
                            fresh_client(chain, wal, chain.with_account, f"gas-{run}-{i}".encode())
                            for i in range(nodes)
                        ]
                        env = build_env(
                            chain, artifacts, wal, operators, [10**9] * nodes, n_shards=n
                        )
                        user = operators[0]
                        encoded = encode_blob(os.urandom(size), n)
                        registered = env.register_encoded(user, encoded, 3)
                        members = len(env.staking.committee().node_ids)
                        bitmap, signature = env.certification(registered, list(range(members)))
                        certify = chain.transact(
                            env.registry.contract.functions.certifyBlob(
                                registered.token_id, bitmap, signature
                            )
                        )["gasUsed"]
                        challenges = env.deploy_challenges(artifacts, 600)
                        epoch = env.epoch()
                        issue = chain.transact(
                            challenges.contract.functions.issueChallenges(epoch)
                        )["gasUsed"]
                        responded = []
                        committee = env.staking.committee().node_ids
                        for node_id in committee[: (len(committee) + 1) // 2]:
                            challenge = challenges.challenge_of(epoch, node_id)
                            assert challenge is not None
                            slivers = (
                                encoded.secondary_slivers
                                if challenge.secondary
                                else encoded.primary_slivers
                            )
                            answer = build_answer(
                                slivers[challenge.sliver_index], challenge.symbol_index
                            )
                            operator = env.operators[env.node_ids.index(node_id)]
                            receipt = challenges.as_account(operator).respond(
                                epoch, node_id, answer
                            )
                            responded.append(int(receipt["gasUsed"]))
                        env.advance(601)
                        close = chain.transact(
                            challenges.contract.functions.closeChallenges(epoch)
                        )["gasUsed"]
                        respond = statistics.median(responded)
                        report.emit(
                            {
                                "bench": "storage_challenges_gas",
                                "n_shards": n,
                                "nodes": members,
                                "symbol_bytes": symbol,
                                "blob_bytes": size,
                                "issue_gas": issue,
                                "issue_gas_per_node": round(issue / members),
                                "respond_gas_median": respond,
                                "close_gas": close,
                                "failed_at_close": members - len(responded),
                                "baseline_certify_gas": certify,
                                "respond_over_certify": round(respond / certify, 2),
                            }
                        )
        finally:
            devnet.stop()


if __name__ == "__main__":
    main()
