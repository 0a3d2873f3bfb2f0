// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPoQTypes} from "./PoQTypes.sol";
import {Consensus} from "./libraries/Consensus.sol";
import {CostQuantile} from "./libraries/CostQuantile.sol";
import {Trust} from "./libraries/Trust.sol";
import {MAX_K, WAD} from "./libraries/Wad.sol";

/// @title PoQBase: parameters, storage layout and the read-only helpers every part shares
/// @dev ProofOfQuality is split by concern: PoQBase (state), PoQPools (pools and their snapshots),
///      PoQRegistry (registration, stake, exits, declared costs, withdrawals), PoQViews (external views),
///      PoQSettlement (finalize's math, deployed as PoQBatchModule and run by delegatecall, so each
///      deployed contract stays under the 24 KiB code limit) and ProofOfQuality (the batch lifecycle).
abstract contract PoQBase is IPoQTypes {
    uint256 internal constant MAX_WEIGHT = 1e6 * WAD;
    uint256 internal constant MAX_REWARD_UNIT = 1e30;
    uint256 internal constant MAX_TRUST = 18 * WAD; // fits the node's uint64 slot
    uint256 internal constant MAX_POOL = 32; // per role: 8 words of 4 packed entries
    uint256 internal constant POOL_WORDS = 8;
    uint256 internal constant MAX_BATCH = 256; // a batch's expired tasks fit one uint256 mask
    /// @dev A batch draws from the hash of the block after the one that opened it: nobody acting when the
    ///      batch was opened (requester, nodes, anyone retrying a reverted call) can know it.
    uint256 internal constant DRAW_DELAY = 1;

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
    uint64 internal immutable TRUST_MAX;
    uint64 internal immutable TRUST_INITIAL;
    uint64 internal immutable COST_SMOOTHING;
    uint16 internal immutable MAX_BATCH_SIZE;
    address internal immutable TREASURY;
    uint8 internal immutable EVALUATOR_REWARD;
    uint8 internal immutable COST_RULE;
    uint64 internal immutable COST_QUANTILE;
    uint8 internal immutable FEE_RULE;
    uint256 internal immutable REFERENCE_BOND;
    /// @dev Whether settlement measures informativeness: the peer rule pays it, the informative trust rule moves on it.
    bool internal immutable INFORMED;

    uint8 internal constant REWARD_PAPER = 0; // Eqs. 3-5: closeness to the consensus centre
    uint8 internal constant REWARD_PEER = 1; // informativeness: agreement with the panel beyond the batch's own split
    uint8 internal constant COST_MINMAX = 0; // the paper's min-max over the pool
    uint8 internal constant COST_QUANTILE_RULE = 1; // relative to twice a stake-weighted quantile of the pool
    uint8 internal constant FEE_REFUND = 0; // the unpaid fee goes back to the requester
    uint8 internal constant FEE_FIXED = 1; // a fixed price per answered task; the unpaid part to the treasury

    struct Node {
        // slot 0: everything settlement touches, so settling a participant writes one slot
        uint88 stake; // wei at risk
        uint88 balance; // wei withdrawable
        Role role;
        Status status;
        uint32 id; // 1-based key of _nodeAt
        uint32 openBatches; // drawn batches not yet finalized
        // slot 1: measured cost, pool position, trust, exit bookkeeping
        uint32 costUs; // moving average of measured microseconds per item
        uint16 costSamples; // observations behind costUs (saturating)
        uint32 declaredUs; // latest revealed declared latency
        uint8 poolIndex; // entry in its role's pool while Active
        uint40 unbondingEnds;
        uint64 trustWeight; // WAD; 0 = never updated = TRUST_INITIAL (kept across exit and re-registration)
        uint64 exitBatch; // batches up to this id may still draw the node after its exit request
        // slot 2
        bytes32 costCommitment; // pending declared-cost commitment, 0 when none
        // slot 3
        uint64 costEpoch;
        string model;
    }

    struct Batch {
        // slot 0
        address requester;
        Stage stage; // stored stage; _stage adds the clock's effect
        uint16 size;
        uint8 inferenceCount; // participants [0, inferenceCount) answer, the rest evaluate
        uint8 participantCount;
        uint8 pendingAnswers; // inference participants yet to answer
        uint8 pendingCommits; // evaluator participants yet to commit
        uint8 pendingReveals; // committed evaluators yet to reveal
        uint32 poolVersion; // the pools this batch is drawn from (see PoQPools._touchPools)
        // slot 1
        uint40 drawBlock;
        uint32 openedAt;
        uint32 stageStart; // when the stored stage began
        uint32 deadline; // when the stored stage ends at the latest
        uint48 firstTaskId;
        bool hasReference;
        bool referencesRevealed;
        // slot 2
        uint96 fee; // wei escrowed
        // slot 3
        bytes32 referenceCommitment;
    }

    mapping(address => Node) internal _nodes;
    mapping(uint32 => address) internal _nodeAt;
    mapping(uint256 => Batch) internal _batches;
    /// @dev Per batch: task lanes, participant lanes (Packing.sol), and per evaluator participant its score
    ///      commitment, replaced by the hash of its revealed scores when it reveals.
    mapping(uint256 => mapping(uint256 => uint256)) internal _taskWords;
    mapping(uint256 => mapping(uint256 => uint256)) internal _participantWords;
    mapping(uint256 => mapping(uint256 => bytes32)) internal _scoreCommitments;

    /// @dev The live pools: entry i of role r is lane i % 4 of word r * POOL_WORDS + i / 4, a 64-bit
    ///      lane holding (node id 32 | units 32). Index 0 inference, 1 evaluators.
    uint256[16] internal _poolWords;
    uint8[2] internal _poolSizes;
    uint32 internal _poolVersion;
    /// @dev Copies of the pools as undrawn batches saw them, taken before a change (see _touchPools).
    mapping(uint32 => uint256[16]) internal _archivedWords;
    mapping(uint32 => uint8[2]) internal _archivedSizes;

    uint32 internal _nodeCount;
    uint64 internal _batchCount;
    uint64 internal _drawnCount;
    uint64 internal _taskCount;
    uint256 internal _totalStake;
    uint256 internal _totalBalance;
    uint256 internal _escrow;
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
        if (p.trustRule > Trust.INFORMATIVE) revert InvalidParameter("trustRule", p.trustRule);
        if (p.trustLambda > WAD) revert InvalidParameter("trustLambda", p.trustLambda);
        if (p.trustMin == 0 || p.trustMin > WAD) revert InvalidParameter("trustMin", p.trustMin);
        if (p.trustMax < WAD || p.trustMax > MAX_TRUST) revert InvalidParameter("trustMax", p.trustMax);
        if (p.trustInitial < p.trustMin || p.trustInitial > p.trustMax) {
            revert InvalidParameter("trustInitial", p.trustInitial);
        }
        if (p.maxPoolSize < p.k || p.maxPoolSize > MAX_POOL) revert InvalidParameter("maxPoolSize", p.maxPoolSize);
        if (p.alphaF > MAX_WEIGHT) revert InvalidParameter("alphaF", p.alphaF);
        if (p.betaF > MAX_WEIGHT) revert InvalidParameter("betaF", p.betaF);
        if (p.alphaM > MAX_WEIGHT) revert InvalidParameter("alphaM", p.alphaM);
        if (p.betaM > MAX_WEIGHT) revert InvalidParameter("betaM", p.betaM);
        if (p.slashPenalty > MAX_WEIGHT) revert InvalidParameter("slashPenalty", p.slashPenalty);
        if (p.rewardUnit > MAX_REWARD_UNIT) revert InvalidParameter("rewardUnit", p.rewardUnit);
        if (p.minStake == 0 || p.minStake > type(uint88).max) revert InvalidParameter("minStake", p.minStake);
        if (p.epochLength == 0) revert InvalidParameter("epochLength", 0);
        if (p.costSmoothing == 0 || p.costSmoothing > WAD) revert InvalidParameter("costSmoothing", p.costSmoothing);
        if (p.maxBatchSize == 0 || p.maxBatchSize > MAX_BATCH) revert InvalidParameter("maxBatchSize", p.maxBatchSize);
        // a seat's peers are the other seats of its task: with k = 1 the peer rule would pay nobody
        if (p.evaluatorReward > REWARD_PEER || (p.evaluatorReward == REWARD_PEER && p.k < 2)) {
            revert InvalidParameter("evaluatorReward", p.evaluatorReward);
        }
        if (p.costRule > COST_QUANTILE_RULE) revert InvalidParameter("costRule", p.costRule);
        if (p.costQuantile == 0 || p.costQuantile >= WAD) revert InvalidParameter("costQuantile", p.costQuantile);
        if (p.feeRule > FEE_FIXED) revert InvalidParameter("feeRule", p.feeRule);
        if (p.referenceBond > type(uint88).max) revert InvalidParameter("referenceBond", p.referenceBond);
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
        COST_SMOOTHING = p.costSmoothing;
        MAX_BATCH_SIZE = p.maxBatchSize;
        TREASURY = p.treasury == address(0) ? msg.sender : p.treasury;
        EVALUATOR_REWARD = p.evaluatorReward;
        COST_RULE = p.costRule;
        COST_QUANTILE = p.costQuantile;
        FEE_RULE = p.feeRule;
        REFERENCE_BOND = p.referenceBond;
        INFORMED = p.evaluatorReward == REWARD_PEER || (p.aggregation == Consensus.TRUST && p.trustRule == Trust.INFORMATIVE);
    }

    // ================================================================ read-only helpers

    function _params() internal view returns (Params memory) {
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
            trustInitial: TRUST_INITIAL,
            costSmoothing: COST_SMOOTHING,
            maxBatchSize: MAX_BATCH_SIZE,
            treasury: TREASURY,
            evaluatorReward: EVALUATOR_REWARD,
            costRule: COST_RULE,
            costQuantile: COST_QUANTILE,
            feeRule: FEE_RULE,
            referenceBond: REFERENCE_BOND
        });
    }

    function _paramsHash() internal view returns (bytes32) {
        return keccak256(abi.encode(_params()));
    }

    function _batch(uint256 batchId) internal view returns (Batch storage b) {
        b = _batches[batchId];
        if (b.stage == Stage.None) revert UnknownBatch(batchId);
    }

    /// @dev The effective stage: the stored one moved forward by the clock, with the start and deadline
    ///      of that stage. A stage entered by the clock starts at the deadline of the one before, so the
    ///      result is deterministic.
    function _stage(Batch storage b) internal view returns (Stage stage, uint256 start, uint256 deadline) {
        (stage, start, deadline) = (b.stage, b.stageStart, b.deadline);
        if (stage == Stage.Answering) {
            if (block.timestamp <= deadline) return (stage, start, deadline); // answers close the stage early themselves
            if (b.pendingAnswers == b.inferenceCount) return (Stage.Closed, deadline, deadline); // nobody answered
            (stage, start) = b.hasReference ? (Stage.Referencing, deadline) : (Stage.Committing, deadline);
            deadline = start + (b.hasReference ? REFERENCE_WINDOW : COMMIT_WINDOW);
        }
        if (stage == Stage.Referencing) {
            if (block.timestamp <= deadline) return (stage, start, deadline);
            (stage, start, deadline) = (Stage.Committing, deadline, deadline + COMMIT_WINDOW); // score against inputs
        }
        if (stage == Stage.Committing) {
            if (block.timestamp <= deadline) return (stage, start, deadline); // the last commit closes it early
            (stage, start, deadline) = (Stage.Revealing, deadline, deadline + REVEAL_WINDOW);
        }
        if (stage == Stage.Revealing && (block.timestamp > deadline || b.pendingReveals == 0)) {
            (stage, start) = (Stage.Closed, block.timestamp > deadline ? deadline : start);
        }
    }

    /// @dev The range [lo, hi] a role's measured costs are normalized over (Rewards.normalizedCost); (0, 0)
    ///      when no active node is measured. minmax: the lowest and highest measured cost, as in the paper,
    ///      so one slow key moves everybody's C. quantile: [0, 2 q], q the stake-weighted COST_QUANTILE
    ///      of the measured costs (the lowest cost whose nodes and those below hold more than that share of
    ///      the measured units), capped to 32 bits ([0, 1] when q is 0): a coalition with share s of the role's units moves q
    ///      only to the honest quantile at COST_QUANTILE +- s, whatever costs it reports.
    function _costRange(uint256 r) internal view returns (uint256 lo, uint256 hi) {
        uint256 n = _poolSizes[r];
        uint256[] memory costs = new uint256[](n);
        uint256[] memory units = new uint256[](n);
        uint256 measured;
        uint256 total;
        lo = type(uint256).max;
        for (uint256 i; i < n; ++i) {
            (uint256 word, uint256 shift) = _poolWord(r, i);
            uint256 lane = _poolWords[word] >> shift;
            Node storage nd = _nodes[_nodeAt[uint32(lane)]];
            if (nd.costSamples == 0) continue;
            uint256 cost = nd.costUs;
            if (cost < lo) lo = cost;
            if (cost > hi) hi = cost;
            (costs[measured], units[measured]) = (cost, uint32(lane >> 32));
            total += units[measured++];
        }
        if (measured == 0) return (0, 0);
        if (COST_RULE == COST_MINMAX) return (lo, hi);
        uint256 quantileCost = CostQuantile.weighted(costs, units, measured, total, COST_QUANTILE);
        // a pool whose quantile node answers within the open's second (0 us) charges any slower node
        // the full cost: the limit of cost / 2q as q falls to 0, instead of nobody paying anything
        hi = quantileCost == 0 ? 1 : 2 * quantileCost;
        return (0, hi > type(uint32).max ? type(uint32).max : hi);
    }

    /// @dev Rewards are at most alphaF (Q <= 1, cost >= 0) and alphaM per evaluator (1 - d <= 1 and I <= 1),
    ///      each floored to wei, so the ceiling of their sum covers every payout of a task.
    function _maxPayout() internal view returns (uint256) {
        return ((ALPHA_F + uint256(K) * ALPHA_M) * REWARD_UNIT + WAD - 1) / WAD;
    }

    function _units(uint256 stake) internal view returns (uint256) {
        uint256 units = stake / MIN_STAKE;
        return units > type(uint32).max ? type(uint32).max : units;
    }

    function _poolWord(uint256 roleIndex, uint256 i) internal pure returns (uint256 word, uint256 shift) {
        return (roleIndex * POOL_WORDS + i / 4, 64 * (i % 4));
    }

    function _roleIndex(Role role) internal pure returns (uint256) {
        return role == Role.Inference ? 0 : 1;
    }

    function _toUint88(uint256 x) internal pure returns (uint88) {
        if (x > type(uint88).max) revert AmountTooLarge(x);
        return uint88(x);
    }
}
