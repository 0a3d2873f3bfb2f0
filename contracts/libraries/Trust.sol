// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Consensus} from "./Consensus.sol";
import {WAD} from "./Wad.sol";

/// @title Adaptive trust weights of evaluators (robust PoQ)
/// @notice Weights are WAD (1e18 = 1.0); a stored 0 means "never updated" and reads as the
///         deployment's initial weight (1.0 by default; at trustMin an evaluator whose weight fell gains
///         nothing by coming back under a fresh key). After a trust-weighted round every revealed seat's weight moves by w <- clip(w (1 + lambda step),
///         min, max), step in [-1, 1] WAD:
///         - PUBLISHED: step = 0.5 - d, d measured against the round's weighted consensus. Any score
///           within 5 points of it gains, so honest weights saturate at max and attackers follow.
///         - ROBUST: step = mean(d) - d, d measured against the median of the revealed scores: a seat
///           gains only by agreeing with the robust center better than its panel does.
/// @dev Mirrored by offchain/protocol/wad.py (`trust_update`); unsigned math, every product floors.
library Trust {
    uint8 internal constant PUBLISHED = 0;
    uint8 internal constant ROBUST = 1;
    /// @dev INFORMATIVE: once per batch, w <- clip(w (1 + lambda I), min, max), I the evaluator's mean
    ///      informativeness over its settled seats (PoQSettlement): agreement with peers beyond the batch's
    ///      own split, which a constant, a random or a colluding pair that only agrees with itself does not
    ///      raise. Weights stay fixed within the batch.
    uint8 internal constant INFORMATIVE = 2;

    function effective(uint64 stored, uint64 initial) internal pure returns (uint256) {
        return stored == 0 ? initial : stored;
    }

    /// @notice The revealed seats' next weights. `scores` and `weights` are in seat order; num/den is
    ///         the weighted consensus the round was settled with.
    function next(
        uint256[] memory scores,
        uint256[] memory weights,
        uint256 num,
        uint256 den,
        uint8 rule,
        uint256 lambda,
        uint256 minWeight,
        uint256 maxWeight
    ) internal pure returns (uint256[] memory out) {
        uint256 n = scores.length;
        out = new uint256[](n);
        uint256[] memory d = new uint256[](n);
        uint256 pivot = WAD / 2;
        if (rule == ROBUST) {
            (num, den) = Consensus.center(_copy(scores), Consensus.MEDIAN);
        }
        uint256 total;
        for (uint256 j; j < n; ++j) {
            d[j] = Consensus.deviation(scores[j], num, den);
            total += d[j];
        }
        if (rule == ROBUST) pivot = total / n;
        for (uint256 j; j < n; ++j) {
            out[j] = _step(weights[j], pivot, d[j], lambda, minWeight, maxWeight);
        }
    }

    /// @notice The INFORMATIVE rule's next weight from an evaluator's summed informativeness over `seats`.
    function informed(uint256 w, int256 information, uint256 seats, uint256 lambda, uint256 minWeight, uint256 maxWeight)
        internal
        pure
        returns (uint256)
    {
        if (seats == 0) return w;
        uint256 magnitude = information >= 0 ? uint256(information) : uint256(-information);
        uint256 step = (lambda * magnitude) / (WAD * seats); // <= lambda <= 1 WAD: the factor stays >= 0
        uint256 moved = (w * (information >= 0 ? WAD + step : WAD - step)) / WAD;
        if (moved < minWeight) return minWeight;
        if (moved > maxWeight) return maxWeight;
        return moved;
    }

    /// @dev clip(w (1 +- lambda |pivot - d|), min, max); lambda <= 1 WAD keeps the factor >= 0.
    function _step(uint256 w, uint256 pivot, uint256 d, uint256 lambda, uint256 minWeight, uint256 maxWeight)
        private
        pure
        returns (uint256)
    {
        uint256 factor = pivot >= d ? WAD + (lambda * (pivot - d)) / WAD : WAD - (lambda * (d - pivot)) / WAD;
        uint256 moved = (w * factor) / WAD;
        if (moved < minWeight) return minWeight;
        if (moved > maxWeight) return maxWeight;
        return moved;
    }

    function _copy(uint256[] memory xs) private pure returns (uint256[] memory ys) {
        ys = new uint256[](xs.length);
        for (uint256 i; i < xs.length; ++i) {
            ys[i] = xs[i];
        }
    }
}
