"""The Seal key servers a deployment trusts: the ``"seal"`` section of
``deployments/<chain id>.json``, ``{"key_server_ids": [1, 2, 3], "threshold": 2}``.

The KeyServerRegistry is permissionless (anyone may register a key server), so "every active
entry" is not a trust decision: whoever registers t entries would get t shares of every blob
sealed afterwards. As Seal applications name the key server object ids they trust, the
deployment names registry ids; clients encrypt to those (unless the user names others).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.chain.errors import DeploymentError

SECTION = "seal"
"""The deployment file's key holding :class:`SealTrust`."""


@dataclass(frozen=True)
class SealTrust:
    """Registry ids of the trusted key servers (in the order blobs are sealed to them) and
    how many of them must release a share (t)."""

    key_server_ids: tuple[int, ...]
    threshold: int

    def __post_init__(self) -> None:
        ids = self.key_server_ids
        if not ids:
            raise DeploymentError("a Seal trust list names at least one key server id")
        if any(isinstance(i, bool) or not isinstance(i, int) or i < 1 for i in ids):
            raise DeploymentError(f"key server ids are registry ids >= 1, got {list(ids)}")
        if len(set(ids)) != len(ids):
            raise DeploymentError(f"key server ids must be distinct, got {list(ids)}")
        if isinstance(self.threshold, bool) or not 1 <= self.threshold <= len(ids):
            raise DeploymentError(
                f"threshold {self.threshold} must be between 1 and the {len(ids)} trusted key "
                "servers"
            )

    def to_json(self) -> dict[str, Any]:
        return {"key_server_ids": list(self.key_server_ids), "threshold": self.threshold}

    @classmethod
    def from_json(cls, raw: Any, source: str = "deployment") -> SealTrust:
        """From ``{"key_server_ids": [...], "threshold": t}``; DeploymentError naming
        ``source`` otherwise."""
        try:
            ids = raw["key_server_ids"]
            threshold = raw["threshold"]
            if not isinstance(ids, list) or not isinstance(threshold, int):
                raise TypeError("key_server_ids is a list of ids and threshold a number")
            return cls(tuple(ids), threshold)
        except (KeyError, TypeError) as error:
            raise DeploymentError(
                f'{source}: "{SECTION}" must be {{"key_server_ids": [ids], "threshold": t}} '
                f"({error})"
            ) from None
        except DeploymentError as error:
            raise DeploymentError(f'{source}: "{SECTION}": {error}') from None
