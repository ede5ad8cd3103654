"""nodes/memory.py: the node keeps freed heap memory unless the operator chose otherwise."""

from __future__ import annotations

import subprocess
import sys

PROBE = "import nodes.memory as m; print(m.keep_freed_heap_memory())"


def run_probe(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_top_pad_is_set_on_glibc_and_an_operator_setting_wins() -> None:
    assert run_probe({}) == "True"  # this machine's Python runs on glibc
    assert run_probe({"MALLOC_TOP_PAD_": "0"}) == "False"
