"""Unverified slivers from the network become verified only if they match the metadata."""

import random

import numpy as np
import pytest

from backend.core.encoder import encode_blob
from backend.core.errors import InvalidSliver, SliverHashMismatch
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import (
    UnverifiedSliver,
    VerifiedSliver,
    verify_sliver,
    verify_slivers,
    verify_wire_sliver,
)

ENCODED = encode_blob(random.Random(5).randbytes(3000), 10)
METADATA = ENCODED.metadata


def test_every_honest_sliver_verifies_after_a_wire_round_trip() -> None:
    for sliver in ENCODED.primary_slivers + ENCODED.secondary_slivers:
        received = UnverifiedSliver.from_bytes(sliver.to_bytes())
        assert verify_sliver(METADATA, received) == sliver


def test_a_single_flipped_bit_is_rejected() -> None:
    for sliver in (ENCODED.primary_slivers[8], ENCODED.secondary_slivers[0]):
        data = bytearray(sliver.data)
        data[len(data) // 2] ^= 0x01
        tampered = UnverifiedSliver(sliver.kind, sliver.index, bytes(data))
        with pytest.raises(SliverHashMismatch, match=f"sliver {sliver.index} does not match"):
            verify_sliver(METADATA, tampered)


def test_an_honest_sliver_offered_under_another_index_is_rejected() -> None:
    sliver = ENCODED.primary_slivers[2]
    with pytest.raises(SliverHashMismatch):
        verify_sliver(METADATA, UnverifiedSliver(SliverKind.PRIMARY, 3, sliver.data))


def test_wrong_size_and_index_are_named_errors() -> None:
    data = ENCODED.primary_slivers[0].data
    with pytest.raises(InvalidSliver, match=f"must be {len(data)} bytes, got {len(data) - 1}"):
        verify_sliver(METADATA, UnverifiedSliver(SliverKind.PRIMARY, 0, data[:-1]))
    with pytest.raises(InvalidSliver, match=r"index 10 out of range \[0, 10\)"):
        verify_sliver(METADATA, UnverifiedSliver(SliverKind.PRIMARY, 10, data))
    with pytest.raises(InvalidSliver, match="must be"):  # primary-sized data as a secondary
        verify_sliver(METADATA, UnverifiedSliver(SliverKind.SECONDARY, 0, data))
    with pytest.raises(InvalidSliver, match="at least 5 bytes"):
        UnverifiedSliver.from_bytes(b"\x00")
    with pytest.raises(InvalidSliver, match="0 \\(primary\\) or 1 \\(secondary\\), got 7"):
        UnverifiedSliver.from_bytes(b"\x07" + bytes(10))
    assert SliverKind.parse("secondary") is SliverKind.SECONDARY
    with pytest.raises(InvalidSliver, match="'primary' or 'secondary'"):
        SliverKind.parse("tertiary")


def test_batch_verification_can_skip_bad_slivers() -> None:
    good = [s.to_unverified() for s in ENCODED.primary_slivers[:3]]
    bad = UnverifiedSliver(SliverKind.PRIMARY, 4, bytes(len(good[0].data)))
    short = UnverifiedSliver(SliverKind.PRIMARY, 5, b"")
    kept = verify_slivers(METADATA, [*good, bad, short], skip_invalid=True)
    assert [s.index for s in kept] == [0, 1, 2]
    with pytest.raises(SliverHashMismatch):
        verify_slivers(METADATA, [*good, bad])


def test_a_wire_sliver_verifies_in_place_like_a_copied_one() -> None:
    for sliver in (ENCODED.primary_slivers[8], ENCODED.secondary_slivers[3]):
        for wire in (sliver.to_bytes(), memoryview(bytearray(sliver.to_bytes()))):
            verified = verify_wire_sliver(METADATA, wire)
            assert verified == sliver
            assert np.shares_memory(verified.symbols, np.frombuffer(wire, dtype=np.uint8))
            with pytest.raises(ValueError, match="read-only"):
                verified.symbols[0, 0] ^= 1
        tampered = bytearray(sliver.to_bytes())
        tampered[-1] ^= 0x80
        with pytest.raises(SliverHashMismatch, match=f"sliver {sliver.index} does not match"):
            verify_wire_sliver(METADATA, bytes(tampered))
    wire = ENCODED.primary_slivers[0].to_bytes()
    with pytest.raises(InvalidSliver, match="must be"):
        verify_wire_sliver(METADATA, wire[:-1])
    with pytest.raises(InvalidSliver, match="at least 5 bytes"):
        verify_wire_sliver(METADATA, wire[:4])
    with pytest.raises(InvalidSliver, match="got 7"):
        verify_wire_sliver(METADATA, b"\x07" + wire[1:])


def test_verified_slivers_are_read_only_and_not_constructible() -> None:
    sliver = ENCODED.primary_slivers[0]
    with pytest.raises(ValueError, match="read-only"):
        sliver.symbols[0, 0] = 1
    with pytest.raises(TypeError, match="verify"):
        VerifiedSliver(METADATA, SliverKind.PRIMARY, 0, sliver.symbols, object())


def test_pairs_hold_primary_i_and_secondary_n_minus_1_minus_i() -> None:
    primary, secondary = ENCODED.sliver_pair(3)
    assert (primary.index, secondary.index) == (3, 6)
    assert primary.pair_index == secondary.pair_index == 3


def test_kind_given_as_wire_byte_or_word_is_accepted_and_bad_ones_named() -> None:
    sliver = ENCODED.secondary_slivers[1]
    assert verify_sliver(METADATA, UnverifiedSliver(1, 1, sliver.data)) == sliver  # type: ignore[arg-type]
    assert UnverifiedSliver("primary", 0, b"").kind is SliverKind.PRIMARY  # type: ignore[arg-type]
    with pytest.raises(InvalidSliver, match="got 2"):
        UnverifiedSliver(2, 0, b"")  # type: ignore[arg-type]
    with pytest.raises(InvalidSliver, match="integer"):
        UnverifiedSliver(SliverKind.PRIMARY, "0", b"")  # type: ignore[arg-type]


def _tampered(sliver: VerifiedSliver, at: int) -> UnverifiedSliver:
    data = bytearray(sliver.data)
    data[at] ^= 0x80
    return UnverifiedSliver(sliver.kind, sliver.index, bytes(data))


# odd row counts (lone rows hashed alone), partial SHA blocks, batches over the 1 MiB thread
# split, slivers batched (stacked) and coded one by one (>= 256 KiB), both codes
@pytest.mark.parametrize(
    ("size", "n", "code"),
    [(200_000, 4, 2), (2_000_000, 20, 2), (2_000_000, 4, 2), (9000, 7, 1), (900_000, 7, 1)],
)
def test_one_by_one_batched_and_pure_python_verification_agree(
    monkeypatch: pytest.MonkeyPatch, size: int, n: int, code: int
) -> None:
    from backend.core import merkle, rs
    from backend.core.encoding_types import EncodingType

    encoded = encode_blob(random.Random(size).randbytes(size), n, EncodingType(code))
    metadata = encoded.metadata
    slivers = [*encoded.primary_slivers, *encoded.secondary_slivers]
    wire = [s.to_unverified() for s in slivers]
    bad = [_tampered(encoded.primary_slivers[1], -1), _tampered(encoded.secondary_slivers[0], 0)]

    def check() -> None:
        assert [verify_sliver(metadata, s) for s in wire] == slivers
        assert verify_slivers(metadata, wire) == slivers
        for tampered in bad:
            with pytest.raises(SliverHashMismatch, match=f"sliver {tampered.index} does not"):
                verify_sliver(metadata, tampered)
        kept = verify_slivers(metadata, [*wire[:2], *bad], skip_invalid=True)
        assert kept == slivers[:2]

    check()
    monkeypatch.setattr(merkle, "_native_digests", None)  # hashlib, numpy layout: same answers
    monkeypatch.setattr(rs, "_native_to_layout", None)
    monkeypatch.setattr(rs, "_native_from_layout", None)
    check()
