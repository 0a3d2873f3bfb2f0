// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {WAD} from "./Wad.sol";

/// @title The stake-weighted quantile of a pool's measured costs (the quantile cost rule)
/// @dev Mirrored by offchain/protocol/wad.py (`weighted_quantile`).
library CostQuantile {
    /// @notice The lowest of the first `n` costs whose cumulative units (costs ascending) exceed
    ///         `quantile` (WAD) of `total`. Sorts `costs` and `units` in place (n <= 32: insertion sort).
    function weighted(uint256[] memory costs, uint256[] memory units, uint256 n, uint256 total, uint256 quantile)
        internal
        pure
        returns (uint256)
    {
        for (uint256 i = 1; i < n; ++i) {
            (uint256 c, uint256 u) = (costs[i], units[i]);
            uint256 j = i;
            while (j > 0 && costs[j - 1] > c) {
                (costs[j], units[j]) = (costs[j - 1], units[j - 1]);
                --j;
            }
            (costs[j], units[j]) = (c, u);
        }
        uint256 threshold = total * quantile; // cumulative * WAD must exceed it
        uint256 cumulative;
        for (uint256 i; i < n; ++i) {
            cumulative += units[i];
            if (cumulative * WAD > threshold) return costs[i];
        }
        return costs[n - 1];
    }
}
