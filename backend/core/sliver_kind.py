"""Primary or secondary: the two kinds of sliver."""

from __future__ import annotations

from enum import IntEnum

from backend.core.errors import InvalidSliver


class SliverKind(IntEnum):
    """Primary slivers are rows of E (s source symbols), secondary slivers columns (p)."""

    PRIMARY = 0
    SECONDARY = 1

    @property
    def other(self) -> SliverKind:
        return SliverKind.SECONDARY if self is SliverKind.PRIMARY else SliverKind.PRIMARY

    @classmethod
    def parse(cls, value: int | str) -> SliverKind:
        """From the wire byte (0/1) or the URL word ("primary"/"secondary")."""
        if isinstance(value, str):
            try:
                return cls[value.upper()]
            except KeyError:
                raise InvalidSliver(
                    f"sliver kind must be 'primary' or 'secondary', got {value!r}"
                ) from None
        try:
            return cls(value)
        except ValueError:
            raise InvalidSliver(
                f"sliver kind must be 0 (primary) or 1 (secondary), got {value}"
            ) from None
