"""`walrus store-quilt | read-quilt | list-patches-in-quilt` as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.e2e.cli_harness import cli_env, one_line_error, run

__all__ = ["cli_env"]  # the module fixture, used here by name


def json_of(result: subprocess.CompletedProcess[bytes]) -> Any:
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_store_list_and_read_patches(cli_env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "site"
    (folder / "img").mkdir(parents=True)
    (folder / "index.html").write_bytes(b"<h1>hello</h1>")
    (folder / "img" / "logo.svg").write_bytes(b"<svg/>" * 50)
    single = tmp_path / "readme.txt"
    single.write_bytes(b"read me")
    stored = json_of(
        run("store-quilt", str(folder), str(single), "--tag", "site=demo", "--json", env=cli_env)
    )
    assert isinstance(stored, dict)
    (quilt,) = stored["quilts"]
    ids = {p["identifier"]: p["patch_id"] for p in quilt["patches"]}
    assert sorted(ids) == ["img/logo.svg", "index.html", "readme.txt"]

    by_patch = run("read-quilt", "--", ids["img/logo.svg"], env=cli_env)
    assert by_patch.returncode == 0 and by_patch.stdout == b"<svg/>" * 50
    by_name = run("read-quilt", "--identifier", "readme.txt", "--", quilt["blob_id"], env=cli_env)
    assert by_name.stdout == b"read me"

    listed = json_of(run("list-patches-in-quilt", "--json", "--", quilt["blob_id"], env=cli_env))
    assert {p["identifier"]: p["patch_id"] for p in listed} == ids
    assert all(p["tags"] == {"site": "demo"} for p in listed)

    out = tmp_path / "out"
    tagged = run(
        "read-quilt", "--tag", "site=demo", "--out", str(out), "--", quilt["blob_id"], env=cli_env
    )
    assert tagged.returncode == 0, tagged.stderr
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "logo.svg", "readme.txt"]


def test_batch_stores_a_directory_and_a_rerun_pays_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "creds"
    folder.mkdir()
    for i in range(40):
        (folder / f"{i:03d}.json").write_text(json.dumps({"id": i, "pad": "x" * (i * 7)}))
    batch = ("store-quilt", "--batch", str(folder), "--max-quilt-bytes", "4096", "--json")
    first = json_of(run(*batch, env=cli_env))
    assert first["files"] == 40 and first["skipped_files"] == 0 and first["cost"] > 0
    assert len(first["quilts"]) >= 2
    assert (folder / ".walrus-quilt-manifest.jsonl").exists()
    again = json_of(run(*batch, env=cli_env))
    assert again["skipped_files"] == 40 and again["cost"] == 0
    a_quilt = first["quilts"][0]
    name = a_quilt["first"]
    read = run("read-quilt", "--identifier", name, "--", a_quilt["blob_id"], env=cli_env)
    assert read.stdout == (folder / name).read_bytes()


def test_bad_input_is_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert "66 characters" in one_line_error(run("read-quilt", "abc", env=cli_env))
    assert "file not found" in one_line_error(run("store-quilt", str(tmp_path / "no"), env=cli_env))
    blob_id = "A" * 42 + "E"
    assert "--identifier" in one_line_error(run("read-quilt", "--", blob_id, env=cli_env))
    assert "KEY=VALUE" in one_line_error(
        run("store-quilt", str(tmp_path), "--tag", "novalue", env=cli_env)
    )
    twice = tmp_path / "twice"
    (twice / "a").mkdir(parents=True)
    (twice / "a" / "x").write_bytes(b"1")
    (twice / "b").mkdir()
    (twice / "b" / "x").write_bytes(b"2")
    duplicate = run("store-quilt", str(twice / "a" / "x"), str(twice / "b" / "x"), env=cli_env)
    assert "'x' appears twice" in one_line_error(duplicate)
    assert "--batch takes exactly one directory" in one_line_error(
        run("store-quilt", "--batch", str(twice / "a" / "x"), env=cli_env)
    )
