"""A private token: only `backend.core` code that has checked data can build Verified* values."""

from __future__ import annotations

from typing import Final


class _Seal:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<verified>"


SEAL: Final = _Seal()


def check_seal(seal: object, type_name: str) -> None:
    if seal is not SEAL:
        raise TypeError(
            f"{type_name} is built by backend.core after verification; "
            "use the verify functions instead of constructing it"
        )
