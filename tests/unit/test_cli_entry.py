"""The installed `walrus` console script starts and rejects unknown verbs clearly."""

import subprocess
import sys
from pathlib import Path

WALRUS = Path(sys.executable).parent / "walrus"


def test_walrus_help_lists_usage() -> None:
    out = subprocess.run([str(WALRUS), "--help"], capture_output=True, text=True, check=True)
    assert "Usage: walrus" in out.stdout


def test_unknown_command_is_one_clear_line_and_exit_2() -> None:
    out = subprocess.run([str(WALRUS), "no-such-verb"], capture_output=True, text=True)
    assert out.returncode == 2
    assert "No such command 'no-such-verb'" in out.stderr
    assert "Traceback" not in out.stderr
