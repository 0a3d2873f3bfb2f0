// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "./IProofOfQuality.sol";
import {Commitments} from "./libraries/Commitments.sol";
import {Consensus} from "./libraries/Consensus.sol";
import {Rewards} from "./libraries/Rewards.sol";
import {Trust} from "./libraries/Trust.sol";

/// @title ProofOfQuality
/// @notice Stakes, tasks, commit-reveal scores, commit-reveal cost reports and reward payouts.
/// @dev Math lives in the libraries; this contract keeps state and enforces the task lifecycle.
contract ProofOfQuality is IProofOfQuality {
    uint256 private constant WAD = 1e18;
    uint256 private constant MAX_SCORE = 10_000;
    uint256 private constant MAX_K = 3;
    uint256 private constant MAX_WEIGHT = 1e6 * WAD;
    uint256 private constant MAX_REWARD_UNIT = 1e30;
    uint256 private constant MAX_TRUST = 18 * WAD; // fits the node's uint64 slot

    uint256 private immutable ALPHA_F;
    uint256 private immutable BETA_F;
    uint256 private immutable ALPHA_M;
    uint256 private immutable BETA_M;
    uint256 private immutable SLASH_PENALTY;
    uint256 private immutable REWARD_UNIT;
    uint256 private immutable MIN_STAKE;
    uint8 private immutable K;
    uint8 private immutable AGGREGATION;
    uint8 private immutable MAX_POOL_SIZE;
    uint32 private immutable ANSWER_WINDOW;
    uint32 private immutable REFERENCE_WINDOW;
    uint32 private immutable COMMIT_WINDOW;
    uint32 private immutable REVEAL_WINDOW;
    uint32 private immutable UNBONDING_DELAY;
    uint32 private immutable EPOCH_LENGTH;
    uint8 private immutable TRUST_RULE;
    uint64 private immutable TRUST_LAMBDA;
    uint64 private immutable TRUST_MIN;
    uint64 private immutable TRUST_MAX;

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
        uint64 trustWeight; // WAD; 0 = never updated = 1.0 (kept across exit and re-registration)
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

    mapping(address => Node) private _nodes;
    mapping(uint32 => address) private _nodeAt;
    mapping(uint256 => Task) private _tasks;
    address[] private _inferencePool;
    address[] private _evaluatorPool;
    uint32 private _nodeCount;
    uint256 private _taskCount;
    uint256 private _slashed; // wei taken from stakes; held by the contract (a protocol reserve)
    // Latency range of each role's active reporters, one slot (recomputed when a pool or report changes).
    uint32 private _inferenceMinUs;
    uint32 private _inferenceMaxUs;
    uint32 private _evaluatorMinUs;
    uint32 private _evaluatorMaxUs;
    bool private transient _locked;

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
    }

    // ================================================================ registry

    /// @inheritdoc IProofOfQuality
    function register(uint8 roleId, string calldata model) external payable {
        if (roleId != uint8(Role.Inference) && roleId != uint8(Role.Evaluator)) revert InvalidRole(roleId);
        Role role = Role(roleId);
        Node storage nd = _nodes[msg.sender];
        if (nd.status != Status.None && nd.status != Status.Exited) revert AlreadyRegistered(msg.sender);
        if (msg.value < MIN_STAKE) revert StakeBelowMinimum(msg.value, MIN_STAKE);
        if (nd.id == 0) {
            nd.id = ++_nodeCount;
            _nodeAt[nd.id] = msg.sender;
        }
        nd.role = role;
        nd.stake = _toUint80(msg.value);
        nd.latencyUs = 0;
        nd.model = model;
        _activate(msg.sender, nd);
        emit NodeRegistered(msg.sender, nd.id, role, model, msg.value);
    }

    /// @inheritdoc IProofOfQuality
    function addStake() external payable {
        Node storage nd = _nodes[msg.sender];
        if (nd.status != Status.Active && nd.status != Status.Suspended) revert NotActive(msg.sender);
        nd.stake = _toUint80(nd.stake + msg.value);
        if (nd.status == Status.Suspended && nd.stake >= MIN_STAKE) _activate(msg.sender, nd);
        emit StakeAdded(msg.sender, msg.value, nd.stake);
    }

    /// @inheritdoc IProofOfQuality
    function requestExit() external {
        Node storage nd = _nodes[msg.sender];
        if (nd.status != Status.Active && nd.status != Status.Suspended) revert NotActive(msg.sender);
        if (nd.openAssignments != 0) revert NodeHasOpenAssignments(msg.sender, nd.openAssignments);
        if (nd.status == Status.Active) _removeFromPool(nd);
        nd.status = Status.Exiting;
        nd.unbondingEnds = uint40(block.timestamp + UNBONDING_DELAY);
        emit ExitRequested(msg.sender, nd.unbondingEnds);
    }

    /// @inheritdoc IProofOfQuality
    function releaseStake() external {
        Node storage nd = _nodes[msg.sender];
        if (nd.status != Status.Exiting) revert NotExiting(msg.sender);
        if (block.timestamp < nd.unbondingEnds) revert UnbondingNotOver(msg.sender, nd.unbondingEnds);
        uint80 amount = nd.stake;
        nd.stake = 0;
        nd.balance += amount;
        nd.status = Status.Exited;
        emit StakeReleased(msg.sender, amount);
    }

    // ================================================================ costs

    /// @inheritdoc IProofOfQuality
    function commitCost(bytes32 commitment) external {
        Node storage nd = _nodes[msg.sender];
        if (nd.status != Status.Active) revert NotActive(msg.sender);
        uint256 epoch = block.timestamp / EPOCH_LENGTH;
        if (nd.costCommitment != bytes32(0) && nd.costEpoch == epoch) revert CostAlreadyCommitted(msg.sender, epoch);
        nd.costCommitment = commitment;
        nd.costEpoch = uint64(epoch);
        emit CostCommitted(msg.sender, epoch, commitment);
    }

    /// @inheritdoc IProofOfQuality
    function revealCost(uint32 latencyUs, bytes32 salt) external {
        Node storage nd = _nodes[msg.sender];
        if (nd.status != Status.Active) revert NotActive(msg.sender);
        if (nd.costCommitment == bytes32(0)) revert NoCostCommitment(msg.sender);
        uint256 epoch = block.timestamp / EPOCH_LENGTH;
        if (epoch != uint256(nd.costEpoch) + 1) revert CostRevealOutsideEpoch(msg.sender, nd.costEpoch, epoch);
        if (latencyUs == 0) revert LatencyOutOfRange(latencyUs);
        bytes32 expected = Commitments.cost(block.chainid, address(this), nd.costEpoch, msg.sender, latencyUs, salt);
        if (expected != nd.costCommitment) revert CostCommitmentMismatch(msg.sender);
        nd.costCommitment = bytes32(0);
        nd.latencyUs = latencyUs;
        _recomputeCostRange(nd.role);
        emit CostRevealed(msg.sender, nd.costEpoch, latencyUs);
    }

    // ================================================================ tasks

    /// @inheritdoc IProofOfQuality
    function openTask(uint8 taskKind, string calldata input, bytes32 referenceCommitment)
        external
        payable
        returns (uint256 taskId)
    {
        uint256 required = maxPayout();
        if (msg.value < required) revert FeeBelowMaxPayout(msg.value, required);
        if (_inferencePool.length == 0) revert NoInferenceNodes();
        if (_evaluatorPool.length < K) revert NotEnoughEvaluators(K, _evaluatorPool.length);
        taskId = ++_taskCount;
        address node = _storeTask(taskId, taskKind, referenceCommitment);
        uint64 deadline = uint64(block.timestamp + ANSWER_WINDOW);
        emit TaskOpened(taskId, msg.sender, node, taskKind, msg.value, referenceCommitment, deadline, input);
    }

    /// @inheritdoc IProofOfQuality
    function submitAnswer(uint256 taskId, string calldata output) external {
        Task storage t = _task(taskId);
        (Phase phase,) = _phase(t);
        if (phase != Phase.Open) revert WrongPhase(taskId, Phase.Open, phase);
        if (_nodes[msg.sender].id != t.nodeId || t.nodeId == 0) {
            revert NotAssignedNode(taskId, msg.sender, _nodeAt[t.nodeId]);
        }
        bytes32 outputHash = keccak256(bytes(output));
        emit TaskAnswered(taskId, msg.sender, outputHash, output);
        _selectEvaluators(taskId, t, outputHash);
        if (t.commitments[0] != bytes32(0)) {
            t.phase = Phase.Answered; // a reference was committed: wait for it
            t.deadline = uint32(block.timestamp + REFERENCE_WINDOW);
        } else {
            t.phase = Phase.Commit;
            t.deadline = uint32(block.timestamp + COMMIT_WINDOW);
        }
    }

    /// @inheritdoc IProofOfQuality
    function revealReference(uint256 taskId, string calldata referenceText, bytes32 salt) external {
        Task storage t = _task(taskId);
        if (msg.sender != t.requester) revert NotRequester(taskId, msg.sender);
        (Phase phase,) = _phase(t);
        if (phase == Phase.Open && t.commitments[0] == bytes32(0)) revert NoReference(taskId);
        if (phase != Phase.Answered) revert WrongPhase(taskId, Phase.Answered, phase);
        if (Commitments.referenceText(referenceText, salt) != t.commitments[0]) revert ReferenceMismatch(taskId);
        t.phase = Phase.Commit;
        t.deadline = uint32(block.timestamp + COMMIT_WINDOW);
        emit ReferenceRevealed(taskId, referenceText);
    }

    /// @inheritdoc IProofOfQuality
    function commitScore(uint256 taskId, bytes32 commitment) external {
        Task storage t = _task(taskId);
        (Phase phase, uint256 deadline) = _phase(t);
        if (phase != Phase.Commit) revert WrongPhase(taskId, Phase.Commit, phase);
        uint256 seat = _seatOf(taskId, t, msg.sender);
        uint8 bit = uint8(1 << seat);
        if (t.committedMask & bit != 0) revert AlreadyCommitted(taskId, msg.sender);
        t.commitments[seat] = commitment;
        t.committedMask |= bit;
        if (_popcount(t.committedMask) == _seatCount(t)) {
            // everyone committed: the reveal phase opens now instead of at the deadline
            t.phase = Phase.Reveal;
            t.deadline = uint32(block.timestamp + REVEAL_WINDOW);
        } else {
            // materialize a commit phase entered by the clock (reference never revealed)
            t.phase = Phase.Commit;
            t.deadline = uint32(deadline);
        }
        emit ScoreCommitted(taskId, msg.sender, commitment);
    }

    /// @inheritdoc IProofOfQuality
    function revealScore(uint256 taskId, uint16 score, bytes32 salt) external {
        Task storage t = _task(taskId);
        (Phase phase, uint256 deadline) = _phase(t);
        if (phase != Phase.Reveal) revert WrongPhase(taskId, Phase.Reveal, phase);
        uint256 seat = _seatOf(taskId, t, msg.sender);
        uint8 bit = uint8(1 << seat);
        if (t.committedMask & bit == 0) revert NotCommitted(taskId, msg.sender);
        if (t.revealedMask & bit != 0) revert AlreadyRevealed(taskId, msg.sender);
        if (score > MAX_SCORE) revert ScoreOutOfRange(score, MAX_SCORE);
        bytes32 expected = Commitments.score(block.chainid, address(this), taskId, msg.sender, score, salt);
        if (expected != t.commitments[seat]) revert CommitmentMismatch(taskId, msg.sender);
        delete t.commitments[seat]; // no longer needed; the refund lowers the reveal's cost
        _setScore(t, seat, score);
        t.revealedMask |= bit;
        if (t.revealedMask == t.committedMask) {
            t.phase = Phase.Closed; // every committed evaluator revealed: settle without waiting
        } else {
            t.phase = Phase.Reveal;
            t.deadline = uint32(deadline);
        }
        emit ScoreRevealed(taskId, msg.sender, score);
    }

    /// @inheritdoc IProofOfQuality
    function finalize(uint256 taskId) external {
        Task storage t = _task(taskId);
        (Phase phase,) = _phase(t);
        if (phase == Phase.Lapsed) return _expire(taskId, t);
        if (phase != Phase.Closed) revert WrongPhase(taskId, Phase.Closed, phase);
        t.phase = Phase.Finalized;
        (uint256 num, uint256 den, uint256 revealed) = _consensus(t);
        uint256 quality = revealed == 0 ? 0 : Consensus.quality(num, den);
        address node = _nodeAt[t.nodeId];
        // no revealed score means no quality signal: the node is neither paid nor penalized
        int256 nodeReward = revealed == 0
            ? int256(0)
            : Rewards.inferenceReward(ALPHA_F, BETA_F, quality, _normalizedCost(_nodes[node]));
        // every evaluator's cost is read before anyone is settled: a slash that suspends one seat
        // must not move the cost range under the seats settled after it (settle_round takes costs up front)
        uint256[MAX_K] memory costs = _seatCosts(t);
        uint256 paid = _settle(taskId, node, nodeReward);
        uint256 count = _seatCount(t);
        for (uint256 j; j < count; ++j) {
            paid += _settleEvaluator(taskId, t, j, num, den, costs[j]);
        }
        if (AGGREGATION == Consensus.TRUST && revealed != 0) _updateTrust(taskId, t, num, den);
        _refund(taskId, t, t.fee - paid); // fee >= maxPayout >= paid, see maxPayout()
        emit TaskFinalized(taskId, quality, uint8(revealed));
    }

    /// @inheritdoc IProofOfQuality
    function withdraw(uint256 amount) external nonReentrant {
        Node storage nd = _nodes[msg.sender];
        if (amount > nd.balance) revert InsufficientBalance(msg.sender, amount, nd.balance);
        nd.balance -= uint80(amount); // checks-effects-interactions: debit before sending
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
    }

    // ================================================================ views

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
            trustMax: TRUST_MAX
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
            trustWeight: Trust.effective(nd.trustWeight)
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

    // ================================================================ internals: tasks

    function _task(uint256 taskId) private view returns (Task storage t) {
        t = _tasks[taskId];
        if (t.phase == Phase.None) revert UnknownTask(taskId);
    }

    /// @dev The effective phase: the stored one moved forward by the clock. Deadlines of phases
    ///      entered by the clock chain from the previous deadline, so the result is deterministic.
    function _phase(Task storage t) private view returns (Phase phase, uint256 deadline) {
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

    /// @dev Draws the inference node uniformly from its pool and writes the new task.
    function _storeTask(uint256 taskId, uint8 taskKind, bytes32 referenceCommitment) private returns (address node) {
        node = _inferencePool[_random(taskId, 0) % _inferencePool.length];
        Node storage nd = _nodes[node];
        nd.openAssignments += 1;
        Task storage t = _tasks[taskId];
        t.requester = msg.sender;
        t.phase = Phase.Open;
        t.taskKind = taskKind;
        t.deadline = uint32(block.timestamp + ANSWER_WINDOW);
        t.nodeId = nd.id;
        t.fee = _toUint80(msg.value);
        if (referenceCommitment != bytes32(0)) t.commitments[0] = referenceCommitment;
    }

    /// @dev K of M without replacement: the r-th unpicked pool index, r uniform over what is left.
    function _selectEvaluators(uint256 taskId, Task storage t, bytes32 outputHash) private {
        uint256 n = _evaluatorPool.length;
        uint256 count = n < K ? n : K; // the pool may have shrunk since the task opened
        uint256[] memory picked = new uint256[](count); // kept sorted ascending
        uint256 seed = _random(taskId, uint256(outputHash));
        uint32[MAX_K] memory ids;
        for (uint256 j; j < count; ++j) {
            uint256 r = uint256(keccak256(abi.encode(seed, j))) % (n - j);
            uint256 pos;
            while (pos < j && picked[pos] <= r) {
                ++r;
                ++pos;
            }
            for (uint256 m = j; m > pos; --m) {
                picked[m] = picked[m - 1];
            }
            picked[pos] = r;
        }
        for (uint256 j; j < count; ++j) {
            address evaluator = _evaluatorPool[picked[j]];
            Node storage nd = _nodes[evaluator];
            nd.openAssignments += 1;
            ids[j] = nd.id;
            emit EvaluatorSelected(taskId, evaluator, uint8(j));
        }
        t.evaluator0 = ids[0];
        t.evaluator1 = ids[1];
        t.evaluator2 = ids[2];
    }

    function _seatOf(uint256 taskId, Task storage t, address evaluator) private view returns (uint256) {
        uint32 id = _nodes[evaluator].id;
        if (id != 0) {
            uint256 count = _seatCount(t);
            for (uint256 j; j < count; ++j) {
                if (_seatId(t, j) == id) return j;
            }
        }
        revert NotSelectedEvaluator(taskId, evaluator);
    }

    function _seatCount(Task storage t) private view returns (uint256) {
        if (t.evaluator0 == 0) return 0;
        if (t.evaluator1 == 0) return 1;
        return t.evaluator2 == 0 ? 2 : 3;
    }

    function _seatId(Task storage t, uint256 seat) private view returns (uint32) {
        if (seat == 0) return t.evaluator0;
        if (seat == 1) return t.evaluator1;
        return t.evaluator2;
    }

    function _scoreAt(Task storage t, uint256 seat) private view returns (uint16) {
        if (seat == 0) return t.score0;
        if (seat == 1) return t.score1;
        return t.score2;
    }

    function _setScore(Task storage t, uint256 seat, uint16 score) private {
        if (seat == 0) t.score0 = score;
        else if (seat == 1) t.score1 = score;
        else t.score2 = score;
    }

    /// @dev Consensus centre num/den over the revealed scores, and how many were revealed.
    function _consensus(Task storage t) private view returns (uint256 num, uint256 den, uint256 revealed) {
        (uint256[] memory scores, uint256[] memory weights, address[] memory who) = _revealedSeats(t);
        revealed = scores.length;
        if (AGGREGATION == Consensus.TRUST) {
            for (uint256 i; i < revealed; ++i) {
                weights[i] = Trust.effective(_nodes[who[i]].trustWeight);
            }
            (num, den) = Consensus.weightedCenter(scores, weights);
        } else {
            (num, den) = Consensus.center(scores, AGGREGATION); // sorts the copy in `scores`
        }
    }

    /// @dev The revealed seats in seat order: scores, a zeroed weight array, and the evaluators.
    function _revealedSeats(Task storage t)
        private
        view
        returns (uint256[] memory scores, uint256[] memory weights, address[] memory who)
    {
        uint8 mask = t.revealedMask;
        uint256 n = _popcount(mask);
        (scores, weights, who) = (new uint256[](n), new uint256[](n), new address[](n));
        uint256 count = _seatCount(t);
        uint256 i;
        for (uint256 j; j < count; ++j) {
            if (mask & (1 << j) == 0) continue;
            (scores[i], who[i]) = (_scoreAt(t, j), _nodeAt[_seatId(t, j)]);
            ++i;
        }
    }

    /// @dev Moves every revealed seat's trust weight after the round was settled with the old ones.
    function _updateTrust(uint256 taskId, Task storage t, uint256 num, uint256 den) private {
        (uint256[] memory scores, uint256[] memory weights, address[] memory who) = _revealedSeats(t);
        for (uint256 i; i < scores.length; ++i) {
            weights[i] = Trust.effective(_nodes[who[i]].trustWeight);
        }
        uint256[] memory next =
            Trust.next(scores, weights, num, den, TRUST_RULE, TRUST_LAMBDA, TRUST_MIN, TRUST_MAX);
        for (uint256 i; i < scores.length; ++i) {
            _nodes[who[i]].trustWeight = uint64(next[i]); // <= TRUST_MAX < 2^64
            emit TrustUpdated(taskId, who[i], next[i]);
        }
    }

    /// @dev R_M for a revealed seat; the slash penalty for a seat that never revealed.
    function _seatCosts(Task storage t) private view returns (uint256[MAX_K] memory costs) {
        uint256 count = _seatCount(t);
        for (uint256 j; j < count; ++j) {
            costs[j] = _normalizedCost(_nodes[_nodeAt[_seatId(t, j)]]);
        }
    }

    function _settleEvaluator(uint256 taskId, Task storage t, uint256 seat, uint256 num, uint256 den, uint256 cost)
        private
        returns (uint256 paid)
    {
        int256 reward = t.revealedMask & (1 << seat) == 0
            ? -int256(SLASH_PENALTY)
            : Rewards.evaluatorReward(ALPHA_M, BETA_M, Consensus.deviation(_scoreAt(t, seat), num, den), cost);
        return _settle(taskId, _nodeAt[_seatId(t, seat)], reward);
    }

    function _expire(uint256 taskId, Task storage t) private {
        t.phase = Phase.Expired;
        address node = _nodeAt[t.nodeId];
        emit TaskExpired(taskId, node);
        _settle(taskId, node, -int256(SLASH_PENALTY));
        _refund(taskId, t, t.fee);
    }

    function _refund(uint256 taskId, Task storage t, uint256 amount) private {
        if (amount == 0) return;
        _nodes[t.requester].balance += uint80(amount); // amount <= fee < 2**80
        emit FeeRefunded(taskId, t.requester, amount);
    }

    /// @dev Credits a positive reward from the fee or debits a negative one from stake.
    ///      Returns the wei paid out of the fee.
    function _settle(uint256 taskId, address account, int256 rewardWad) private returns (uint256 paid) {
        Node storage nd = _nodes[account];
        int256 amount = Rewards.toWei(rewardWad, REWARD_UNIT);
        nd.openAssignments -= 1;
        if (amount > 0) {
            paid = uint256(amount);
            nd.balance += uint80(paid); // paid <= fee < 2**80
        } else if (amount < 0) {
            amount = -int256(_debitStake(account, nd, uint256(-amount)));
        }
        emit RewardSettled(taskId, account, rewardWad, amount);
    }

    function _debitStake(address account, Node storage nd, uint256 amount) private returns (uint256 debited) {
        debited = amount < nd.stake ? amount : nd.stake;
        nd.stake -= uint80(debited);
        _slashed += debited;
        if (nd.status == Status.Active && nd.stake < MIN_STAKE) {
            _removeFromPool(nd);
            nd.status = Status.Suspended;
            emit NodeSuspended(account, nd.stake);
        }
    }

    // ================================================================ internals: pools and costs

    function _pool(Role role) private view returns (address[] storage) {
        return role == Role.Inference ? _inferencePool : _evaluatorPool;
    }

    function _activate(address account, Node storage nd) private {
        address[] storage p = _pool(nd.role);
        if (p.length >= MAX_POOL_SIZE) revert PoolFull(nd.role, MAX_POOL_SIZE);
        nd.poolIndex = uint8(p.length);
        nd.status = Status.Active;
        p.push(account);
        // a Suspended node rejoining with a reported latency widens the range again (found by
        // tests/contract/test_stateful.py: the range used to stay as it was without the node)
        if (nd.latencyUs != 0) _recomputeCostRange(nd.role);
    }

    /// @dev Swap-and-pop by the node's stored pool index.
    function _removeFromPool(Node storage nd) private {
        address[] storage p = _pool(nd.role);
        uint256 index = nd.poolIndex;
        address last = p[p.length - 1];
        p[index] = last;
        _nodes[last].poolIndex = uint8(index);
        p.pop();
        if (nd.latencyUs != 0) _recomputeCostRange(nd.role);
    }

    /// @dev Min and max latency over the role's active reporters; the loop is bounded by maxPoolSize.
    function _recomputeCostRange(Role role) private {
        address[] storage p = _pool(role);
        uint32 lo = type(uint32).max;
        uint32 hi;
        for (uint256 i; i < p.length; ++i) {
            Node storage nd = _nodes[p[i]];
            if (nd.latencyUs == 0) continue; // never reported
            if (nd.latencyUs < lo) lo = nd.latencyUs;
            if (nd.latencyUs > hi) hi = nd.latencyUs;
        }
        if (hi == 0) lo = 0; // no reporter
        if (role == Role.Inference) (_inferenceMinUs, _inferenceMaxUs) = (lo, hi);
        else (_evaluatorMinUs, _evaluatorMaxUs) = (lo, hi);
    }

    function _normalizedCost(Node storage nd) private view returns (uint256) {
        (uint32 lo, uint32 hi) =
            nd.role == Role.Inference ? (_inferenceMinUs, _inferenceMaxUs) : (_evaluatorMinUs, _evaluatorMaxUs);
        return Rewards.normalizedCost(nd.latencyUs != 0, nd.latencyUs, lo, hi);
    }

    // ================================================================ internals: helpers

    /// @dev prevrandao can be biased by the block producer; a beacon or VRF would plug in here.
    function _random(uint256 taskId, uint256 salt) private view returns (uint256) {
        return uint256(keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), taskId, salt)));
    }

    function _popcount(uint8 x) private pure returns (uint256 c) {
        while (x != 0) {
            c += x & 1;
            x >>= 1;
        }
    }

    function _toUint80(uint256 x) private pure returns (uint80) {
        if (x > type(uint80).max) revert AmountTooLarge(x);
        return uint80(x);
    }
}
