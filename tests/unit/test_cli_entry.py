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


def test_a_blob_id_starting_with_a_dash_gets_a_hint_instead_of_no_such_option() -> None:
    from click.testing import CliRunner

    from backend.cli.main import cli

    blob_id = "-" + "A" * 42
    result = CliRunner().invoke(cli, ["blob-status", blob_id])
    assert result.exit_code == 2
    expected = f"after the options and --, e.g. `walrus blob-status [OPTIONS] -- {blob_id}`"
    assert expected in result.output
    typo = CliRunner().invoke(cli, ["read", "--bogus", "x"])
    assert "No such option '--bogus'" in typo.output  # other unknown options unchanged
