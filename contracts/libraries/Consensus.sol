// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MAX_SCORE, WAD} from "./Wad.sol";

/// @title Consensus over evaluator scores (PoQ Eqs. 1 and 3)
/// @notice Scores are integers in [0, MAX_SCORE] (10_000 = 10.0). The consensus center is kept as an
///         exact fraction num/den of score units, so quality and deviations are rounded once.
/// @dev Mirrored by offchain/protocol/wad.py; the differential tests keep both equal to the wei.
library Consensus {
    uint8 internal constant MEAN = 0;
    uint8 internal constant MEDIAN = 1;
    uint8 internal constant TRIMMED = 2;
    uint8 internal constant TRUST = 3; // weighted mean by trust weights, see weightedCenter and Trust.sol

    /// @notice Consensus center of `scores` as num/den score units (den > 0). Sorts `scores` in place
    ///         for the median and trimmed modes. No scores: center 0.
    function center(uint256[] memory scores, uint8 mode) internal pure returns (uint256 num, uint256 den) {
        uint256 n = scores.length;
        if (n == 0) return (0, 1);
        if (mode == MEAN) return (_sum(scores, 0, n), n);
        _sort(scores);
        if (mode == MEDIAN) {
            if (n % 2 == 1) return (scores[n / 2], 1);
            return (scores[n / 2 - 1] + scores[n / 2], 2);
        }
        uint256 t = trimCount(n);
        return (_sum(scores, t, n - t), n - 2 * t);
    }

    /// @notice Trust-weighted center sum(w e) / sum(w) as num/den (weights in WAD, all > 0). No
    ///         scores: center 0.
    function weightedCenter(uint256[] memory scores, uint256[] memory weights)
        internal
        pure
        returns (uint256 num, uint256 den)
    {
        if (scores.length == 0) return (0, 1);
        for (uint256 i; i < scores.length; ++i) {
            num += weights[i] * scores[i];
            den += weights[i];
        }
    }

    /// @notice Scores dropped from each end by the trimmed mean: none below 3 scores, else
    ///         max(1, floor(n / 4)).
    function trimCount(uint256 n) internal pure returns (uint256) {
        if (n < 3) return 0;
        uint256 t = n / 4;
        return t == 0 ? 1 : t;
    }

    /// @notice Q = center / MAX_SCORE in WAD, rounded down (Eq. 1 for the mean).
    function quality(uint256 num, uint256 den) internal pure returns (uint256) {
        return (num * WAD) / (den * MAX_SCORE);
    }

    /// @notice d = |score - center| / MAX_SCORE in WAD, rounded up (Eq. 3): the protocol's favour.
    function deviation(uint256 score, uint256 num, uint256 den) internal pure returns (uint256) {
        uint256 scaled = score * den;
        uint256 diff = scaled > num ? scaled - num : num - scaled;
        uint256 denominator = den * MAX_SCORE;
        return (diff * WAD + denominator - 1) / denominator;
    }

    function _sum(uint256[] memory xs, uint256 from, uint256 to) private pure returns (uint256 s) {
        for (uint256 i = from; i < to; ++i) {
            s += xs[i];
        }
    }

    /// @dev Insertion sort: n <= 3 on chain, so this is the cheapest correct choice.
    function _sort(uint256[] memory xs) private pure {
        for (uint256 i = 1; i < xs.length; ++i) {
            uint256 key = xs[i];
            uint256 j = i;
            while (j > 0 && xs[j - 1] > key) {
                xs[j] = xs[j - 1];
                --j;
            }
            xs[j] = key;
        }
    }
}
