"""The solcjs compiler wrapper: real solc runs on small trees, the cache, solc's own errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.chain.compiler import (
    MAX_DEPLOYED_SIZE,
    REPO_ROOT,
    Artifacts,
    cache_key,
    compile_contracts,
)
from backend.chain.errors import CompilationError, ToolchainMissing, UnknownContract

COUNTER = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Lib} from "./lib/Lib.sol";

contract Token is ERC20 {
    error TokenTooMuch(uint256 asked);
    constructor() ERC20("T", "T") { _mint(msg.sender, Lib.double(21)); }
}
"""

LIB = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
library Lib { function double(uint256 x) internal pure returns (uint256) { return 2 * x; } }
"""

HARNESS = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
contract ProbeHarness { function ping() external pure returns (uint256) { return 1; } }
"""


def _tree(root: Path, files: dict[str, str]) -> Path:
    (root / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    for name, text in files.items():
        path = root / "contracts/src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    return _tree(root, {"Token.sol": COUNTER, "lib/Lib.sol": LIB, "testing/Probe.sol": HARNESS})


@pytest.fixture(scope="module")
def small_artifacts(small_tree: Path) -> Artifacts:
    return compile_contracts(small_tree)


def test_compiles_with_openzeppelin_remapping_and_relative_imports(
    small_artifacts: Artifacts,
) -> None:
    token = small_artifacts.get("Token")
    assert token.source == "contracts/src/Token.sol"
    assert small_artifacts.bytecode("Token").startswith("0x6080")
    names = {entry.get("name") for entry in small_artifacts.abi("Token")}
    assert {"transfer", "balanceOf", "TokenTooMuch", "ERC20InsufficientBalance"} <= names
    assert small_artifacts.compiler_version.startswith("0.8.37")


def test_test_harnesses_and_libraries_are_compiled_but_not_product(
    small_artifacts: Artifacts,
) -> None:
    assert small_artifacts.bytecode("ProbeHarness").startswith("0x")
    assert small_artifacts.get("ProbeHarness").is_test_only
    assert small_artifacts.product_names == ["Token"]


def test_unknown_names_and_abstract_contracts_are_named_errors(
    small_artifacts: Artifacts,
) -> None:
    with pytest.raises(UnknownContract, match="no compiled contract named 'Nope'"):
        small_artifacts.abi("Nope")
    with pytest.raises(UnknownContract, match="interface or abstract"):
        small_artifacts.bytecode("IERC20")


def test_second_compile_comes_from_the_cache_without_running_solc(
    small_tree: Path, small_artifacts: Artifacts, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = json.loads((small_tree / "contracts/out/index.json").read_text())
    assert index["latest"] == small_artifacts.key == cache_key(small_tree)
    assert index["sizes"]["Token"] == small_artifacts.get("Token").deployed_size
    monkeypatch.setenv("PATH", "")  # no node: any solc run would fail with ToolchainMissing
    again = compile_contracts(small_tree)
    assert again.abi_hash == small_artifacts.abi_hash
    assert again.bytecode("Token") == small_artifacts.bytecode("Token")


def test_a_source_change_changes_the_key_and_the_abi_hash(
    tmp_path: Path, small_artifacts: Artifacts
) -> None:
    extended = COUNTER.replace("error TokenTooMuch", "error TokenTooLittle(); error TokenTooMuch")
    root = _tree(tmp_path, {"Token.sol": extended, "lib/Lib.sol": LIB})
    assert cache_key(root) != small_artifacts.key
    assert compile_contracts(root).abi_hash != small_artifacts.abi_hash


def test_a_bad_contract_fails_with_solcs_own_message(tmp_path: Path) -> None:
    broken = (
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\ncontract Bad { uint x = ; }\n"
    )
    root = _tree(tmp_path, {"Bad.sol": broken})
    with pytest.raises(CompilationError) as raised:
        compile_contracts(root)
    assert "ParserError" in str(raised.value)
    assert "contracts/src/Bad.sol:3" in raised.value.full_report()
    assert "\n" not in str(raised.value)
    assert not (root / "contracts/out/index.json").exists()


def test_missing_node_is_a_toolchain_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path, {"lib/Lib.sol": LIB})
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ToolchainMissing, match="node"):
        compile_contracts(root)


def test_duplicate_contract_names_are_rejected(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"a/Lib.sol": LIB, "b/Lib.sol": LIB})
    with pytest.raises(CompilationError, match="defined twice"):
        compile_contracts(root)


def test_project_contracts_fit_the_eip170_size_limit(artifacts: Artifacts) -> None:
    sizes = artifacts.sizes()
    assert "WAL" in sizes
    too_big = {name: size for name, size in sizes.items() if size > MAX_DEPLOYED_SIZE}
    assert not too_big, f"over {MAX_DEPLOYED_SIZE} bytes: {too_big}"
