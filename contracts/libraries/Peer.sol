// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {WAD} from "./Wad.sol";


/// @title Informativeness of evaluator scores: multi-task peer agreement over a batch
/// @notice Each evaluator's scores of a batch are split at its own median: a seat's sign is +1 above it,
///         -1 below, 0 at it. A seat's informativeness is the mean, over the other revealed seats of its
///         task, of the product of the two signs: agreement with a peer on the same answer, measured
///         against each one's own split of the batch (correlated agreement with the median split as the
///         baseline, Dasgupta & Ghosh 2013; Shnayder et al. 2016). A constant reporter has every sign 0
///         and earns exactly 0; a random or task-independent one earns 0 in expectation; any monotone
///         stretch or compression of one's own scores leaves every sign, so every payment, unchanged.
/// @dev Mirrored by offchain/protocol/wad.py (`middles`, `doubled_median`, `split_sign`, `seat_information`).
library Peer {
    /// @notice Whether `lower` and `upper` are the two middle values of `scores`: the ((n-1)/2)-th and
    ///         the (n/2)-th smallest (0-based; equal for an odd count), whose sum is twice the median. One
    ///         pass of counting instead of a sort, so the finalizer computes them off chain (an O(n^2) sort
    ///         of 64 scores costs more gas than the rest of an evaluator's settlement).
    function areMiddles(uint16[] memory scores, uint256 lower, uint256 upper) internal pure returns (bool) {
        uint256 n = scores.length;
        if (n == 0) return lower == 0 && upper == 0;
        (uint256 belowLower, uint256 atMostLower, uint256 belowUpper, uint256 atMostUpper) = (0, 0, 0, 0);
        assembly ("memory-safe") {
            let data := add(scores, 0x20)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let s := mload(add(data, shl(5, i)))
                belowLower := add(belowLower, lt(s, lower))
                atMostLower := add(atMostLower, iszero(gt(s, lower)))
                belowUpper := add(belowUpper, lt(s, upper))
                atMostUpper := add(atMostUpper, iszero(gt(s, upper)))
            }
        }
        (uint256 lowRank, uint256 highRank) = ((n - 1) / 2, n / 2);
        return belowLower <= lowRank && lowRank < atMostLower && belowUpper <= highRank && highRank < atMostUpper;
    }

    /// @notice +1, 0 or -1 as `score` is above, at or below the median whose double is `median2`.
    function splitSign(uint256 score, uint256 median2) internal pure returns (int256) {
        uint256 twice = 2 * score;
        if (twice > median2) return 1;
        if (twice < median2) return -1;
        return 0;
    }

    /// @notice A seat's informativeness among the `count` revealed seats of a task whose signs sum to
    ///         `total` (WAD, [-1, 1]): the mean over the other seats of sign * theirs; 0 without a peer.
    function seatInformation(int256 sign, int256 total, uint256 count) internal pure returns (int256) {
        if (count < 2 || sign == 0) return 0;
        // sign * (total - sign), with sign * sign = 1
        return ((sign * total - 1) * int256(WAD)) / int256(count - 1); // exact: count - 1 <= 2 divides WAD
    }
}
