// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {WAD} from "./Wad.sol";

/// @title Costs the contract measures itself: response times from block timestamps
/// @notice An inference node's observation is (answer time - batch open time) / its tasks in the
///         batch; an evaluator's is (commit time - start of the commit stage) / its seats. Each node's
///         cost is an exponential moving average of its observations, in microseconds per item; the
///         paper's min-max normalization over the role's pool turns it into C in [0, 1].
/// @dev Block timestamps have a resolution of one second; an observation is that second count spread
///      over the batch's items, and averaging over batches resolves sub-second costs (the open and
///      commit instants fall anywhere within a second). Mirrored by offchain/protocol/wad.py.
library Costs {
    uint256 internal constant MAX_US = type(uint32).max;

    /// @notice Microseconds per item of an action `elapsed` seconds after its start, saturating.
    function perItemUs(uint256 elapsed, uint256 items) internal pure returns (uint256) {
        uint256 us = (elapsed * 1e6) / items;
        return us > MAX_US ? MAX_US : us;
    }

    /// @notice The next average: the first observation itself, then prev + alpha (obs - prev), floored.
    function smooth(uint256 prev, bool measured, uint256 obs, uint256 alpha) internal pure returns (uint256) {
        if (!measured) return obs;
        return (prev * (WAD - alpha) + obs * alpha) / WAD;
    }
}
