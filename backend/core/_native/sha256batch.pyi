from collections.abc import Sequence

from typing_extensions import Buffer

ENGINE: str
"""Which engine `prefixed_digests` uses on this CPU: "sha-ni-2way" or "openssl"."""

def prefixed_digests(prefix: int, data: Buffer, item_size: int, out: Buffer) -> None: ...
def prefixed_digests_openssl(prefix: int, data: Buffer, item_size: int, out: Buffer) -> None: ...
def prefixed_digests_of(
    prefix: int, parts: Sequence[Buffer], item_size: int, out: Buffer
) -> None: ...
