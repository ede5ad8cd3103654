"""Large buffers go back to the OS when they are freed, so the client's RSS follows the
data it really holds.

glibc serves an allocation above its *dynamic* mmap threshold with mmap, and freeing such
a block raises the threshold (up to 32 MiB): from then on sliver-sized buffers come from
per-thread heaps, which keep freed memory for reuse by their own thread only. With 32
request threads a 64 MiB read at n = 20 peaked at 3.9x the blob instead of 1.6x, a 16 MiB
read at 5.1x instead of 1.8x (docs/benchmarks.md). Fixing the threshold at 1 MiB (what the
environment variable MALLOC_MMAP_THRESHOLD_=1048576 does) keeps such buffers mmapped.
"""

from __future__ import annotations

import ctypes
import os
import threading

M_MMAP_THRESHOLD = -3
"""mallopt parameter number (glibc malloc.h)."""
LARGE_BUFFER_BYTES = 1 << 20
ENVIRONMENT_SETTING = "MALLOC_MMAP_THRESHOLD_"

_lock = threading.Lock()
_applied = False


def return_large_buffers_to_os() -> bool:
    """Fix glibc's mmap threshold at LARGE_BUFFER_BYTES for this process, once; False
    where there is no glibc mallopt, or when the environment already sets the threshold."""
    global _applied
    with _lock:
        if _applied:
            return True
        if os.environ.get(ENVIRONMENT_SETTING) is not None:
            return False
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):
            return False
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt.restype = ctypes.c_int
        _applied = bool(mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES))
        return _applied
