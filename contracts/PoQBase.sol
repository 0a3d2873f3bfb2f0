// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "./IProofOfQuality.sol";
import {Consensus} from "./libraries/Consensus.sol";
import {Rewards} from "./libraries/Rewards.sol";
import {Trust} from "./libraries/Trust.sol";

/// @title PoQBase: the ProofOfQuality contract's parameters, storage layout and read-only helpers
/// @dev Split from ProofOfQuality so each file stays readable: PoQBase (state), PoQViews (external
///      views), ProofOfQuality (the lifecycle). Only ProofOfQuality is deployed.
abstract contract PoQBase is IProofOfQuality {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant MAX_SCORE = 10_000;
    uint256 internal constant MAX_K = 3;
    uint256 internal constant MAX_WEIGHT = 1e6 * WAD;
    uint256 internal constant MAX_REWARD_UNIT = 1e30;
    uint256 internal constant MAX_TRUST = 18 * WAD; // fits the node's uint64 slot

    uint256 internal immutable ALPHA_F;
    uint256 internal immutable BETA_F;
    uint256 internal immutable ALPHA_M;
    uint256 internal immutable BETA_M;
    uint256 internal immutable SLASH_PENALTY;
    uint256 internal immutable REWARD_UNIT;
    uint256 internal immutable MIN_STAKE;
    uint8 internal immutable K;
    uint8 internal immutable AGGREGATION;
    uint8 internal immutable MAX_POOL_SIZE;
    uint32 internal immutable ANSWER_WINDOW;
    uint32 internal immutable REFERENCE_WINDOW;
    uint32 internal immutable COMMIT_WINDOW;
    uint32 internal immutable REVEAL_WINDOW;
    uint32 internal immutable UNBONDING_DELAY;
    uint32 internal immutable EPOCH_LENGTH;
    uint8 internal immutable TRUST_RULE;
    uint64 internal immutable TRUST_LAMBDA;
    uint64 internal immutable TRUST_MIN;
    uint64 internal immutable TRUST_INITIAL;
    uint64 internal immutable TRUST_MAX;

    struct Node {
        // slot 0: everything a round touches, so settling a participant costs one slot
        uint80 stake; // wei at risk (80 bits hold 1.2M ETH)
        uint80 balance; // wei withdrawable
        Role role;
        Status status;
        uint32 id; // 1-based key of _nodeAt
        uint16 openAssignments; // tasks this node must still answer or score
        uint32 latencyUs; // latest revealed latency; 0 = never reported
        // slot 1: registry and cost-report bookkeeping
        uint8 poolIndex; // position in its role's pool while Active
        uint40 unbondingEnds; // when an Exiting node's stake is released
        uint64 costEpoch; // epoch of the pending cost commitment
        uint64 trustWeight; // WAD; 0 = never updated = TRUST_INITIAL (kept across exit and re-registration)
        // slot 2
        bytes32 costCommitment; // pending cost commitment, 0 when none
        string model;
    }

    struct Task {
        // slot 0
        address requester;
        Phase phase; // stored phase; _phase adds the clock's effect
        uint8 taskKind; // 0 extractive QA, 1 summarization (free for other kinds)
        uint8 committedMask; // bit j: seat j committed
        uint8 revealedMask; // bit j: seat j revealed
        uint32 deadline; // end of the stored phase (uint32 seconds last until 2106)
        uint32 nodeId; // assigned inference node
        // slot 1: escrow and the evaluator panel
        uint80 fee; // wei escrowed from the requester
        uint32 evaluator0; // node ids of the sampled evaluators; 0 = empty seat (seats fill from 0)
        uint32 evaluator1;
        uint32 evaluator2;
        uint16 score0; // revealed scores in [0, MAX_SCORE]
        uint16 score1;
        uint16 score2;
        // slots 2-4: score commitments per seat. Seat 0's slot holds the reference commitment until
        // the commit phase opens: overwriting a used slot costs 5k gas, a fresh one 22k.
        bytes32[MAX_K] commitments;
    }

    mapping(address => Node) internal _nodes;
    mapping(uint32 => address) internal _nodeAt;
    mapping(uint256 => Task) internal _tasks;
    address[] internal _inferencePool;
    address[] internal _evaluatorPool;
    uint32 internal _nodeCount;
    uint256 internal _taskCount;
    uint256 internal _slashed; // wei taken from stakes; held by the contract (a protocol reserve)
    // Latency range of each role's active reporters, one slot (recomputed when a pool or report changes).
    uint32 internal _inferenceMinUs;
    uint32 internal _inferenceMaxUs;
    uint32 internal _evaluatorMinUs;
    uint32 internal _evaluatorMaxUs;
    bool internal transient _locked;

    modifier nonReentrant() {
        if (_locked) revert Reentrancy();
        _locked = true;
        _;
        _locked = false;
    }

    constructor(Params memory p) {
        if (p.k == 0 || p.k > MAX_K) revert InvalidParameter("k", p.k);
        if (p.aggregation > Consensus.TRUST) revert InvalidParameter("aggregation", p.aggregation);
        if (p.trustRule > Trust.ROBUST) revert InvalidParameter("trustRule", p.trustRule);
        if (p.trustLambda > WAD) revert InvalidParameter("trustLambda", p.trustLambda);
        if (p.trustMin == 0 || p.trustMin > WAD) revert InvalidParameter("trustMin", p.trustMin);
        if (p.trustMax < WAD || p.trustMax > MAX_TRUST) revert InvalidParameter("trustMax", p.trustMax);
        if (p.trustInitial < p.trustMin || p.trustInitial > p.trustMax) {
            revert InvalidParameter("trustInitial", p.trustInitial);
        }
        if (p.maxPoolSize < p.k) revert InvalidParameter("maxPoolSize", p.maxPoolSize);
        if (p.alphaF > MAX_WEIGHT) revert InvalidParameter("alphaF", p.alphaF);
        if (p.betaF > MAX_WEIGHT) revert InvalidParameter("betaF", p.betaF);
        if (p.alphaM > MAX_WEIGHT) revert InvalidParameter("alphaM", p.alphaM);
        if (p.betaM > MAX_WEIGHT) revert InvalidParameter("betaM", p.betaM);
        if (p.slashPenalty > MAX_WEIGHT) revert InvalidParameter("slashPenalty", p.slashPenalty);
        if (p.rewardUnit > MAX_REWARD_UNIT) revert InvalidParameter("rewardUnit", p.rewardUnit);
        if (p.minStake > type(uint80).max) revert InvalidParameter("minStake", p.minStake);
        if (p.epochLength == 0) revert InvalidParameter("epochLength", 0);
        ALPHA_F = p.alphaF;
        BETA_F = p.betaF;
        ALPHA_M = p.alphaM;
        BETA_M = p.betaM;
        SLASH_PENALTY = p.slashPenalty;
        REWARD_UNIT = p.rewardUnit;
        MIN_STAKE = p.minStake;
        K = p.k;
        AGGREGATION = p.aggregation;
        MAX_POOL_SIZE = p.maxPoolSize;
        ANSWER_WINDOW = p.answerWindow;
        REFERENCE_WINDOW = p.referenceWindow;
        COMMIT_WINDOW = p.commitWindow;
        REVEAL_WINDOW = p.revealWindow;
        UNBONDING_DELAY = p.unbondingDelay;
        EPOCH_LENGTH = p.epochLength;
        TRUST_RULE = p.trustRule;
        TRUST_LAMBDA = p.trustLambda;
        TRUST_MIN = p.trustMin;
        TRUST_MAX = p.trustMax;
        TRUST_INITIAL = p.trustInitial;
    }

    // ================================================================ read-only helpers

    function _task(uint256 taskId) internal view returns (Task storage t) {
        t = _tasks[taskId];
        if (t.phase == Phase.None) revert UnknownTask(taskId);
    }

    /// @dev The effective phase: the stored one moved forward by the clock. Deadlines of phases
    ///      entered by the clock chain from the previous deadline, so the result is deterministic.
    function _phase(Task storage t) internal view returns (Phase phase, uint256 deadline) {
        phase = t.phase;
        deadline = t.deadline;
        if (phase == Phase.Open) return (block.timestamp > deadline ? Phase.Lapsed : Phase.Open, deadline);
        if (phase == Phase.Answered) {
            if (block.timestamp <= deadline) return (phase, deadline);
            (phase, deadline) = (Phase.Commit, deadline + COMMIT_WINDOW); // no reference: score against the input
        }
        if (phase == Phase.Commit) {
            if (block.timestamp <= deadline && _popcount(t.committedMask) < _seatCount(t)) return (phase, deadline);
            (phase, deadline) = (Phase.Reveal, deadline + REVEAL_WINDOW);
        }
        if (phase == Phase.Reveal && (block.timestamp > deadline || t.revealedMask == t.committedMask)) {
            phase = Phase.Closed;
        }
    }

    function _seatCount(Task storage t) internal view returns (uint256) {
        if (t.evaluator0 == 0) return 0;
        if (t.evaluator1 == 0) return 1;
        return t.evaluator2 == 0 ? 2 : 3;
    }

    function _seatId(Task storage t, uint256 seat) internal view returns (uint32) {
        if (seat == 0) return t.evaluator0;
        if (seat == 1) return t.evaluator1;
        return t.evaluator2;
    }

    function _scoreAt(Task storage t, uint256 seat) internal view returns (uint16) {
        if (seat == 0) return t.score0;
        if (seat == 1) return t.score1;
        return t.score2;
    }

    function _pool(Role role) internal view returns (address[] storage) {
        return role == Role.Inference ? _inferencePool : _evaluatorPool;
    }

    function _normalizedCost(Node storage nd) internal view returns (uint256) {
        (uint32 lo, uint32 hi) =
            nd.role == Role.Inference ? (_inferenceMinUs, _inferenceMaxUs) : (_evaluatorMinUs, _evaluatorMaxUs);
        return Rewards.normalizedCost(nd.latencyUs != 0, nd.latencyUs, lo, hi);
    }

    function _popcount(uint8 x) internal pure returns (uint256 c) {
        while (x != 0) {
            c += x & 1;
            x >>= 1;
        }
    }
}
