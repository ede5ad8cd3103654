"""Seal key server (`walrus keyserver run`): releases its share of a blob's data key to a
requester the blob's policy contract approves (docs/seal.md)."""
