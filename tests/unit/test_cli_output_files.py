"""What `walrus read` and `walrus quilt read` consider unsafe to print to a terminal."""

from __future__ import annotations

import os

import pytest

from backend.cli.output_files import looks_binary


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"plain ascii\n",
        "caf\u00e9 \u2014 \u65e5\u672c\n\ttabbed\r\n".encode(),
        b"\x1b[1mbold\x1b[0m",  # ANSI colours are text a terminal shows
        b"a" * (64 << 10) + b"\x00",  # only the first 64 KiB decide
        ("x" * ((64 << 10) - 1) + "\u00e9").encode(),  # a character cut at the 64 KiB mark
    ],
)
def test_text_is_printed(data: bytes) -> None:
    assert not looks_binary(data)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00",
        b"text then a NUL\x00",
        b"latin-1 caf\xe9 is not UTF-8, here in the middle",
        b"DEL \x7f",
        os.urandom(4096),
    ],
)
def test_binary_is_refused(data: bytes) -> None:
    assert looks_binary(data)
