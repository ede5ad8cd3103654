"""Segmented XChaCha20-Poly1305 (the STREAM construction of age, Tink and libsodium's
secretstream) for Seal version-2 blobs, spread over the cores.

The plaintext is cut into ``segment_size`` pieces (the last one shorter, empty only when
the whole plaintext is empty); each is sealed on its own with nonce
``prefix (19) || u32 index (big-endian) || 1 if last else 0`` and the whole Seal header as
associated data. Reordering, duplicating or dropping segments changes an index, and
truncating at a segment boundary or appending one changes which segment carries the
last flag: every such change fails a tag. Decryption writes into one preallocated buffer
that is only handed out once every segment authenticated.

libsodium is called through pynacl's cffi module rather than ``nacl.bindings`` because the
bindings copy their input and their output (two extra passes over a 64 MiB blob); cffi
releases the GIL during the calls, so the worker threads run on separate cores (measured:
CPU time 1.85x wall time with 2 threads on 2 cores). Outputs are ``bytes`` objects created
uninitialised and filled before anyone else sees them (the C API's
``PyBytes_FromStringAndSize(NULL, n)`` idiom): ``bytearray(n)`` would first zero 64 MiB on
one core (0.04 s idle, 0.1-0.3 s at load 10), and ``bytes(bytearray)`` copy it again.
"""

from __future__ import annotations

import ctypes
import os
import struct
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from nacl import _sodium

from backend.core.seal.errors import SealError, SealTampered
from backend.core.seal.header import KEY_SIZE, NONCE_PREFIX_SIZE, TAG_SIZE

_ffi: Any = _sodium.ffi
_lib: Any = _sodium.lib
_INDEX_AND_FLAG: Final = struct.Struct(">IB")
MAX_SEGMENTS: Final = 1 << 32
PARALLEL_FROM_SEGMENTS: Final = 4
"""Fewer segments than this are sealed on the calling thread (threads cost more)."""
_new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
_new_bytes.restype = ctypes.py_object
_new_bytes.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)


def unfilled_bytes(size: int) -> bytes:
    """A new ``bytes`` of ``size`` bytes whose contents are not initialised: the caller must
    write every byte (through ``_ffi.from_buffer``) before handing it out. Large sizes are
    fresh pages from mmap, faulted in by whichever worker thread writes them."""
    made: bytes = _new_bytes(None, size)
    return made


def segment_nonce(prefix: bytes, index: int, last: bool) -> bytes:
    """The 24-byte XChaCha20 nonce of segment ``index``."""
    return prefix + _INDEX_AND_FLAG.pack(index, 1 if last else 0)


def segment_count(plaintext_size: int, segment_size: int) -> int:
    """Segments of a ``plaintext_size`` plaintext: at least one (an empty plaintext is one
    empty final segment)."""
    return max(1, -(-plaintext_size // segment_size))


def ciphertext_size(plaintext_size: int, segment_size: int) -> int:
    return plaintext_size + TAG_SIZE * segment_count(plaintext_size, segment_size)


def plaintext_size(ciphertext_size: int, segment_size: int) -> int:
    """The plaintext size behind ``ciphertext_size`` bytes of segments; SealTampered when no
    plaintext encrypts to that size (cut inside a tag, or an empty segment after others)."""
    sealed_segment = segment_size + TAG_SIZE
    count = max(1, -(-ciphertext_size // sealed_segment))
    last = ciphertext_size - (count - 1) * sealed_segment
    if last < TAG_SIZE or (last == TAG_SIZE and count > 1) or count > MAX_SEGMENTS:
        raise SealTampered(
            f"Seal blob ciphertext of {ciphertext_size} bytes is not a whole number of "
            f"{segment_size}-byte segments (truncated or extended)"
        )
    return ciphertext_size - TAG_SIZE * count


def _workers(count: int) -> int:
    if count < PARALLEL_FROM_SEGMENTS:
        return 1
    return max(1, min(count, os.cpu_count() or 1, 8))


def _in_parallel(count: int, work: Callable[[range], None]) -> None:
    """``work`` over contiguous index ranges covering ``range(count)``, one per core."""
    workers = _workers(count)
    if workers == 1:
        work(range(count))
        return
    bounds = [count * worker // workers for worker in range(workers + 1)]
    with ThreadPoolExecutor(workers, "seal-stream") as pool:
        for done in [pool.submit(work, range(bounds[i], bounds[i + 1])) for i in range(workers)]:
            done.result()


def encrypt(
    plaintext: bytes | bytearray | memoryview,
    *,
    key: bytes,
    prefix: bytes,
    segment_size: int,
    header: bytes,
) -> bytes:
    """``header`` followed by the sealed segments of ``plaintext`` (``header`` is the
    associated data of every segment)."""
    if len(key) != KEY_SIZE or len(prefix) != NONCE_PREFIX_SIZE:
        raise SealError("stream key must be 32 bytes and nonce prefix 19 bytes")
    size = len(plaintext)
    count = segment_count(size, segment_size)
    if count > MAX_SEGMENTS:
        raise SealError(f"plaintext too large for {segment_size}-byte segments")
    offset = len(header)
    out = unfilled_bytes(offset + size + TAG_SIZE * count)
    source = _ffi.from_buffer("unsigned char[]", plaintext)
    target = _ffi.from_buffer("unsigned char[]", out)
    ad = _ffi.from_buffer("unsigned char[]", header)
    _ffi.memmove(target, header, offset)

    def seal_range(indices: range) -> None:
        written = _ffi.new("unsigned long long *")
        for index in indices:
            start = index * segment_size
            length = min(segment_size, size - start)
            nonce = segment_nonce(prefix, index, index == count - 1)
            _lib.crypto_aead_xchacha20poly1305_ietf_encrypt(
                target + offset + index * (segment_size + TAG_SIZE),
                written,
                source + start,
                length,
                ad,
                offset,
                _ffi.NULL,
                nonce,
                key,
            )

    try:
        _in_parallel(count, seal_range)
    finally:
        for view in (source, target, ad):
            _ffi.release(view)
    return out


def decrypt(
    ciphertext: bytes | bytearray | memoryview,
    *,
    key: bytes,
    prefix: bytes,
    segment_size: int,
    associated_data: bytes,
) -> bytes:
    """The plaintext of sealed segments ``ciphertext``; SealTampered if any segment does not
    authenticate at its place (nothing is returned then, and the buffer is wiped)."""
    if len(key) != KEY_SIZE or len(prefix) != NONCE_PREFIX_SIZE:
        raise SealError("stream key must be 32 bytes and nonce prefix 19 bytes")
    sealed_size = len(ciphertext)
    size = plaintext_size(sealed_size, segment_size)
    count = segment_count(size, segment_size)
    out = unfilled_bytes(size)
    source = _ffi.from_buffer("unsigned char[]", ciphertext)
    target = _ffi.from_buffer("unsigned char[]", out)
    ad = _ffi.from_buffer("unsigned char[]", associated_data)
    failed: list[int] = []
    stop = threading.Event()

    def open_range(indices: range) -> None:
        written = _ffi.new("unsigned long long *")
        for index in indices:
            if stop.is_set():
                return
            start = index * (segment_size + TAG_SIZE)
            length = min(segment_size + TAG_SIZE, sealed_size - start)
            nonce = segment_nonce(prefix, index, index == count - 1)
            status = _lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
                target + index * segment_size,
                written,
                _ffi.NULL,
                source + start,
                length,
                ad,
                len(associated_data),
                nonce,
                key,
            )
            if status != 0:
                failed.append(index)
                stop.set()
                return

    try:
        _in_parallel(count, open_range)
        if failed:
            _lib.sodium_memzero(target, size)
    finally:
        for view in (source, target, ad):
            _ffi.release(view)
    if failed:
        raise SealTampered(
            f"Seal blob segment {min(failed)} of {count} does not authenticate "
            "(altered, moved, dropped, or wrong key)"
        )
    return out
