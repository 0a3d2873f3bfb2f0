// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Commitment hashes for commit-reveal
/// @notice Each hash binds the value, the salt, the committer, the round (batch or epoch), the chain
///         and this contract, so a commitment copied by another evaluator, replayed on another batch
///         or on another chain reveals nothing for the copier (cf. UMA audit finding P1-H01).
/// @dev Mirrored by offchain/protocol/commitments.py.
library Commitments {
    /// @notice An evaluator's scores for all its seats of a batch, in seat order, under one salt.
    function scores(
        uint256 chainId,
        address poq,
        uint256 batchId,
        address evaluator,
        uint16[] memory values,
        bytes32 salt
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(chainId, poq, batchId, evaluator, values, salt));
    }

    /// @notice A node's declared latency for a cost-report epoch.
    function cost(uint256 chainId, address poq, uint256 epoch, address node, uint32 latencyUs, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(chainId, poq, epoch, node, latencyUs, salt));
    }

    /// @notice A batch's reference answers: keccak(abi.encode(keccak(h_0 ... h_n-1), salt)), h_i the
    ///         keccak of reference i. The requester alone reveals, and only after the answers, so the
    ///         hash needs no further binding.
    function references(string[] calldata texts, bytes32 salt) internal pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](texts.length);
        for (uint256 i; i < texts.length; ++i) {
            hashes[i] = keccak256(bytes(texts[i]));
        }
        return keccak256(abi.encode(keccak256(abi.encodePacked(hashes)), salt));
    }
}
