"""A badly encoded blob is caught: by recovery (with a proof anyone can check) and by reads."""

import random

import numpy as np
import pytest

from backend.core.decoder import ConsistencyCheck, decode_blob
from backend.core.encoder import EncodedBlob, encode_blob
from backend.core.encoding_types import EncodingType
from backend.core.errors import InconsistentBlob, InvalidInconsistencyProof
from backend.core.expansion import code_for, sliver_hashes
from backend.core.inconsistency import (
    InconsistencyProof,
    SliverRecoveryMismatch,
    verify_inconsistency_proof,
)
from backend.core.metadata import (
    BlobMetadata,
    UnverifiedMetadata,
    VerifiedMetadata,
    verify_metadata,
)
from backend.core.recovery import recover_primary, recover_secondary
from backend.core.recovery_symbols import recovery_symbol, verify_recovery_symbol
from backend.core.sliver_kind import SliverKind
from backend.core.slivers import UnverifiedSliver, VerifiedSliver, verify_slivers

N = 10


def _badly_encoded(
    encoding_type: EncodingType, bad_primary: int
) -> tuple[bytes, EncodedBlob, VerifiedMetadata, list[VerifiedSliver], list[VerifiedSliver]]:
    """A writer that corrupts one primary sliver and commits to the corrupted version.

    Every sliver it hands out verifies against its metadata, so storage nodes accept them.
    """
    data = random.Random(bad_primary).randbytes(2500)
    honest = encode_blob(data, N, encoding_type)
    params = honest.metadata.params
    corrupted = np.array(honest.primary_slivers[bad_primary].symbols)
    corrupted[0, 0] ^= 0xFF
    code = code_for(encoding_type, params, SliverKind.PRIMARY)
    primary_hashes = list(honest.metadata.metadata.primary_hashes)
    primary_hashes[bad_primary] = sliver_hashes(code, [corrupted])[0]
    bad = BlobMetadata(
        encoding_type, len(data), tuple(primary_hashes), honest.metadata.metadata.secondary_hashes
    )
    metadata = verify_metadata(bad.blob_id(), UnverifiedMetadata(bad))
    sent = [s.to_unverified() for s in honest.primary_slivers]
    sent[bad_primary] = UnverifiedSliver(SliverKind.PRIMARY, bad_primary, corrupted.tobytes())
    primaries = verify_slivers(metadata, sent)
    secondaries = verify_slivers(metadata, [s.to_unverified() for s in honest.secondary_slivers])
    return data, honest, metadata, primaries, secondaries


def _primary_symbols(metadata: VerifiedMetadata, secondaries: list[VerifiedSliver], target: int):  # type: ignore[no-untyped-def]
    return [
        verify_recovery_symbol(metadata, recovery_symbol(sliver, target))
        for sliver in secondaries[: metadata.params.s]
    ]


@pytest.mark.parametrize("encoding_type", list(EncodingType))
def test_recovering_the_bad_sliver_yields_a_proof_that_checks(encoding_type: EncodingType) -> None:
    _, _, metadata, _, secondaries = _badly_encoded(encoding_type, bad_primary=7)
    with pytest.raises(SliverRecoveryMismatch, match="primary sliver 7 recovered") as caught:
        recover_primary(metadata, 7, _primary_symbols(metadata, secondaries, 7))
    proof = caught.value.proof
    verify_inconsistency_proof(metadata, proof)  # anyone can check it
    received = InconsistencyProof.from_bytes(proof.to_bytes(), N)
    assert received == proof
    verify_inconsistency_proof(metadata, received)


@pytest.mark.parametrize("encoding_type", list(EncodingType))
def test_a_proof_against_a_good_blob_is_rejected(encoding_type: EncodingType) -> None:
    encoded = encode_blob(b"perfectly fine" * 99, N, encoding_type)
    metadata = encoded.metadata
    symbols = tuple(recovery_symbol(s, 4) for s in encoded.secondary_slivers[: metadata.params.s])
    with pytest.raises(InvalidInconsistencyProof, match="exactly as committed"):
        verify_inconsistency_proof(metadata, InconsistencyProof(SliverKind.PRIMARY, 4, symbols))


def test_malformed_proofs_are_rejected() -> None:
    _, _, metadata, _, secondaries = _badly_encoded(EncodingType.RS_GF256_ZFEC, bad_primary=7)
    with pytest.raises(SliverRecoveryMismatch) as caught:
        recover_primary(metadata, 7, _primary_symbols(metadata, secondaries, 7))
    proof = caught.value.proof
    short = InconsistencyProof(proof.target_kind, proof.target_index, proof.symbols[:-1])
    with pytest.raises(InvalidInconsistencyProof, match="exactly 7 symbols"):
        verify_inconsistency_proof(metadata, short)
    repeated = InconsistencyProof(
        proof.target_kind, proof.target_index, proof.symbols[:-1] + proof.symbols[:1]
    )
    with pytest.raises(InvalidInconsistencyProof, match="from 6 slivers"):
        verify_inconsistency_proof(metadata, repeated)
    other_target = InconsistencyProof(proof.target_kind, 6, proof.symbols)
    with pytest.raises(InvalidInconsistencyProof, match="must target"):
        verify_inconsistency_proof(metadata, other_target)
    raw = proof.to_bytes()
    with pytest.raises(InvalidInconsistencyProof, match=r"malformed|truncated"):
        InconsistencyProof.from_bytes(raw[:-5], N)
    with pytest.raises(InvalidInconsistencyProof, match="unexpected bytes"):
        InconsistencyProof.from_bytes(raw + b"\x00", N)


def test_the_bad_sliver_is_also_caught_from_the_secondary_side() -> None:
    _, _, metadata, primaries, _ = _badly_encoded(EncodingType.RS_GF65536_LEOPARD, bad_primary=1)
    # secondary 0 contains E[1][0]; primaries 0..p-1 include the corrupted primary 1
    symbols = [
        verify_recovery_symbol(metadata, recovery_symbol(s, 0))
        for s in primaries[: metadata.params.p]
    ]
    with pytest.raises(SliverRecoveryMismatch) as caught:
        recover_secondary(metadata, 0, symbols)
    verify_inconsistency_proof(metadata, caught.value.proof)


def test_reads_never_return_data_that_differs_between_readers() -> None:
    data, honest, metadata, primaries, secondaries = _badly_encoded(
        EncodingType.RS_GF256_ZFEC, bad_primary=7
    )
    p, s = metadata.params.p, metadata.params.s
    # default check: the systematic primaries define the data; every reader gets it or an error
    assert decode_blob(metadata, primaries[:p]) == data
    assert decode_blob(metadata, secondaries[:s]) == data
    with pytest.raises(InconsistentBlob, match="systematic primary slivers"):
        decode_blob(metadata, primaries[p:])  # includes the corrupted parity sliver 7
    # strict check: the blob as a whole is refused, whichever slivers are read
    for chosen in (primaries[:p], secondaries[:s]):
        with pytest.raises(InconsistentBlob, match="re-encoding"):
            decode_blob(metadata, chosen, ConsistencyCheck.STRICT)
    assert decode_blob(honest.metadata, honest.primary_slivers[p:], ConsistencyCheck.STRICT) == data


def test_nonzero_padding_is_inconsistent() -> None:
    data = b"short"
    honest = encode_blob(data, 4, EncodingType.RS_GF256_ZFEC)
    longer = encode_blob(data + b"\x01", 4, EncodingType.RS_GF256_ZFEC)
    # a writer that commits to 5 bytes but encodes 6 (same symbol size)
    lying = BlobMetadata(
        EncodingType.RS_GF256_ZFEC,
        len(data),
        longer.metadata.metadata.primary_hashes,
        longer.metadata.metadata.secondary_hashes,
    )
    metadata = verify_metadata(lying.blob_id(), UnverifiedMetadata(lying))
    slivers = verify_slivers(metadata, [s.to_unverified() for s in longer.primary_slivers])
    assert honest.metadata.symbol_size == metadata.symbol_size
    with pytest.raises(InconsistentBlob, match="padding"):
        decode_blob(metadata, slivers[:2])
