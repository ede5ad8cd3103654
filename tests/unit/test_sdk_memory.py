"""The client's malloc policy (backend/sdk/memory.py): an encode reuses the pages of its
temporaries instead of faulting fresh ones in, and gives the memory back afterwards.

Each check runs in a process of its own: mallopt settings are process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ENCODE_TWICE = """
import json, os, resource
from pathlib import Path
from backend.core.encoder import encode_streaming
from backend.sdk.memory import return_large_buffers_to_os, reusing_freed_memory

def rss_mib():
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def faults_of(encode):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    encode()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

assert return_large_buffers_to_os()
data = os.urandom(16 << 20)
encode = lambda: encode_streaming(data, 20, lambda _column, _parity: None)
encode()  # imports, code tables
plain = faults_of(encode)
rss_before = rss_mib()

def reusing():
    with reusing_freed_memory():
        with reusing_freed_memory():  # nested (two stores at once): one policy
            encode()
        encode()

reused = faults_of(reusing)
growth = rss_mib() - rss_before
print(json.dumps({"plain": plain, "reused_twice": reused, "rss_growth_mib": growth}))
"""


def run_child(code: str) -> dict[str, float]:
    answer = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    result: dict[str, float] = json.loads(answer.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_an_encode_reuses_its_temporaries_and_returns_the_memory_afterwards() -> None:
    result = run_child(ENCODE_TWICE)
    # a plain 16 MiB encode at n = 20 first-touches ~190 MiB of fresh temporaries (~48k
    # page faults); reusing freed memory, two encodes together fault a small fraction
    assert result["reused_twice"] < result["plain"] / 4, result
    # leaving the last block trims the heap: the reused temporaries do not stay resident
    assert result["rss_growth_mib"] < 3, result
