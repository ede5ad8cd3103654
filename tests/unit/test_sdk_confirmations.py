"""A store verifies the nodes' confirmation signatures with one aggregate check and falls
back to one check per signature only when that fails, so a bad signer is still named."""

from __future__ import annotations

from backend.core.bls import BlsPublicKey, BlsSecretKey, BlsSignature
from backend.sdk.client import _verified_signatures

MESSAGE = b"walrus blob certification message"


Unchecked = dict[int, tuple[str, BlsPublicKey, BlsSignature]]


def signed_by(seeds: list[int], message: bytes = MESSAGE) -> Unchecked:
    keys = [BlsSecretKey.from_seed(bytes([seed]) * 32) for seed in seeds]
    return {
        member: (f"node {member}", key.public_key(), key.sign(message))
        for member, key in enumerate(keys)
    }


def test_good_signatures_all_verify() -> None:
    unchecked = signed_by([1, 2, 3, 4])
    good, bad = _verified_signatures(unchecked, MESSAGE)
    assert bad == {}
    assert good == {member: entry[2] for member, entry in unchecked.items()}


def test_a_signature_of_another_message_is_named_and_the_rest_kept() -> None:
    unchecked = signed_by([1, 2, 3, 4])
    liar = BlsSecretKey.from_seed(bytes([3]) * 32)
    unchecked[2] = ("node 2", liar.public_key(), liar.sign(b"another blob"))
    good, bad = _verified_signatures(unchecked, MESSAGE)
    assert bad == {2: "node 2"}
    assert sorted(good) == [0, 1, 3]


def test_a_signature_by_another_key_is_named() -> None:
    unchecked = signed_by([1, 2, 3])
    impostor = BlsSecretKey.from_seed(bytes([9]) * 32)
    name, key, _ = unchecked[0]
    unchecked[0] = (name, key, impostor.sign(MESSAGE))
    good, bad = _verified_signatures(unchecked, MESSAGE)
    assert bad == {0: "node 0"}
    assert sorted(good) == [1, 2]
