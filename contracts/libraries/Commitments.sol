// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Commitment hashes for commit-reveal
/// @notice Each hash binds the value, the salt, the committer, the round (task or epoch), the chain
///         and this contract, so a commitment copied by another evaluator, replayed on another task
///         or on another chain reveals nothing for the copier (cf. UMA audit finding P1-H01).
/// @dev Mirrored by offchain/protocol/commitments.py.
library Commitments {
    function score(uint256 chainId, address poq, uint256 taskId, address evaluator, uint16 value, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(chainId, poq, taskId, evaluator, value, salt));
    }

    function cost(uint256 chainId, address poq, uint256 epoch, address node, uint32 latencyUs, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(chainId, poq, epoch, node, latencyUs, salt));
    }

    /// @dev The requester alone can reveal, and only after the answer, so the reference hash needs no binding.
    function referenceText(string memory text, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(bytes(text)), salt));
    }
}
