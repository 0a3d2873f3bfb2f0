// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "./IProofOfQuality.sol";
import {Commitments} from "./libraries/Commitments.sol";
import {Trust} from "./libraries/Trust.sol";
import {PoQBase} from "./PoQBase.sol";

/// @title PoQViews: every external view of ProofOfQuality
abstract contract PoQViews is PoQBase {
    /// @inheritdoc IProofOfQuality
    function params() external view returns (Params memory) {
        return Params({
            alphaF: ALPHA_F,
            betaF: BETA_F,
            alphaM: ALPHA_M,
            betaM: BETA_M,
            slashPenalty: SLASH_PENALTY,
            rewardUnit: REWARD_UNIT,
            minStake: MIN_STAKE,
            k: K,
            aggregation: AGGREGATION,
            maxPoolSize: MAX_POOL_SIZE,
            answerWindow: ANSWER_WINDOW,
            referenceWindow: REFERENCE_WINDOW,
            commitWindow: COMMIT_WINDOW,
            revealWindow: REVEAL_WINDOW,
            unbondingDelay: UNBONDING_DELAY,
            epochLength: EPOCH_LENGTH,
            trustRule: TRUST_RULE,
            trustLambda: TRUST_LAMBDA,
            trustMin: TRUST_MIN,
            trustMax: TRUST_MAX,
            trustInitial: TRUST_INITIAL
        });
    }

    /// @inheritdoc IProofOfQuality
    /// @dev Rewards are at most alphaF (Q <= 1, cost >= 0) and alphaM per evaluator, each floored to
    ///      wei, so the ceiling of their sum covers every payout.
    function maxPayout() public view returns (uint256) {
        return ((ALPHA_F + uint256(K) * ALPHA_M) * REWARD_UNIT + WAD - 1) / WAD;
    }

    /// @inheritdoc IProofOfQuality
    function getNode(address node) external view returns (NodeView memory v) {
        Node storage nd = _nodes[node];
        v = NodeView({
            role: nd.role,
            status: nd.status,
            id: nd.id,
            openAssignments: nd.openAssignments,
            stake: nd.stake,
            balance: nd.balance,
            latencyUs: nd.latencyUs,
            unbondingEnds: nd.unbondingEnds,
            costCommitment: nd.costCommitment,
            costEpoch: nd.costEpoch,
            model: nd.model,
            trustWeight: Trust.effective(nd.trustWeight, TRUST_INITIAL)
        });
    }

    /// @inheritdoc IProofOfQuality
    function getTask(uint256 taskId) external view returns (TaskView memory v) {
        Task storage t = _task(taskId);
        uint256 count = _seatCount(t);
        (Phase phase, uint256 deadline) = _phase(t);
        v.requester = t.requester;
        v.node = _nodeAt[t.nodeId];
        v.phase = phase;
        v.taskKind = t.taskKind;
        v.deadline = uint64(deadline);
        v.fee = t.fee;
        if (phase == Phase.Open || phase == Phase.Answered) v.referenceCommitment = t.commitments[0];
        v.evaluators = new address[](count);
        v.committed = new bool[](count);
        v.revealed = new bool[](count);
        v.scores = new uint16[](count);
        for (uint256 j; j < count; ++j) {
            v.evaluators[j] = _nodeAt[_seatId(t, j)];
            v.committed[j] = t.committedMask & (1 << j) != 0;
            v.revealed[j] = t.revealedMask & (1 << j) != 0;
            v.scores[j] = _scoreAt(t, j);
        }
    }

    /// @inheritdoc IProofOfQuality
    function phaseOf(uint256 taskId) external view returns (Phase phase, uint64 deadline) {
        uint256 d;
        (phase, d) = _phase(_task(taskId));
        deadline = uint64(d);
    }

    /// @inheritdoc IProofOfQuality
    function pool(Role role) external view returns (address[] memory) {
        return _pool(role);
    }

    /// @inheritdoc IProofOfQuality
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    /// @inheritdoc IProofOfQuality
    function nodeCount() external view returns (uint256) {
        return _nodeCount;
    }

    /// @inheritdoc IProofOfQuality
    function nodeAt(uint32 id) external view returns (address) {
        return _nodeAt[id];
    }

    /// @inheritdoc IProofOfQuality
    function normalizedCost(address node) external view returns (uint256) {
        return _normalizedCost(_nodes[node]);
    }

    /// @inheritdoc IProofOfQuality
    function costRange(Role role) external view returns (uint32 minUs, uint32 maxUs) {
        return role == Role.Inference ? (_inferenceMinUs, _inferenceMaxUs) : (_evaluatorMinUs, _evaluatorMaxUs);
    }

    /// @inheritdoc IProofOfQuality
    function currentEpoch() external view returns (uint256) {
        return block.timestamp / EPOCH_LENGTH;
    }

    /// @inheritdoc IProofOfQuality
    function slashedTotal() external view returns (uint256) {
        return _slashed;
    }

    /// @inheritdoc IProofOfQuality
    function scoreCommitment(uint256 taskId, address evaluator, uint16 score, bytes32 salt)
        external
        view
        returns (bytes32)
    {
        return Commitments.score(block.chainid, address(this), taskId, evaluator, score, salt);
    }

    /// @inheritdoc IProofOfQuality
    function costCommitment(uint256 epoch, address node, uint32 latencyUs, bytes32 salt)
        external
        view
        returns (bytes32)
    {
        return Commitments.cost(block.chainid, address(this), epoch, node, latencyUs, salt);
    }
}
