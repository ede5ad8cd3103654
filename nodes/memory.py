"""Keep freed heap memory at hand between sliver PUTs instead of returning it to the OS.

A 1 MiB sliver PUT allocates a few MiB of temporaries (body, RS expansion, hashes) and frees
them; glibc trims the heap top back to the OS after each request, so the next request
page-faults the same memory in again: ~1-4 ms of a ~3-7 ms PUT on the 2-core bench machine
(docs/benchmarks.md, "Storage node"). A 64 MiB top pad keeps it: 1 MiB PUT p50 7.09 ->
2.95 ms there (quiet machine). The cost is up to that much idle memory per malloc arena.
An operator's own ``MALLOC_TOP_PAD_`` (e.g. 0 to turn this off) is left alone.
"""

from __future__ import annotations

import ctypes
import os

M_TOP_PAD = -2
"""mallopt parameter number (glibc malloc.h)."""
TOP_PAD_BYTES = 64 << 20
ENVIRONMENT_SETTING = "MALLOC_TOP_PAD_"


def keep_freed_heap_memory() -> bool:
    """Set glibc's top pad to TOP_PAD_BYTES for this process; False where there is no glibc
    mallopt or the environment already chose a value."""
    if os.environ.get(ENVIRONMENT_SETTING) is not None:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_TOP_PAD, TOP_PAD_BYTES))
