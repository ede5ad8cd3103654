"""Named errors of quilt building and parsing (all `CoreError`, i.e. `ValueError`)."""

from __future__ import annotations

from backend.core.errors import CoreError


class QuiltError(CoreError):
    """Base class of every quilt bad-input error."""


class InvalidIdentifier(QuiltError):
    """An empty, too long, or non-UTF-8 patch identifier."""


class DuplicateIdentifier(QuiltError):
    """Two files of one quilt share an identifier."""


class InvalidTags(QuiltError):
    """Tags that are not string keys and values, or too large."""


class TooManyPatches(QuiltError):
    """More files than one quilt holds (MAX_PATCHES)."""


class QuiltTooLarge(QuiltError):
    """The files do not fit one blob of this shard count even at the largest symbol size."""


class MalformedQuilt(QuiltError):
    """Bytes that are not a quilt index or patch of this format."""


class InvalidQuiltPatchId(QuiltError):
    """Text that is not a well-formed quilt patch id."""


class PatchNotFound(QuiltError):
    """No patch of the quilt has the identifier (or tag) asked for."""
