"""Node config files and key files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from backend.cli.main import cli
from nodes.config import NodeConfig, NodeConfigError, read_secret, write_secret


def _config(tmp_path: Path) -> NodeConfig:
    return NodeConfig(
        node_id=3,
        rpc_url="http://127.0.0.1:1",
        staking="0x" + "11" * 20,
        registry="0x" + "22" * 20,
        data_dir=str(tmp_path / "data"),
        bls_key_file=str(tmp_path / "bls.key"),
        operator_key_file=str(tmp_path / "operator.key"),
    )


def test_config_round_trips(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.save(tmp_path / "config.json")
    assert NodeConfig.load(tmp_path / "config.json") == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not readable JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"node_id": 1}', "missing"),
        ('{"node_id": 1, "colour": "red"}', "unexpected keyword"),
    ],
)
def test_bad_config_files_are_named_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(NodeConfigError, match=message):
        NodeConfig.load(path)


def test_non_integer_port_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(_config(tmp_path).to_json().replace('"port": 9100', '"port": "9100"'))
    with pytest.raises(NodeConfigError, match="port must be an integer"):
        NodeConfig.load(path)


def test_key_files_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "bls.key"
    write_secret(path, b"secret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_secret(path, "BLS key file") == b"secret"
    with pytest.raises(NodeConfigError, match=r"BLS key file .* not readable"):
        read_secret(tmp_path / "missing", "BLS key file")


def test_node_init_writes_the_challenges_address_it_is_given(tmp_path: Path) -> None:
    staking, registry, challenges = ("0x" + digit * 40 for digit in "123")
    args = ["node", "init", "--dir", str(tmp_path / "n"), "--staking", staking]
    args += ["--registry", registry, "--challenges", challenges]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "n" / "config.json").read_text())["challenges"] == challenges
