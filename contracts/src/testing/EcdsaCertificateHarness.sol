// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title EcdsaCertificateHarness
/// @notice The gas baseline for `BlobRegistry.certifyBlob`: the same quorum certificate done
/// with one secp256k1 (ecrecover) signature per signer instead of one aggregate BLS signature.
/// Deployed only by bench/gas.py; not part of the product.
/// @dev Members are stored like a committee would be (address and shard weight in one slot);
/// `certify` checks each signature over keccak256(message) against its member, refuses
/// repeated signers (indices must ascend), sums the weights, and records the certificate
/// digest in one already-used slot (one warm-up write in `setCommittee`), so that storage
/// costs the baseline no more than the registry's own bookkeeping does.
contract EcdsaCertificateHarness {
    struct Member {
        address account;
        uint16 weight;
    }

    /// @notice The signature at `position` does not recover to its member.
    error EcdsaCertificateHarnessInvalidSignature(uint256 position);
    /// @notice Member indices must be strictly ascending (no repeated signer) and in range.
    error EcdsaCertificateHarnessInvalidSigners(uint256 position);
    /// @notice The signers hold `weight`, fewer than `required`.
    error EcdsaCertificateHarnessInsufficientWeight(uint256 weight, uint256 required);

    Member[] private _members;
    uint256 private _quorum;
    /// @notice Digest of the last certified message.
    bytes32 public lastCertified;

    /// @notice Replaces the committee.
    /// @param accounts Member addresses in committee order.
    /// @param weights Shard counts in committee order.
    /// @param quorum Weight a certificate needs.
    function setCommittee(address[] calldata accounts, uint16[] calldata weights, uint256 quorum) external {
        delete _members;
        for (uint256 i = 0; i < accounts.length; ++i) {
            _members.push(Member(accounts[i], weights[i]));
        }
        _quorum = quorum;
        lastCertified = bytes32(uint256(1));
    }

    /// @notice Checks one ECDSA signature per signer over `message` and records it.
    /// @param message The certified message (as BlobRegistry's certification message).
    /// @param memberIndices Signers' committee indices, strictly ascending.
    /// @param signatures 65-byte (r ‖ s ‖ v) signatures of keccak256(message), same order.
    function certify(bytes calldata message, uint256[] calldata memberIndices, bytes[] calldata signatures)
        external
    {
        bytes32 digest = keccak256(message);
        uint256 weight = 0;
        uint256 size = _members.length;
        for (uint256 i = 0; i < memberIndices.length; ++i) {
            uint256 index = memberIndices[i];
            if (index >= size || (i > 0 && index <= memberIndices[i - 1])) {
                revert EcdsaCertificateHarnessInvalidSigners(i);
            }
            Member memory member = _members[index];
            if (_recover(digest, signatures[i]) != member.account) {
                revert EcdsaCertificateHarnessInvalidSignature(i);
            }
            weight += member.weight;
        }
        if (weight < _quorum) revert EcdsaCertificateHarnessInsufficientWeight(weight, _quorum);
        lastCertified = digest;
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        return ecrecover(digest, v, r, s);
    }
}
