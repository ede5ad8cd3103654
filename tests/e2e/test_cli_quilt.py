"""`walrus store-quilt | read-quilt | list-patches-in-quilt` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from tests.e2e.test_cli_store_read import one_line_error, run
from tests.integration.network import Network
from tests.integration.test_sdk_store_read import publish_node_urls


@pytest.fixture(scope="module")
def env(
    network: Network, artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    publish_node_urls(network)
    deployment = Deployment(
        chain_id=network.user.chain_id,
        deploy_block=0,
        abi_hash=artifacts.abi_hash,
        contracts={
            "WAL": network.env.wal.address,
            "Staking": network.env.staking.address,
            "BlobRegistry": network.env.registry.address,
        },
    )
    deployment_file = tmp_path_factory.mktemp("cli-quilt") / "deployment.json"
    deployment_file.write_text(json.dumps(deployment.to_json()))
    account = network.user.account
    assert account is not None
    return {
        **os.environ,
        "WALRUS_RPC_URL": network.user.rpc_url,
        "WALRUS_DEPLOYMENT": str(deployment_file),
        "WALRUS_PRIVATE_KEY": bytes(account.key).hex(),
    }


def json_of(result: subprocess.CompletedProcess[bytes]) -> Any:
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_store_list_and_read_patches(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "site"
    (folder / "img").mkdir(parents=True)
    (folder / "index.html").write_bytes(b"<h1>hello</h1>")
    (folder / "img" / "logo.svg").write_bytes(b"<svg/>" * 50)
    single = tmp_path / "readme.txt"
    single.write_bytes(b"read me")
    stored = json_of(
        run("store-quilt", str(folder), str(single), "--tag", "site=demo", "--json", env=env)
    )
    assert isinstance(stored, dict)
    (quilt,) = stored["quilts"]
    ids = {p["identifier"]: p["patch_id"] for p in quilt["patches"]}
    assert sorted(ids) == ["img/logo.svg", "index.html", "readme.txt"]

    by_patch = run("read-quilt", "--", ids["img/logo.svg"], env=env)
    assert by_patch.returncode == 0 and by_patch.stdout == b"<svg/>" * 50
    by_name = run("read-quilt", "--identifier", "readme.txt", "--", quilt["blob_id"], env=env)
    assert by_name.stdout == b"read me"

    listed = json_of(run("list-patches-in-quilt", "--json", "--", quilt["blob_id"], env=env))
    assert {p["identifier"]: p["patch_id"] for p in listed} == ids
    assert all(p["tags"] == {"site": "demo"} for p in listed)

    out = tmp_path / "out"
    tagged = run(
        "read-quilt", "--tag", "site=demo", "--out", str(out), "--", quilt["blob_id"], env=env
    )
    assert tagged.returncode == 0, tagged.stderr
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "logo.svg", "readme.txt"]


def test_batch_stores_a_directory_and_a_rerun_pays_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "creds"
    folder.mkdir()
    for i in range(40):
        (folder / f"{i:03d}.json").write_text(json.dumps({"id": i, "pad": "x" * (i * 7)}))
    first = json_of(
        run("store-quilt", "--batch", str(folder), "--max-quilt-bytes", "4096", "--json", env=env)
    )
    assert first["files"] == 40 and first["skipped_files"] == 0 and first["cost"] > 0
    assert len(first["quilts"]) >= 2
    assert (folder / ".walrus-quilt-manifest.jsonl").exists()
    again = json_of(
        run("store-quilt", "--batch", str(folder), "--max-quilt-bytes", "4096", "--json", env=env)
    )
    assert again["skipped_files"] == 40 and again["cost"] == 0
    a_quilt = first["quilts"][0]
    name = a_quilt["first"]
    read = run("read-quilt", "--identifier", name, "--", a_quilt["blob_id"], env=env)
    assert read.stdout == (folder / name).read_bytes()


def test_bad_input_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    assert "66 characters" in one_line_error(run("read-quilt", "abc", env=env))
    assert "file not found" in one_line_error(run("store-quilt", str(tmp_path / "no"), env=env))
    blob_id = "A" * 42 + "E"
    assert "--identifier" in one_line_error(run("read-quilt", "--", blob_id, env=env))
    assert "KEY=VALUE" in one_line_error(
        run("store-quilt", str(tmp_path), "--tag", "novalue", env=env)
    )
    twice = tmp_path / "twice"
    (twice / "a").mkdir(parents=True)
    (twice / "a" / "x").write_bytes(b"1")
    (twice / "b").mkdir()
    (twice / "b" / "x").write_bytes(b"2")
    duplicate = run("store-quilt", str(twice / "a" / "x"), str(twice / "b" / "x"), env=env)
    assert "'x' appears twice" in one_line_error(duplicate)
    assert "--batch takes exactly one directory" in one_line_error(
        run("store-quilt", "--batch", str(twice / "a" / "x"), env=env)
    )
