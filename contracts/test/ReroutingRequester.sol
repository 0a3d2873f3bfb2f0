// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "../IProofOfQuality.sol";

/// @notice Test attacker: a requester that reverts unless its chosen node gets the task, retrying at
///         the price of gas only. Against the old contract (node drawn inside openTask) it got its node
///         in 4 tries.
contract ReroutingRequester {
    IProofOfQuality public immutable poq;

    error Rerouted(address drawn, address wanted);

    constructor(IProofOfQuality target) {
        poq = target;
    }

    /// @notice Open one task and keep it only if `wanted` was drawn for it in the same transaction.
    function openFor(string calldata input, address wanted) external payable returns (uint256 batchId) {
        uint8[] memory kinds = new uint8[](1);
        string[] memory inputs = new string[](1);
        inputs[0] = input;
        batchId = poq.openBatch{value: msg.value}(kinds, inputs, bytes32(0));
        address drawn = poq.getTask(poq.taskCount()).node;
        if (drawn != wanted) revert Rerouted(drawn, wanted);
    }

    /// @notice Open one task normally (the attacker then tries to steer its draw).
    function open(string calldata input) external payable returns (uint256 batchId) {
        uint8[] memory kinds = new uint8[](1);
        string[] memory inputs = new string[](1);
        inputs[0] = input;
        return poq.openBatch{value: msg.value}(kinds, inputs, bytes32(0));
    }

    /// @notice Draw a batch and keep the draw only if `wanted` answers task `taskId`.
    function drawFor(uint256 batchId, uint256 taskId, address wanted) external {
        poq.draw(batchId);
        address drawn = poq.getTask(taskId).node;
        if (drawn != wanted) revert Rerouted(drawn, wanted);
    }

    function withdraw(uint256 amount) external {
        poq.withdraw(amount);
    }

    receive() external payable {}
}
