"""A CLI user who runs a command without a chain: the message says how to get one when the
URL was the devnet default, and stays the plain error for a URL they gave."""

from __future__ import annotations

import pytest

import backend.sdk.config as config
from backend.chain.devnet import free_port
from backend.chain.errors import ChainUnreachable
from backend.sdk.config import RPC_URL_ENV, ClientSettings, load_client


def test_the_devnet_default_unreachable_says_make_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RPC_URL_ENV, raising=False)
    monkeypatch.setattr(config, "read_state", lambda: None)  # no devnet recorded
    monkeypatch.setattr(config, "DEFAULT_PORT", free_port())  # nothing listens there
    with pytest.raises(ChainUnreachable) as unreachable:
        load_client(ClientSettings())
    message = str(unreachable.value)
    assert "is the devnet running? Start it with `make up`" in message
    assert "\n" not in message


def test_a_given_url_unreachable_has_no_devnet_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnreachable) as unreachable:
        load_client(ClientSettings(rpc_url=url))
    assert url in str(unreachable.value) and "make up" not in str(unreachable.value)
