"""Files the CLI writes for the user (`--out`): a target that cannot be written is one line,
checked before anything is fetched, instead of an OSError traceback after the download."""

from __future__ import annotations

import sys
from pathlib import Path

import click

_TEXT_CONTROLS = frozenset(b"\t\n\r\x0c\x1b")  # tab, newlines, form feed, ANSI colours


def check_output_file(path: Path) -> None:
    """Refuse an `--out` file whose directory does not exist, or that is a directory."""
    if path.is_dir():
        raise click.ClickException(f"cannot write {path}: it is a directory; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise click.ClickException(f"cannot write {path}: directory {parent} does not exist")


def check_output_directory(path: Path) -> None:
    """Refuse an `--out` directory that is an existing file."""
    if path.exists() and not path.is_dir():
        raise click.ClickException(f"cannot write into {path}: it is a file, not a directory")


def write_output_file(path: Path, data: bytes) -> None:
    """Write `data` to `path`; a refusal (permissions, full disk) is one line."""
    try:
        path.write_bytes(data)
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from None


def make_output_directory(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(
            f"cannot create directory {path}: {error.strerror or error}"
        ) from None


def looks_binary(data: bytes) -> bool:
    """Whether `data` would garble a terminal: not UTF-8, or control bytes other than
    whitespace (the first 64 KiB decide, like `file` and git)."""
    head = data[: 64 << 10]
    if any(byte < 0x20 and byte not in _TEXT_CONTROLS for byte in head) or 0x7F in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start < len(head) - 3  # a character cut at the 64 KiB mark is text
    return False


def write_to_stdout(data: bytes, what: str) -> None:
    """Write `data` (`what`: e.g. "blob X") to stdout, unless stdout is a terminal and the
    data is binary: then refuse in one line, as curl does, instead of garbling the terminal."""
    if sys.stdout.isatty() and looks_binary(data):
        raise click.ClickException(
            f"{what} is {len(data)} bytes of binary data, not written to the terminal: "
            "use --out FILE or redirect the output (> FILE)"
        )
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
