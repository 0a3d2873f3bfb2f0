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
        return poq.openTask{value: msg.value}(taskKind, input, bytes32(0));
    }

    function drain(uint256 amount) external {
        poq.withdraw(amount);
    }

    receive() external payable {
        reentries += 1;
        poq.withdraw(msg.value); // must revert: the contract is locked during the transfer
    }
}
