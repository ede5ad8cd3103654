from collections.abc import Sequence

from typing_extensions import Buffer

ENGINE: str
"""Which engine `prefixed_digests` uses on this CPU: "sha-ni-2way" or "openssl"."""

def prefixed_digests(prefix: int, data: Buffer, item_size: int, out: Buffer) -> None: ...
def prefixed_digests_openssl(prefix: int, data: Buffer, item_size: int, out: Buffer) -> None: ...
def prefixed_digests_of(
    prefix: int, parts: Sequence[Buffer], item_size: int, out: Buffer
) -> None: ...

class DigestJob:
    """`prefixed_digests_of` running on the module's worker thread (it never takes the GIL)."""

    def wait(self) -> None:
        """Return once every digest is in `out`; hashes them here if the worker has not
        started on them yet."""

def start_prefixed_digests_of(
    prefix: int, parts: Sequence[Buffer], item_size: int, out: Buffer
) -> DigestJob: ...
def merkle_roots(leaves: Buffer, trees: int, width: int, padding: Buffer, out: Buffer) -> None: ...
