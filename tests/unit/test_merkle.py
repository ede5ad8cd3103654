"""Merkle trees: the tree DESIGN §3.5 describes, built by hand, and inclusion proofs."""

import hashlib

import numpy as np
import pytest

from backend.core.merkle import (
    MerkleProof,
    MerkleTree,
    leaf_hash,
    merkle_root,
    merkle_roots,
    node_hash,
    verify_proof,
)


def _reference_root(leaves: list[bytes]) -> bytes:
    """Straight from the spec: pad with 32 zero bytes to a power of two, hash pairs."""
    level = list(leaves)
    width = 1
    while width < len(level):
        width *= 2
    level += [bytes(32)] * (width - len(level))
    while len(level) > 1:
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level), 2)
        ]
    return level[0]


def _leaves(count: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "little")) for i in range(count)]


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = bytes(range(32)), bytes(range(32, 64))
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert leaf_hash(left + right) != node_hash(left, right)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 257])
def test_root_matches_the_reference_construction(count: int) -> None:
    leaves = _leaves(count)
    assert merkle_root(leaves) == _reference_root(leaves)


def test_many_trees_at_once_equal_one_at_a_time() -> None:
    rows = [_leaves(13)[i:] + _leaves(i) for i in range(5)]
    stacked = np.frombuffer(b"".join(b"".join(r) for r in rows), dtype=np.uint8)
    roots = merkle_roots(stacked.reshape(5, 13, 32))
    assert roots == [_reference_root(r) for r in rows]


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13, 100])
def test_every_leaf_has_a_valid_proof_and_only_at_its_index(count: int) -> None:
    leaves = _leaves(count)
    tree = MerkleTree(np.frombuffer(b"".join(leaves), dtype=np.uint8).reshape(count, 32))
    assert tree.root == _reference_root(leaves)
    for index, leaf in enumerate(leaves):
        proof = tree.proof(index)
        assert verify_proof(tree.root, leaf, index, proof, count)
        assert MerkleProof.from_bytes(proof.to_bytes(), count) == proof
        if count > 1:
            other = (index + 1) % count
            assert not verify_proof(tree.root, leaf, other, proof, count)
            assert not verify_proof(tree.root, leaves[other], index, proof, count)


def test_tampered_or_misshapen_proofs_fail() -> None:
    leaves = _leaves(10)
    tree = MerkleTree(np.frombuffer(b"".join(leaves), dtype=np.uint8).reshape(10, 32))
    proof = tree.proof(3)
    flipped = bytes([proof.siblings[1][0] ^ 1]) + proof.siblings[1][1:]
    bad = MerkleProof((proof.siblings[0], flipped, *proof.siblings[2:]))
    assert not verify_proof(tree.root, leaves[3], 3, bad, 10)
    assert not verify_proof(tree.root, leaves[3], 3, MerkleProof(proof.siblings[:-1]), 10)
    assert not verify_proof(tree.root, leaves[3], 10, proof, 10)
    assert not verify_proof(tree.root, leaves[3], -1, proof, 10)
    with pytest.raises(ValueError, match="4 hashes"):
        MerkleProof.from_bytes(b"\x00" * 100, 10)
