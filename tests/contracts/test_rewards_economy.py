"""bench/economy.py's simulator cannot rot: a few epochs of its step function on a fresh
anvil (the benchmark itself runs 120 epochs and is not part of the test suite)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from backend.chain.compiler import REPO_ROOT


def load_bench() -> ModuleType:
    path = REPO_ROOT / "bench" / "economy.py"
    spec = importlib.util.spec_from_file_location("bench_economy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_economy"] = module
    spec.loader.exec_module(module)
    return module


def test_economy_steps_conserve_wal_and_pay_nodes(tmp_path: Path) -> None:
    bench = load_bench()
    devnet, chain, artifacts = bench.start_chain(tmp_path)
    try:
        economy = bench.Economy(chain, artifacts)
        records = [economy.step() for _ in range(3)]
    finally:
        devnet.stop()
    assert [r["epoch"] for r in records] == [1, 2, 3]
    for record in records:
        assert record["supply_conserved"] and record["balances_conserved"]
        assert record["nodes"] == bench.GENESIS_NODES
        assert record["subsidy_wal"] > 0 and record["burned_wal"] > 0
        assert record["node_revenue_wal_median"] > 0
        assert 1 <= record["nakamoto"] <= record["nodes"]
    # storage registered in epoch 1 is paid out when epoch 1 ends
    assert records[0]["storage_pool_wal"] > 0
    assert bench.nakamoto([5, 1, 1, 1]) == 1 and bench.nakamoto([1, 1, 1, 1]) == 2
