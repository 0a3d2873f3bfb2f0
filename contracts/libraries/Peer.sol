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
/// @dev Mirrored by offchain/protocol/wad.py (`doubled_median`, `split_sign`, `seat_information`).
library Peer {
    /// @notice Twice the median of `scores` (the sum of the two middle values), so a split is exact.
    function doubledMedian(uint16[] memory scores) internal pure returns (uint256) {
        uint256 n = scores.length;
        if (n == 0) return 0;
        uint256[] memory xs = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            xs[i] = scores[i];
        }
        _sort(xs);
        return xs[(n - 1) / 2] + xs[n / 2];
    }

    /// @notice +1, 0 or -1 as `score` is above, at or below the median whose double is `median2`.
    function splitSign(uint256 score, uint256 median2) internal pure returns (int256) {
        uint256 twice = 2 * score;
        if (twice > median2) return 1;
        if (twice < median2) return -1;
        return 0;
    }

    /// @notice Seat i's informativeness among the first `count` revealed seats of a task (WAD, [-1, 1]):
    ///         the mean over the other seats of signs[i] * signs[k]; 0 without a peer.
    function seatInformation(int256[] memory signs, uint256 count, uint256 i) internal pure returns (int256) {
        if (count < 2 || signs[i] == 0) return 0;
        int256 agree;
        for (uint256 k; k < count; ++k) {
            if (k != i) agree += signs[i] * signs[k];
        }
        return (agree * int256(WAD)) / int256(count - 1); // exact: count - 1 <= 2 divides WAD
    }

    /// @dev Insertion sort in memory, unchecked: at most MAX_BATCH (256) scores of one evaluator.
    function _sort(uint256[] memory xs) private pure {
        assembly ("memory-safe") {
            let n := mload(xs)
            let base := add(xs, 0x20)
            for { let i := 1 } lt(i, n) { i := add(i, 1) } {
                let key := mload(add(base, mul(i, 0x20)))
                let j := i
                for {} gt(j, 0) {} {
                    let prev := mload(add(base, mul(sub(j, 1), 0x20)))
                    if iszero(gt(prev, key)) { break }
                    mstore(add(base, mul(j, 0x20)), prev)
                    j := sub(j, 1)
                }
                mstore(add(base, mul(j, 0x20)), key)
            }
        }
    }
}
