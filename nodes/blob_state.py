"""What the node knows about one blob id from chain events (pure; persisted as JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from backend.chain.registry import (
    BlobBurned,
    BlobCertified,
    BlobDeleted,
    BlobExtended,
    BlobInvalidated,
    BlobRegistered,
)

BlobEvent = (
    BlobRegistered | BlobCertified | BlobExtended | BlobDeleted | BlobBurned | BlobInvalidated
)
BLOB_EVENTS = (
    BlobRegistered,
    BlobCertified,
    BlobExtended,
    BlobDeleted,
    BlobBurned,
    BlobInvalidated,
)


@dataclass
class Registration:
    end_epoch: int
    deletable: bool
    certified: bool = False


@dataclass
class BlobRecord:
    """Live registrations (token id -> registration) and invalidation of one blob id."""

    registrations: dict[int, Registration] = field(default_factory=dict)
    invalidated: bool = False

    def apply(self, event: BlobEvent) -> None:
        if isinstance(event, BlobRegistered):
            self.registrations[event.token_id] = Registration(event.end_epoch, event.deletable)
        elif isinstance(event, BlobCertified):
            registration = self.registrations.setdefault(
                event.token_id, Registration(event.end_epoch, event.deletable)
            )
            registration.certified = True
            registration.end_epoch = event.end_epoch
        elif isinstance(event, BlobExtended):
            if event.token_id in self.registrations:
                self.registrations[event.token_id].end_epoch = event.end_epoch
        elif isinstance(event, BlobDeleted | BlobBurned):
            self.registrations.pop(event.token_id, None)
        else:
            self.invalidated = True

    def is_live(self, epoch: int) -> bool:
        """Registered, not invalidated, and some registration not expired."""
        return not self.invalidated and any(
            r.end_epoch > epoch for r in self.registrations.values()
        )

    def is_expired(self, epoch: int) -> bool:
        """Not deleted or invalidated, but every registration's end epoch has passed."""
        return (
            not self.invalidated
            and bool(self.registrations)
            and all(r.end_epoch <= epoch for r in self.registrations.values())
        )

    def is_certified(self, epoch: int) -> bool:
        return not self.invalidated and any(
            r.certified and r.end_epoch > epoch for r in self.registrations.values()
        )

    def to_json(self) -> bytes:
        registrations = {
            str(token): [r.end_epoch, r.deletable, r.certified]
            for token, r in self.registrations.items()
        }
        return json.dumps({"r": registrations, "i": self.invalidated}).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> BlobRecord:
        data: dict[str, Any] = json.loads(raw)
        registrations = {
            int(token): Registration(int(end), bool(deletable), bool(certified))
            for token, (end, deletable, certified) in data["r"].items()
        }
        return cls(registrations, bool(data["i"]))
