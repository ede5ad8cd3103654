"""Errors of the indexer; the CLI prints them as one line, the API as 4xx/503 JSON."""

from __future__ import annotations


class IndexerError(Exception):
    """Base class of the indexer's errors."""


class IndexDatabaseUnreachable(IndexerError):
    """The database URL is malformed, or its server cannot be reached or opened."""


class IndexDatabaseMismatch(IndexerError):
    """The database already indexes another chain or registry contract."""


class InvalidIndexQuery(IndexerError):
    """A malformed query parameter of `GET /v1/index/...` (answered with 400)."""
