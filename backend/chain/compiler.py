"""Compile contracts/src/**/*.sol with solcjs (standard JSON) and cache the artifacts.

All sources go to solc in one standard-JSON call made through a tiny node script that
uses the solc JS API and exchanges JSON through files (the solcjs CLI prints a banner
before its JSON, truncates piped output at 64 KiB and rejects --allow-paths).
``@openzeppelin/`` imports are remapped to node_modules/@openzeppelin/.

Artifacts are cached in contracts/out/<key>.json, where the key is a SHA-256 over every
source file, the settings and the compiler version, so an unchanged tree never runs solc.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from backend.chain.errors import CompilationError, ToolchainMissing, UnknownContract

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
SOURCE_DIR: Final = Path("contracts/src")
OUT_DIR: Final = Path("contracts/out")
TESTING_DIR: Final = SOURCE_DIR / "testing"
LIBRARY_DIR: Final = SOURCE_DIR / "lib"
HARNESS_SUFFIXES: Final = ("Harness", "Mock")
"""Contracts named like this, or living under contracts/src/testing/, are test-only."""

MAX_DEPLOYED_SIZE: Final = 24_576
"""EIP-170 limit on deployed bytecode size."""

SETTINGS: Final[dict[str, Any]] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "prague",
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
    },
}

# Runs solc's JS API: argv = [input.json, output.json]. Imports are read relative to the
# repository root and confined to it.
_NODE_DRIVER: Final = r"""
const fs = require('fs');
const path = require('path');
const root = process.cwd();
const solc = require(path.join(root, 'node_modules', 'solc'));
const [inputPath, outputPath] = process.argv.slice(1);
function findImports(name) {
  const full = path.resolve(root, name);
  if (!full.startsWith(root + path.sep)) return {error: 'import outside the repository: ' + name};
  try { return {contents: fs.readFileSync(full, 'utf8')}; }
  catch (e) { return {error: 'file not found: ' + name}; }
}
const input = fs.readFileSync(inputPath, 'utf8');
const output = solc.compile(input, {import: findImports});
fs.writeFileSync(outputPath, output);
fs.writeFileSync(outputPath + '.version', solc.version());
"""


@dataclass(frozen=True)
class ContractArtifact:
    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    """Creation bytecode as 0x-hex; "0x" for interfaces and abstract contracts."""
    deployed_bytecode: str

    @property
    def deployed_size(self) -> int:
        return (len(self.deployed_bytecode) - 2) // 2

    @property
    def is_test_only(self) -> bool:
        return self.source.startswith(f"{TESTING_DIR.as_posix()}/") or self.name.endswith(
            HARNESS_SUFFIXES
        )


class Artifacts:
    """ABIs and bytecode of every compiled contract, by contract name."""

    def __init__(self, key: str, compiler_version: str, contracts: Mapping[str, ContractArtifact]):
        self.key = key
        self.compiler_version = compiler_version
        self.contracts: dict[str, ContractArtifact] = dict(contracts)

    def __contains__(self, name: object) -> bool:
        return name in self.contracts

    def get(self, name: str) -> ContractArtifact:
        try:
            return self.contracts[name]
        except KeyError:
            known = ", ".join(sorted(n for n in self.contracts if not n.startswith("I")))
            raise UnknownContract(f"no compiled contract named {name!r} (have: {known})") from None

    def abi(self, name: str) -> list[dict[str, Any]]:
        return self.get(name).abi

    def bytecode(self, name: str) -> str:
        """Creation bytecode; raises UnknownContract for interfaces and abstract contracts."""
        artifact = self.get(name)
        if artifact.bytecode in ("", "0x"):
            raise UnknownContract(f"{name} has no bytecode (interface or abstract contract)")
        if "__$" in artifact.bytecode:
            raise CompilationError([f"{name} needs library linking, which is not supported"])
        return artifact.bytecode

    def all_abis(self) -> list[list[dict[str, Any]]]:
        return [artifact.abi for artifact in self.contracts.values()]

    @property
    def product_names(self) -> list[str]:
        """Our own deployable contracts: from contracts/src, with bytecode, not test-only and
        not a library under contracts/src/lib/."""
        return sorted(
            name
            for name, artifact in self.contracts.items()
            if artifact.source.startswith(f"{SOURCE_DIR.as_posix()}/")
            and not artifact.source.startswith(f"{LIBRARY_DIR.as_posix()}/")
            and not artifact.is_test_only
            and artifact.bytecode not in ("", "0x")
        )

    @property
    def abi_hash(self) -> str:
        """SHA-256 over the ABIs of the product contracts: what a deployment is bound to."""
        payload = {name: self.contracts[name].abi for name in self.product_names}
        return hashlib.sha256(_canonical_json(payload).encode()).hexdigest()

    def sizes(self) -> dict[str, int]:
        """Deployed bytecode size in bytes of every contract from contracts/src with code."""
        return {
            name: artifact.deployed_size
            for name, artifact in sorted(self.contracts.items())
            if artifact.source.startswith(f"{SOURCE_DIR.as_posix()}/") and artifact.deployed_size
        }


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _source_files(root: Path) -> list[Path]:
    return sorted(path for path in (root / SOURCE_DIR).rglob("*.sol") if path.is_file())


def _package_version(root: Path, package: str) -> str:
    manifest = root / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        raise ToolchainMissing(
            f"{package} is not installed under node_modules; run scripts/bootstrap"
        ) from None


def cache_key(root: Path = REPO_ROOT) -> str:
    """SHA-256 over all sources, the settings and the compiler / OpenZeppelin versions."""
    digest = hashlib.sha256()
    digest.update(_canonical_json(SETTINGS).encode())
    digest.update(_package_version(root, "solc").encode())
    digest.update(_package_version(root, "@openzeppelin/contracts").encode())
    digest.update(_NODE_DRIVER.encode())
    for path in _source_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def compile_contracts(root: Path = REPO_ROOT, *, use_cache: bool = True) -> Artifacts:
    """Artifacts of every contract under ``root``/contracts/src, from cache when possible.

    Raises CompilationError with solc's own messages on a bad contract, and
    ToolchainMissing when node or solcjs is not installed.
    """
    root = root.resolve()
    key = cache_key(root)
    cached = root / OUT_DIR / f"{key}.json"
    if use_cache and cached.is_file():
        try:
            return _artifacts_from_json(json.loads(cached.read_text()))
        except (ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is simply rebuilt
    document = {"key": key, **_run_solc(root)}
    _write_cache(root, key, document)
    return _artifacts_from_json(document)


def _standard_input(root: Path) -> dict[str, Any]:
    sources = {
        path.relative_to(root).as_posix(): {"content": path.read_text()}
        for path in _source_files(root)
    }
    if not sources:
        raise CompilationError([f"no Solidity sources under {root / SOURCE_DIR}"])
    return {"language": "Solidity", "sources": sources, "settings": SETTINGS}


def _run_solc(root: Path) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise ToolchainMissing("node (Node.js >= 18) is not on PATH; it is needed to run solcjs")
    _package_version(root, "solc")
    with tempfile.TemporaryDirectory(prefix="walrus-solc-") as scratch:
        input_path = Path(scratch) / "input.json"
        output_path = Path(scratch) / "output.json"
        input_path.write_text(json.dumps(_standard_input(root)))
        finished = subprocess.run(
            [node, "-e", _NODE_DRIVER, str(input_path), str(output_path)],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if finished.returncode != 0 or not output_path.is_file():
            reason = (finished.stderr.strip() or finished.stdout.strip()).splitlines()
            raise CompilationError([f"solcjs crashed: {reason[-1] if reason else 'no output'}"])
        output = json.loads(output_path.read_text())
        version = Path(str(output_path) + ".version").read_text().strip()
    errors = [
        str(entry.get("formattedMessage") or entry.get("message"))
        for entry in output.get("errors", [])
        if entry.get("severity") == "error"
    ]
    if errors:
        raise CompilationError(errors)
    warnings = [
        str(entry.get("formattedMessage") or entry.get("message"))
        for entry in output.get("errors", [])
        if entry.get("severity") != "error"
    ]
    return _document(output, version, warnings)


def _document(output: dict[str, Any], version: str, warnings: list[str]) -> dict[str, Any]:
    """The cache document: one entry per contract name, our sources winning over imports."""
    contracts: dict[str, dict[str, Any]] = {}
    ours = f"{SOURCE_DIR.as_posix()}/"
    for source in sorted(output.get("contracts", {}), key=lambda s: (not s.startswith(ours), s)):
        for name, compiled in output["contracts"][source].items():
            if name in contracts:
                if source.startswith(ours) and contracts[name]["source"].startswith(ours):
                    raise CompilationError(
                        [
                            f"contract name {name} is defined twice: {contracts[name]['source']} "
                            f"and {source}; contract names must be unique"
                        ]
                    )
                continue
            evm = compiled.get("evm", {})
            contracts[name] = {
                "source": source,
                "abi": compiled.get("abi", []),
                "bytecode": "0x" + evm.get("bytecode", {}).get("object", ""),
                "deployed_bytecode": "0x" + evm.get("deployedBytecode", {}).get("object", ""),
            }
    return {"compiler_version": version, "warnings": warnings, "contracts": contracts}


def _write_cache(root: Path, key: str, document: dict[str, Any]) -> None:
    """Atomically write <key>.json and the small index (several processes may compile)."""
    out = root / OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / f"{key}.json", json.dumps(document))
    sizes = {
        name: (len(entry["deployed_bytecode"]) - 2) // 2
        for name, entry in document["contracts"].items()
        if entry["source"].startswith(f"{SOURCE_DIR.as_posix()}/")
        and len(entry["deployed_bytecode"]) > 2
    }
    index = {"latest": key, "compiler_version": document["compiler_version"], "sizes": sizes}
    _atomic_write(out / "index.json", json.dumps(index, indent=2, sort_keys=True))


def _atomic_write(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(temporary, path)


def _artifacts_from_json(document: dict[str, Any]) -> Artifacts:
    contracts = {
        name: ContractArtifact(
            name=name,
            source=entry["source"],
            abi=entry["abi"],
            bytecode=entry["bytecode"],
            deployed_bytecode=entry["deployed_bytecode"],
        )
        for name, entry in document["contracts"].items()
    }
    return Artifacts(document["key"], document["compiler_version"], contracts)
