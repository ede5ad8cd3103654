"""Node configuration: one JSON file per node (written by `walrus node init`)."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


class NodeConfigError(Exception):
    """The config file or a key file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class NodeConfig:
    node_id: int
    """The id Staking gave this node at registration."""
    rpc_url: str
    staking: str
    registry: str
    data_dir: str
    bls_key_file: str
    operator_key_file: str
    host: str = "127.0.0.1"
    port: int = 9100
    start_block: int = 0
    """First block whose BlobRegistry events the node reads (the registry's deploy block)."""
    challenges: str = ""
    """StorageChallenges address; when set, the node answers its storage challenges."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def save(self, path: Path) -> None:
        path.write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: Path) -> NodeConfig:
        try:
            raw: Any = json.loads(path.read_text())
        except FileNotFoundError:
            raise NodeConfigError(f"config file {path} does not exist") from None
        except (OSError, ValueError) as error:
            raise NodeConfigError(f"config file {path} is not readable JSON: {error}") from None
        if not isinstance(raw, dict):
            raise NodeConfigError(f"config file {path} must hold a JSON object")
        try:
            config = cls(**raw)
        except TypeError as error:
            raise NodeConfigError(f"config file {path}: {error}") from None
        for name in ("node_id", "port", "start_block"):
            if not isinstance(getattr(config, name), int):
                raise NodeConfigError(f"config file {path}: {name} must be an integer")
        return config


def write_secret(path: Path, data: bytes) -> None:
    """Write a key file readable by its owner only (mode 0600 from creation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def read_secret(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise NodeConfigError(f"{what} {path} is not readable: {error.strerror}") from None
