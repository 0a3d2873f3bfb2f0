// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "../IProofOfQuality.sol";

/// @notice Test helper: a requester whose receive() re-enters withdraw once and swallows the outcome,
///         so the outer withdrawal completes and the test sees whether the re-entry was refused
///         (MaliciousReceiver's re-entry always reverts the whole call, guard or no guard).
contract ReentrancyProbe {
    IProofOfQuality public immutable poq;
    uint256 public reentries;
    bool public reentrySucceeded;
    bytes public reentryError; // revert data of the re-entrant withdraw

    constructor(IProofOfQuality target) {
        poq = target;
    }

    function open(uint8 taskKind, string calldata input) external payable returns (uint256) {
        uint8[] memory kinds = new uint8[](1);
        string[] memory inputs = new string[](1);
        (kinds[0], inputs[0]) = (taskKind, input);
        return poq.openBatch{value: msg.value}(kinds, inputs, bytes32(0));
    }

    function drain(uint256 amount) external {
        poq.withdraw(amount);
    }

    receive() external payable {
        if (reentries++ != 0) return; // re-enter once
        try poq.withdraw(msg.value) {
            reentrySucceeded = true;
        } catch (bytes memory err) {
            reentryError = err;
        }
    }
}
