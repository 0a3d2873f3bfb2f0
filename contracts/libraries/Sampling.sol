// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MAX_K} from "./Wad.sol";

/// @title Stake-weighted draws of a task's inference node and evaluator panel
/// @notice A node is drawn with probability units / total units of its role, so seats cost stake,
///         not keys: splitting a stake over many minimum-stake keys buys no extra weight
///         (floor(a) + floor(b) <= floor(a + b) stake units). A panel is K distinct evaluators, each
///         drawn in proportion to the units of those not yet drawn.
/// @dev One 256-bit random word per task: bits 0-63 draw the node, bits 64(j+1).. the j-th seat. A
///      64-bit slice modulo a total below 2^38 is uniform to within 2^-26. Mirrored by
///      offchain/protocol/draw.py.
library Sampling {
    /// @notice The index whose running sum of `units` first exceeds `r % total`.
    function pick(uint32[] memory units, uint256 total, uint256 r) internal pure returns (uint256 i) {
        uint256 x = r % total;
        uint256 acc;
        for (;; ++i) {
            acc += units[i];
            if (x < acc) return i;
        }
    }

    /// @notice `k` distinct indices; each one drawn in proportion to the units of the indices not yet drawn.
    /// @return seats the drawn indices in draw order (seats past k are unused)
    function pickDistinct(uint32[] memory units, uint256 total, uint256 k, uint256 word)
        internal
        pure
        returns (uint256[MAX_K] memory seats)
    {
        uint256 remaining = total;
        for (uint256 j; j < k; ++j) {
            uint256 x = uint64(word >> (64 * (j + 1))) % remaining;
            uint256 acc;
            for (uint256 i;; ++i) {
                if (_taken(seats, j, i)) continue;
                acc += units[i];
                if (x < acc) {
                    seats[j] = i;
                    remaining -= units[i];
                    break;
                }
            }
        }
    }

    function _taken(uint256[MAX_K] memory seats, uint256 filled, uint256 i) private pure returns (bool) {
        for (uint256 j; j < filled; ++j) {
            if (seats[j] == i) return true;
        }
        return false;
    }
}
