// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MAX_K} from "./Wad.sol";

/// @title Stake-weighted draws of a task's inference node and evaluator panel
/// @notice A task's node is drawn with probability units / total units of its role. A panel is K
///         distinct evaluators drawn so that each one sits on it with probability K * units / total
///         (capped at one): randomized systematic sampling with probability proportional to size. An
///         evaluator whose share would exceed one seat takes a seat for sure, and the rest are drawn
///         among the others. So seats cost stake, not keys: splitting a stake over many minimum-stake
///         keys buys no extra seats (floor(a) + floor(b) <= floor(a + b) stake units), and, unlike
///         successive draws, a few large honest stakes are not out-seated by many small ones.
/// @dev Randomness per task: bits 0-63 of one word draw the node, bits 64-127 place the panel's
///      sampling points, and the keccak of the word orders the evaluators (Fisher-Yates). A 64-bit
///      slice modulo a total below 2^38 is uniform to within 2^-26. Mirrored by offchain/protocol/draw.py.
library Sampling {
    /// @dev Memory a draw reuses for every task of a batch (allocating per task would grow memory).
    struct Scratch {
        bool[] taken;
        uint256[] order;
    }

    function scratch(uint256 n) internal pure returns (Scratch memory s) {
        (s.taken, s.order) = (new bool[](n), new uint256[](n));
    }

    /// @notice The index whose running sum of `units` first exceeds `r % total`.
    function pick(uint32[] memory units, uint256 total, uint256 r) internal pure returns (uint256 i) {
        unchecked {
            // sums stay below total < 2^38
            uint256 x = r % total;
            uint256 acc;
            for (;; ++i) {
                acc += units[i];
                if (x < acc) return i;
            }
        }
    }

    /// @notice `k` distinct indices, index i drawn with probability min(1, k * units[i] / total).
    /// @return seats the drawn indices: certain ones first (in index order), then in sampling order
    function pickPanel(uint32[] memory units, uint256 total, uint256 k, uint256 word, Scratch memory s)
        internal
        pure
        returns (uint256[MAX_K] memory seats)
    {
        unchecked {
            // every sum and product below stays under 2^45 (units < 2^32, n <= 32, k <= 3)
            uint256 n = units.length;
            bool[] memory taken = s.taken;
            for (uint256 i; i < n; ++i) {
                taken[i] = false;
            }
            uint256 filled;
            for (bool found = true; found && filled < k;) {
                found = false;
                for (uint256 i; i < n; ++i) {
                    if (!taken[i] && uint256(units[i]) * (k - filled) >= total) {
                        (taken[i], seats[filled]) = (true, i);
                        (filled, total, found) = (filled + 1, total - units[i], true);
                        break; // the total changed: look again from the start
                    }
                }
            }
            if (filled == k) return seats;
            uint256[] memory order = _shuffled(s.order, n, _hash(word));
            uint256 left = k - filled;
            uint256 point = uint64(word >> 64) % total; // points at point + m * total, m < left
            uint256 acc;
            for (uint256 m; m < n && filled < k; ++m) {
                uint256 i = order[m];
                if (taken[i]) continue;
                acc += uint256(units[i]) * left; // each length is below total: one point at most
                if (point < acc) {
                    seats[filled++] = i;
                    point += total;
                }
            }
        }
    }

    /// @notice The random word of task `t` of a draw: keccak256(abi.encode(seed, t)).
    function taskWord(bytes32 seed, uint256 t) internal pure returns (uint256 word) {
        assembly ("memory-safe") {
            mstore(0x00, seed)
            mstore(0x20, t)
            word := keccak256(0x00, 0x40)
        }
    }

    /// @dev keccak256(abi.encode(word)), in the scratch space.
    function _hash(uint256 word) private pure returns (uint256 h) {
        assembly ("memory-safe") {
            mstore(0x00, word)
            h := keccak256(0x00, 0x20)
        }
    }

    /// @dev A uniform permutation of 0..n-1 (Fisher-Yates, each swap consuming a mixed-radix digit of r).
    function _shuffled(uint256[] memory order, uint256 n, uint256 r) private pure returns (uint256[] memory) {
        unchecked {
            for (uint256 i; i < n; ++i) {
                order[i] = i;
            }
            for (uint256 i = n; i > 1; --i) {
                uint256 j = r % i;
                r /= i;
                (order[i - 1], order[j]) = (order[j], order[i - 1]);
            }
        }
        return order;
    }
}
