"""Large buffers go back to the OS when they are freed, so the client's RSS follows the
data it really holds.

glibc serves an allocation above its *dynamic* mmap threshold with mmap, and freeing such
a block raises the threshold (up to 32 MiB): from then on sliver-sized buffers come from
per-thread heaps, which keep freed memory for reuse by their own thread only. With 32
request threads a 64 MiB read at n = 20 peaked at 3.9x the blob instead of 1.6x, a 16 MiB
read at 5.1x instead of 1.8x (docs/benchmarks.md). Fixing the threshold at 1 MiB (what the
environment variable MALLOC_MMAP_THRESHOLD_=1048576 does) keeps such buffers mmapped.

The encoder is the opposite case: it allocates and frees a few MiB of RS temporaries
hundreds of times per blob (each a fresh mmap under that rule, or heap that the trim gives
back at once), and first-touching them again cost 0.5-0.6 s of system time per 64 MiB
store at n = 20 on the 2-core VM, twice the encoding itself. `reusing_freed_memory()`
keeps freed memory in the heap while an encode runs, so the temporaries reuse the same
pages, and gives it back (malloc_trim) when the last encode ends.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""mallopt parameter numbers (glibc malloc.h)."""
LARGE_BUFFER_BYTES = 1 << 20
ENVIRONMENT_SETTING = "MALLOC_MMAP_THRESHOLD_"
TRIM_ENVIRONMENT_SETTING = "MALLOC_TRIM_THRESHOLD_"
DEFAULT_TRIM_THRESHOLD = 128 << 10
"""glibc's default; its dynamic adjustment is off once the mmap threshold is fixed."""
REUSED_BUFFER_BYTES = 4 << 20
"""While reusing, blocks below this (the encoder's temporaries) come from the heap; larger
ones (the blob-sized parity an upload keeps) are still mmapped and leave with their owner."""
NEVER_TRIM = 1 << 30

_lock = threading.Lock()
_applied = False
_reusers = 0


@cache
def _libc_function(name: str, *argtypes: type) -> Callable[..., int] | None:
    try:
        function = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


def _mallopt() -> Callable[[int, int], int] | None:
    return _libc_function("mallopt", ctypes.c_int, ctypes.c_int)


def return_large_buffers_to_os() -> bool:
    """Fix glibc's mmap threshold at LARGE_BUFFER_BYTES for this process, once; False
    where there is no glibc mallopt, or when the environment already sets the threshold."""
    global _applied
    with _lock:
        if _applied:
            return True
        if os.environ.get(ENVIRONMENT_SETTING) is not None:
            return False
        mallopt = _mallopt()
        if mallopt is None:
            return False
        _applied = bool(mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES))
        return _applied


def _trim_threshold() -> int:
    try:
        return int(os.environ.get(TRIM_ENVIRONMENT_SETTING, DEFAULT_TRIM_THRESHOLD))
    except ValueError:
        return DEFAULT_TRIM_THRESHOLD


@contextmanager
def reusing_freed_memory() -> Iterator[None]:
    """Within this block (process-wide, while any thread is inside one) freed blocks under
    REUSED_BUFFER_BYTES stay in the heap for the next allocation; when the last thread
    leaves, the rule of `return_large_buffers_to_os` is back and free heap memory of every
    arena goes back to the OS. Does nothing where that rule is not in force (no glibc, or
    the environment chose its own threshold)."""
    global _reusers
    mallopt = _mallopt()
    with _lock:
        active = _applied and mallopt is not None
        if active and mallopt is not None:
            if _reusers == 0:
                mallopt(M_TRIM_THRESHOLD, NEVER_TRIM)
                mallopt(M_MMAP_THRESHOLD, REUSED_BUFFER_BYTES)
            _reusers += 1
    try:
        yield
    finally:
        if active and mallopt is not None:
            with _lock:
                _reusers -= 1
                if _reusers == 0:
                    mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES)
                    mallopt(M_TRIM_THRESHOLD, _trim_threshold())
                    trim = _libc_function("malloc_trim", ctypes.c_size_t)
                    if trim is not None:
                        trim(0)
