// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev The fixed point of every reward, weight, quality and normalized cost: 1e18 = 1.0. The one
///      definition for the contracts; offchain/protocol/wad.py mirrors it.
uint256 constant WAD = 1e18;

/// @dev The contract's integer score for a perfect answer: scores are in [0, MAX_SCORE], 10_000 = 10.0
///      points on the paper's scale (offchain/protocol/types.py: MAX_SCORE).
uint256 constant MAX_SCORE = 10_000;

/// @dev At most three evaluators per task (the paper's K <= 3); a task's panel fits one packed lane.
uint256 constant MAX_K = 3;
