"""WAL economy over 100+ epochs against the real contracts on anvil (JSON lines).

A fresh anvil, the full deployment (WAL, Staking, BlobRegistry, StorageChallenges,
StakingRewards, governance; deployer kept as owner), then per epoch: storage users register
blobs, nodes vote prices and capacity, delegators move stake, nodes join and leave, and the
epoch changes (time warp with evm_increaseTime + initiateEpochChange, which distributes the
finished epoch's rewards and burns the burn share).

Workload (stated, deterministic):
- nodes: 5 at genesis, one more joins every 20 epochs (up to 9); node 1 leaves at epoch 50
  (its operator and delegators withdraw). Self-stake 100,000 WAL, commission 5-20%.
- storage demand: 2 GiB of new blobs at epoch 1, growing 2% per epoch (14.5 GiB at epoch
  100), in blobs of at most 1.75 GiB (the largest for n = 10), each stored for 4 epochs.
- delegators: 12 with 200,000 WAL each; each epoch one of them moves its stake to the node
  with the best last-epoch yield (yield chasing, the worst case for concentration).
- prices: each node votes storage price = its cost per encoded MiB x (1 + margin), scaled
  by utilisation (x1.1 when the network is > 80% full, x0.95 when < 30%); capacity 4 TiB
  per node growing 2% per epoch.
- cost model per node and epoch: 2 WAL fixed + 20,000 FROST per encoded MiB held (its
  shards' share of all live blobs; about 21 WAL per encoded TiB-epoch).
- subsidy: 50 WAL per epoch (set by the owner), burn share 10%.

Per epoch: node revenue vs cost (how many committee nodes are profitable, median margin),
storage price and the WAL cost of 1 GiB for one epoch, storage pool, subsidy, burn, supply
conservation (totalSupply = 5e9 WAL - burned, all balances + burned constant), Nakamoto
coefficient of the committee stake, delegators' yield per epoch (and annualised for
two-week epochs, as on Walrus mainnet). Writes bench/results/economy.jsonl and
docs/economics.png.

Usage: python bench/economy.py [--epochs 120] [--no-plot]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import signal
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts, compile_contracts
from backend.chain.deployment import deploy, devnet_config
from backend.chain.devnet import Devnet, dev_accounts, start_anvil
from backend.chain.registry import BlobRegistryContract
from backend.chain.rewards import EpochRewardsDistributed, NodeRewarded, StakingRewardsContract
from backend.chain.staking import StakingContract
from backend.core.blob_id import compute_blob_id
from backend.core.bls import BlsSecretKey
from backend.core.params import encoded_length

ROOT = Path(__file__).resolve().parent.parent
PLOT = ROOT / "docs" / "economics.png"
sys.path.insert(0, str(ROOT))  # bench/report.py
WAL = 10**9
MIB = 2**20
GIB = 2**30
TOTAL_SUPPLY = 5_000_000_000 * WAL
MAX_BLOB = 7 * GIB // 4
BLOB_EPOCHS = 4
FIXED_COST = 2 * WAL
COST_PER_MIB = 20_000
SUBSIDY_RATE = 50 * WAL
SELF_STAKE = 100_000 * WAL
DELEGATOR_WAL = 200_000 * WAL
DELEGATORS = 12
GENESIS_NODES = 5
MAX_NODES = 9
JOIN_EVERY = 20
LEAVING_NODE_INDEX = 0
LEAVE_AT = 50
CAPACITY = 4 * 2**40
EPOCHS_PER_YEAR_MAINNET = 26


@dataclass
class Actor:
    client: ChainClient
    positions: list[int] = field(default_factory=list)


@dataclass
class NodeActor(Actor):
    node_id: int = 0
    margin: float = 0.5
    left: bool = False


@dataclass
class Blob:
    encoded: int
    end_epoch: int


def nakamoto(stakes: list[int]) -> int:
    """Fewest nodes holding more than a third of the stake (BFT's safety threshold)."""
    total = sum(stakes)
    held = 0
    for count, stake in enumerate(sorted(stakes, reverse=True), start=1):
        held += stake
        if 3 * held > total:
            return count
    return len(stakes)


class Economy:
    """The simulated economy on one chain; `step()` runs one epoch and returns its record."""

    def __init__(self, chain: ChainClient, artifacts: Artifacts, seed: bytes = b"economy") -> None:
        self.chain = chain
        self.artifacts = artifacts
        self.seed = seed
        config = dataclasses.replace(devnet_config(dev_accounts()), keep_deployer_owner=True)
        self.deployment = deploy(chain, artifacts, config)
        contracts = self.deployment.contracts
        self.wal: Contract = chain.contract(contracts["WAL"], artifacts.abi("WAL"))
        self.staking = StakingContract.at(chain, contracts["Staking"], artifacts.abi("Staking"))
        self.registry = BlobRegistryContract.at(
            chain, contracts["BlobRegistry"], artifacts.abi("BlobRegistry")
        )
        self.rewards = StakingRewardsContract.at(
            chain, contracts["StakingRewards"], artifacts.abi("StakingRewards")
        )
        self.duration = self.staking.epoch_info().duration
        self.rewards.set_subsidy_rate(SUBSIDY_RATE)
        self.nodes: list[NodeActor] = []
        self.delegators = [self._actor(b"delegator", i, DELEGATOR_WAL) for i in range(DELEGATORS)]
        self.user = self._actor(b"user", 0, 10**9 * WAL)
        self.user.client.transact(self.wal.functions.approve(self.registry.address, 2**255))
        self.blobs: list[Blob] = []
        self.salt = 0
        self.last_yield: dict[int, float] = {}
        self.watched = [
            contracts["BlobRegistry"],
            contracts["Staking"],
            contracts["StakingRewards"],
        ]
        for index in range(GENESIS_NODES):
            self._join(index)
        for index, delegator in enumerate(self.delegators):
            self._stake(delegator, self.nodes[index % len(self.nodes)].node_id, DELEGATOR_WAL)
        self.staking.initiate_epoch_change()  # epoch 1
        self.initial_total = self._tracked_total()

    # ------------------------------------------------------------ actors

    def _actor(self, role: bytes, index: int, wal_amount: int) -> Actor:
        account = Account.from_key(hashlib.sha256(self.seed + role + bytes([index])).digest())
        self.chain.send_value(account.address, 10**20)
        self.chain.transact(self.wal.functions.transfer(account.address, wal_amount))
        return Actor(self.chain.with_account(bytes(account.key)))

    def _join(self, index: int) -> None:
        actor = self._actor(b"operator", index, SELF_STAKE)
        key = BlsSecretKey.from_seed(hashlib.sha256(self.seed + b"bls" + bytes([index])).digest())
        staking = self.staking.as_account(actor.client)
        node_id = staking.register_node(
            f"node-{index}",
            f"http://127.0.0.1:{9300 + index}",
            key,
            commission_bps=500 + 500 * (index % 4),
            capacity=CAPACITY,
        )
        node = NodeActor(actor.client, node_id=node_id, margin=0.3 + 0.1 * (index % 5))
        self.nodes.append(node)
        self._stake(node, node_id, SELF_STAKE)

    def _stake(self, actor: Actor, node_id: int, amount: int) -> None:
        actor.client.transact(self.wal.functions.approve(self.staking.address, amount))
        actor.positions.append(
            self.staking.as_account(actor.client).stake(node_id, amount).position_id
        )

    def _leave(self, actor: Actor) -> None:
        staking = self.staking.as_account(actor.client)
        for position_id in actor.positions:
            position = staking.position(position_id)
            if position.withdraw_epoch is None:
                staking.request_withdraw(position_id, position.amount)

    def _withdraw_ready(self, actor: Actor) -> int:
        """Withdraw every withdrawable position; returns the FROST of stake paid back."""
        staking = self.staking.as_account(actor.client)
        epoch = self.staking.current_epoch()
        paid = 0
        for position_id in list(actor.positions):
            position = staking.position(position_id)
            if position.withdraw_epoch is not None and position.withdraw_epoch <= epoch:
                paid += staking.withdraw(position_id)
                actor.positions.remove(position_id)
        return paid

    def _tracked_total(self) -> int:
        subsidies = self.rewards.subsidy_source()
        addresses = [*self.watched, self.user.client.address, self.chain.address, subsidies]
        addresses += [a.client.address for a in (*self.nodes, *self.delegators)]
        return sum(int(self.wal.functions.balanceOf(a).call()) for a in addresses)

    # ------------------------------------------------------------ one epoch

    def step(self) -> dict[str, Any]:
        epoch = self.staking.current_epoch()
        n = self.staking.n_shards
        self._membership(epoch)
        self._move_delegation(epoch)
        stored = sum(b.encoded for b in self.blobs if b.end_epoch > epoch)
        capacity = self.staking.prices().total_capacity
        self._vote(stored, capacity, epoch)
        demand = int(2 * GIB * 1.02**epoch)
        new_blobs = -(-demand // MAX_BLOB)
        cost_before = self.registry.registration_cost(GIB, BLOB_EPOCHS)
        for _ in range(new_blobs):
            self._register(demand // new_blobs)
        stored = sum(b.encoded for b in self.blobs if b.end_epoch > epoch)
        committee = self.staking.committee(epoch)
        stakes = [self.staking.node_stake_at(node_id, epoch) for node_id in committee.node_ids]

        self.chain.w3.provider.make_request("evm_increaseTime", [self.duration + 1])  # type: ignore[arg-type]
        self.chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        self.staking.initiate_epoch_change()
        block = self.chain.block_number()
        events = self.rewards.events.in_blocks(block, block)
        distributed = next(e for e in events if isinstance(e, EpochRewardsDistributed))
        rewarded = [e for e in events if isinstance(e, NodeRewarded)]

        margins, profitable = [], 0
        yields: dict[int, float] = {}
        for reward, shards in zip(rewarded, committee.shard_counts, strict=True):
            held_mib = stored * shards / n / MIB
            cost = FIXED_COST + COST_PER_MIB * held_mib
            margins.append((reward.reward - cost) / cost)
            profitable += reward.reward >= cost
            if reward.stake:
                yields[reward.node_id] = (reward.reward - reward.commission) / reward.stake
        self.last_yield = yields
        weighted_yield = sum(yields[i] * s for i, s in zip(committee.node_ids, stakes, strict=True))
        delegator_yield = weighted_yield / sum(stakes)
        supply = int(self.wal.functions.totalSupply().call())
        burned = self.rewards.total_burned()
        per_gib = cost_before.storage / BLOB_EPOCHS
        return {
            "epoch": epoch,
            "nodes": len(committee.node_ids),
            "storage_price": self.staking.prices().storage_price,
            "storage_price_paid": cost_before.storage,
            "wal_per_gib_epoch": per_gib / WAL,
            "new_blobs": new_blobs,
            "new_gib": demand / GIB,
            "stored_encoded_gib": stored / GIB,
            "capacity_gib": capacity / GIB,
            "storage_pool_wal": distributed.storage_pool / WAL,
            "subsidy_wal": distributed.subsidy / WAL,
            "burned_wal": distributed.burned / WAL,
            "node_revenue_wal_median": statistics.median(r.reward for r in rewarded) / WAL,
            "node_cost_wal_median": statistics.median(
                FIXED_COST + COST_PER_MIB * stored * s / n / MIB for s in committee.shard_counts
            )
            / WAL,
            "profitable_nodes": profitable,
            "margin_median": statistics.median(margins),
            "nakamoto": nakamoto(stakes),
            "delegator_yield_per_epoch": delegator_yield,
            "delegator_apy_2week_epochs": delegator_yield * EPOCHS_PER_YEAR_MAINNET,
            "supply_wal": supply / WAL,
            "supply_conserved": TOTAL_SUPPLY - supply == burned,
            "balances_conserved": self._tracked_total() + burned == self.initial_total,
        }

    def _membership(self, epoch: int) -> None:
        if epoch % JOIN_EVERY == 0 and len(self.nodes) < MAX_NODES:
            self._join(len(self.nodes))
        leaving = self.nodes[LEAVING_NODE_INDEX]
        if epoch == LEAVE_AT:
            leaving.left = True
            self._leave(leaving)
            for delegator in self.delegators:
                for position_id in delegator.positions:
                    if self.staking.position(position_id).node_id == leaving.node_id:
                        self._leave(delegator)
        if leaving.left:
            self._withdraw_ready(leaving)

    def _move_delegation(self, epoch: int) -> None:
        """One delegator per epoch chases the best last-epoch yield."""
        mover = self.delegators[epoch % DELEGATORS]
        paid = self._withdraw_ready(mover)
        if paid:
            live = [node for node in self.nodes if not node.left]
            best = max(live, key=lambda node: self.last_yield.get(node.node_id, 0.0))
            self._stake(mover, best.node_id, paid)
        elif mover.positions and self.last_yield:
            self._leave(mover)

    def _vote(self, stored: int, capacity: int, epoch: int) -> None:
        utilisation = stored / capacity if capacity else 0.0
        pressure = 1.1 if utilisation > 0.8 else 0.95 if utilisation < 0.3 else 1.0
        current = self.staking.prices().storage_price
        for node in self.nodes:
            if node.left:
                continue
            floor = COST_PER_MIB * (1 + node.margin)
            vote = max(int(floor), int(current * pressure))
            self.staking.as_account(node.client).cast_votes(
                node.node_id,
                storage_price=vote,
                write_price=100,
                capacity=int(CAPACITY * 1.02**epoch),
            )

    def _register(self, size: int) -> None:
        self.salt += 1
        root = hashlib.sha256(self.seed + self.salt.to_bytes(8, "big")).digest()
        blob_id = compute_blob_id(2, size, root).raw
        self.registry.as_account(self.user.client).register_blob(
            blob_id, root, size, 2, BLOB_EPOCHS, deletable=False
        )
        epoch = self.staking.current_epoch()
        encoded = encoded_length(self.staking.n_shards, size)
        self.blobs.append(Blob(encoded, epoch + BLOB_EPOCHS))


def start_chain(directory: Path) -> tuple[Devnet, ChainClient, Artifacts]:
    artifacts = compile_contracts()
    devnet = start_anvil(log_path=directory / "anvil.log")
    chain = ChainClient.connect(devnet.url, dev_accounts(1)[0].key, error_abis=artifacts.all_abis())
    return devnet, chain, artifacts


def plot(records: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in records]
    figure, axes = plt.subplots(2, 2, figsize=(11, 7))
    axes[0][0].plot(epochs, [r["node_revenue_wal_median"] for r in records], label="revenue")
    axes[0][0].plot(epochs, [r["node_cost_wal_median"] for r in records], label="cost")
    axes[0][0].set_title("median node revenue vs cost (WAL/epoch)")
    axes[0][0].legend()
    axes[0][1].plot(epochs, [r["wal_per_gib_epoch"] for r in records])
    axes[0][1].set_title("price of 1 GiB for one epoch (WAL)")
    axes[1][0].plot(epochs, [r["nakamoto"] for r in records], label="Nakamoto coefficient")
    axes[1][0].plot(epochs, [r["nodes"] for r in records], label="committee size")
    axes[1][0].set_title("stake concentration")
    axes[1][0].legend()
    axes[1][1].plot(epochs, [100 * r["delegator_apy_2week_epochs"] for r in records])
    axes[1][1].set_title("delegator yield, % per year at 26 epochs/year")
    for axis in (a for row in axes for a in row):
        axis.set_xlabel("epoch")
    figure.tight_layout()
    figure.savefig(path, dpi=80)


def main() -> None:
    from bench.report import bench_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--no-plot", action="store_true")
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop anvil in `finally`
    records = []
    with (
        bench_report("economy", incremental=True, overwrite=True) as report,
        tempfile.TemporaryDirectory() as directory,
    ):
        devnet, chain, artifacts = start_chain(Path(directory))
        try:
            economy = Economy(chain, artifacts)
            for _ in range(options.epochs):
                record = economy.step()
                records.append(record)
                report.emit({"bench": "economy", **record})
        finally:
            devnet.stop()
        report.emit(summary_of(records))
    if not options.no_plot:
        plot(records, PLOT)


def summary_of(records: list[dict[str, Any]]) -> dict[str, object]:
    """The run in one row: conservation held throughout, profitability, decentralisation."""
    return {
        "bench": "economy_summary",
        "epochs": len(records),
        "supply_always_conserved": all(r["supply_conserved"] for r in records),
        "balances_always_conserved": all(r["balances_conserved"] for r in records),
        "epochs_all_nodes_profitable": sum(r["profitable_nodes"] == r["nodes"] for r in records),
        "final_wal_per_gib_epoch": records[-1]["wal_per_gib_epoch"],
        "min_nakamoto": min(r["nakamoto"] for r in records),
        "median_delegator_apy_2week_epochs": statistics.median(
            r["delegator_apy_2week_epochs"] for r in records
        ),
        "total_burned_wal": sum(r["burned_wal"] for r in records),
    }


if __name__ == "__main__":
    main()
