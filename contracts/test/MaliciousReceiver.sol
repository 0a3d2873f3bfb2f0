// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "../IProofOfQuality.sol";

/// @notice Test helper: a requester whose receive() re-enters withdraw, to prove the guard holds.
contract MaliciousReceiver {
    IProofOfQuality public immutable poq;
    uint256 public reentries;

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
        reentries += 1;
        poq.withdraw(msg.value); // must revert: the contract is locked during the transfer
    }
}
