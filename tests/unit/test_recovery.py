"""Rebuilding one sliver from the minimum number of proven symbols of other slivers."""

import random

import pytest

from backend.core.encoder import EncodedBlob, encode_blob
from backend.core.encoding_types import EncodingType
from backend.core.errors import InvalidRecoverySymbol, NotEnoughRecoverySymbols
from backend.core.merkle import MerkleProof
from backend.core.recovery import recover_primary, recover_secondary
from backend.core.recovery_symbols import (
    RecoverySymbol,
    VerifiedRecoverySymbol,
    recovery_symbol,
    recovery_symbols,
    verify_recovery_symbol,
)


def _symbols_for_primary(
    encoded: EncodedBlob, target: int, helpers: list[int]
) -> list[VerifiedRecoverySymbol]:
    n = encoded.metadata.n_shards
    return [
        verify_recovery_symbol(
            encoded.metadata,
            RecoverySymbol.from_bytes(
                recovery_symbol(encoded.secondary_slivers[j], target).to_bytes(), n
            ),
        )
        for j in helpers
    ]


@pytest.mark.parametrize("encoding_type", list(EncodingType))
@pytest.mark.parametrize("n", [4, 10, 13])
def test_every_sliver_index_recovers_from_a_random_minimal_set(
    n: int, encoding_type: EncodingType
) -> None:
    rng = random.Random(n)
    encoded = encode_blob(rng.randbytes(1500), n, encoding_type)
    metadata, params = encoded.metadata, encoded.metadata.params
    # every helper sliver serves all targets at once (one expansion per helper)
    by_secondary = {j: recovery_symbols(encoded.secondary_slivers[j], range(n)) for j in range(n)}
    by_primary = {i: recovery_symbols(encoded.primary_slivers[i], range(n)) for i in range(n)}
    for index in range(n):
        helpers = rng.sample(range(n), params.s)
        symbols = [verify_recovery_symbol(metadata, by_secondary[j][index]) for j in helpers]
        assert recover_primary(metadata, index, symbols) == encoded.primary_slivers[index]
        helpers = rng.sample(range(n), params.p)
        symbols = [verify_recovery_symbol(metadata, by_primary[i][index]) for i in helpers]
        assert recover_secondary(metadata, index, symbols) == encoded.secondary_slivers[index]


@pytest.mark.parametrize("n", [257, 1000])
def test_recovery_in_large_committees(n: int) -> None:
    rng = random.Random(n)
    encoded = encode_blob(rng.randbytes(3000), n, EncodingType.RS_GF65536_LEOPARD)
    params = encoded.metadata.params
    target = n - 1
    helpers = rng.sample(range(n), params.s)
    symbols = _symbols_for_primary(encoded, target, helpers)
    assert recover_primary(encoded.metadata, target, symbols) == encoded.primary_slivers[target]
    # bandwidth: s symbols of one symbol size each, i.e. one primary sliver's worth
    assert sum(len(s.symbol.data) for s in symbols) == len(encoded.primary_slivers[target].data)


def test_one_symbol_short_is_a_clear_error() -> None:
    encoded = encode_blob(b"recover me" * 50, 10)
    symbols = _symbols_for_primary(encoded, 2, list(range(6)))  # s = 7
    with pytest.raises(NotEnoughRecoverySymbols, match=r"needs 7 symbols .* got 6"):
        recover_primary(encoded.metadata, 2, symbols)
    doubled = symbols + symbols[:1]  # a repeated helper does not count twice
    with pytest.raises(NotEnoughRecoverySymbols, match="got 6"):
        recover_primary(encoded.metadata, 2, doubled)


def test_forged_or_misdirected_symbols_are_rejected() -> None:
    encoded = encode_blob(b"recover me" * 50, 10)
    metadata = encoded.metadata
    honest = recovery_symbol(encoded.secondary_slivers[3], 5)
    forged = RecoverySymbol(
        honest.target_kind,
        honest.target_index,
        honest.source_index,
        bytes([honest.data[0] ^ 1]) + honest.data[1:],
        honest.proof,
    )
    with pytest.raises(InvalidRecoverySymbol, match="does not match the committed hash"):
        verify_recovery_symbol(metadata, forged)
    moved = RecoverySymbol(honest.target_kind, 6, 3, honest.data, honest.proof)
    with pytest.raises(InvalidRecoverySymbol, match="does not match"):
        verify_recovery_symbol(metadata, moved)
    short = RecoverySymbol(honest.target_kind, 5, 3, honest.data[:-2], honest.proof)
    with pytest.raises(InvalidRecoverySymbol, match="bytes, got"):
        verify_recovery_symbol(metadata, short)
    wrong_source = RecoverySymbol(honest.target_kind, 5, 10, honest.data, honest.proof)
    with pytest.raises(InvalidRecoverySymbol, match=r"out of range \[0, 10\)"):
        verify_recovery_symbol(metadata, wrong_source)
    with pytest.raises(InvalidRecoverySymbol, match="Merkle proof"):
        RecoverySymbol.from_bytes(honest.to_bytes()[:-1], 10)
    with pytest.raises(InvalidRecoverySymbol, match="target sliver index 10"):
        recovery_symbol(encoded.secondary_slivers[3], 10)
    assert MerkleProof.from_bytes(honest.proof.to_bytes(), 10) == honest.proof
