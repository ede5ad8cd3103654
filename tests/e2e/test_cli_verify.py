"""`walrus verify` as a user runs it: exit 0 only when the blob is available."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.e2e.test_cli_store_read import cli_env, one_line_error, run

__all__ = ["cli_env"]


def test_verify_a_stored_blob_then_its_deletion(cli_env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "verified.bin"
    source.write_bytes(os.urandom(2048))
    stored = run("store", str(source), "--deletable", "--json", env=cli_env)
    assert stored.returncode == 0, stored.stderr.decode()
    result = json.loads(stored.stdout)

    human = run("verify", result["blob_id"], "--deep", env=cli_env)
    assert human.returncode == 0, human.stderr.decode()
    text = human.stdout.decode()
    assert "certificate verified locally" in text and text.strip().endswith("AVAILABLE")

    as_json = run("verify", str(result["token_id"]), "--json", env=cli_env)
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert report["available"] is True and report["blob_id"] == result["blob_id"]

    assert run("delete", str(result["token_id"]), env=cli_env).returncode == 0
    gone = run("verify", result["blob_id"], "--json", env=cli_env)
    assert gone.returncode == 1
    assert json.loads(gone.stdout)["state"] == "deleted"


def test_verify_rejects_garbage_in_one_line(cli_env: dict[str, str]) -> None:
    assert "neither a token id" in one_line_error(run("verify", "garbage", env=cli_env))
