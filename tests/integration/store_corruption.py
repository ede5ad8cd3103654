"""Bit rot in a stopped node's store file, for the tests that check the node never serves
corrupted bytes and rebuilds them."""

from __future__ import annotations

import os
from pathlib import Path


def flip_every_copy(store_file: Path, needle: bytes) -> int:
    """XOR 16 bytes in the middle of every copy of `needle` in the file (LMDB is copy on
    write: stale copies may sit in freed pages, and corrupting only one could leave the live
    one intact); fsynced; returns the number of copies."""
    content = bytearray(store_file.read_bytes())
    copies = 0
    at = content.find(needle)
    while at >= 0:
        middle = at + len(needle) // 2
        content[middle : middle + 16] = bytes(b ^ 0xFF for b in content[middle : middle + 16])
        copies += 1
        at = content.find(needle, at + 1)
    with store_file.open("r+b") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    return copies
