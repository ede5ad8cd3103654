"""The CLI's plain-words lines for the contract reverts users cause most."""

from __future__ import annotations

from backend.chain.errors import ContractRevert
from backend.cli.revert_messages import explain_revert


def test_a_known_revert_reads_as_a_sentence_with_its_name() -> None:
    caller = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    line = explain_revert(ContractRevert("BlobRegistryNotAuthorized", (3, caller)))
    assert line.startswith(f"{caller} may not change token 3: it is not the token's owner")
    assert line.endswith("(BlobRegistryNotAuthorized)")
    shared = explain_revert(ContractRevert("SharedBlobNotShared", (5,)))
    assert shared == (
        "token 5 is not a shared blob; walrus share-blob 5 shares it (SharedBlobNotShared)"
    )


def test_other_reverts_keep_their_decoded_form() -> None:
    assert explain_revert(ContractRevert("GovernorUnexpectedState", (1, 2))) == (
        "GovernorUnexpectedState(1, 2)"
    )
    # same name, other arguments (another contract's error): no made-up sentence
    assert explain_revert(ContractRevert("StakingNotOperator", ())) == "StakingNotOperator()"


def test_a_network_that_has_not_started_says_so() -> None:
    for revert in (
        ContractRevert("BlobRegistryNoCommittee", ()),
        ContractRevert("StakingUnknownEpoch", (0,)),
    ):
        line = explain_revert(revert)
        assert line.startswith("the network has no storage committee yet (epoch 0)")
        assert line.endswith(f"({revert.name})")
    assert explain_revert(ContractRevert("StakingUnknownEpoch", (9,))) == (
        "epoch 9 is not known (StakingUnknownEpoch)"
    )
