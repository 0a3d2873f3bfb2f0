// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {WAD} from "./Wad.sol";

/// @title Cost-aware rewards (PoQ Eqs. 2, 4, 5) and min-max cost normalization, in WAD
/// @notice Every rounding goes in the protocol's favour: gains round down, costs and debits round up.
/// @dev Mirrored by offchain/protocol/wad.py. Parameters are bounded at deployment (weights <= 1e6 WAD,
///      rewardUnit <= 1e30), so no product here can overflow 256 bits.
library Rewards {
    function mulWadDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return (x * y) / WAD;
    }

    function mulWadUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return (x * y + WAD - 1) / WAD;
    }

    /// @notice R_F = alphaF * Q - betaF * C_F (Eq. 2).
    function inferenceReward(uint256 alphaF, uint256 betaF, uint256 quality, uint256 cost)
        internal
        pure
        returns (int256)
    {
        return int256(mulWadDown(alphaF, quality)) - int256(mulWadUp(betaF, cost));
    }

    /// @notice R_M = alphaM * (1 - d) - betaM * C_M (Eqs. 4 and 5); d <= 1 WAD.
    function evaluatorReward(uint256 alphaM, uint256 betaM, uint256 deviation, uint256 cost)
        internal
        pure
        returns (int256)
    {
        return int256(mulWadDown(alphaM, WAD - deviation)) - int256(mulWadUp(betaM, cost));
    }

    /// @notice The peer rule's R_M = alphaM I - betaM C |I| for a seat's informativeness I in [-1, 1] WAD:
    ///         the cost discounts what the seat earned (or deepens what it lost), so a seat that carries no
    ///         information earns 0 whatever its cost, never more than a slow informative one.
    function peerReward(uint256 alphaM, uint256 betaM, int256 information, uint256 cost) internal pure returns (int256) {
        uint256 magnitude = information >= 0 ? uint256(information) : uint256(-information);
        uint256 costPart = mulWadUp(betaM, mulWadUp(cost, magnitude));
        if (information >= 0) return int256(mulWadDown(alphaM, magnitude)) - int256(costPart);
        return -int256(mulWadUp(alphaM, magnitude) + costPart);
    }

    /// @notice Wei for a signed WAD reward, floored toward minus infinity: payouts round down,
    ///         debits round up.
    function toWei(int256 rewardWad, uint256 rewardUnit) internal pure returns (int256) {
        if (rewardWad >= 0) return int256((uint256(rewardWad) * rewardUnit) / WAD);
        uint256 magnitude = uint256(-rewardWad) * rewardUnit;
        return -int256((magnitude + WAD - 1) / WAD);
    }

    /// @notice Min-max normalized cost in WAD, rounded up. A node that never reported costs 1;
    ///         a pool whose latencies are all equal costs 0.
    function normalizedCost(bool reported, uint256 latency, uint256 minLatency, uint256 maxLatency)
        internal
        pure
        returns (uint256)
    {
        if (!reported) return WAD;
        if (maxLatency <= minLatency || latency <= minLatency) return 0;
        if (latency >= maxLatency) return WAD;
        uint256 span = maxLatency - minLatency;
        return ((latency - minLatency) * WAD + span - 1) / span;
    }
}
