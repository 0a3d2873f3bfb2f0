// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "./IProofOfQuality.sol";
import {PoQBase} from "./PoQBase.sol";
import {PoQViews} from "./PoQViews.sol";
import {Commitments} from "./libraries/Commitments.sol";
import {Consensus} from "./libraries/Consensus.sol";
import {Rewards} from "./libraries/Rewards.sol";
import {Trust} from "./libraries/Trust.sol";

/// @title ProofOfQuality
/// @notice Stakes, tasks, commit-reveal scores, commit-reveal cost reports and reward payouts.
/// @dev Math lives in the libraries, state and read-only helpers in PoQBase, views in PoQViews; this
///      contract enforces the task lifecycle.
contract ProofOfQuality is PoQViews {
    constructor(Params memory p) PoQBase(p) {}

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
        (uint256 num, uint256 den, RevealedSeats memory seats) = _consensus(t);
        uint256 revealed = seats.who.length;
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
        if (AGGREGATION == Consensus.TRUST && revealed != 0) _updateTrust(taskId, seats, num, den);
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

    // ================================================================ internals

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

    function _setScore(Task storage t, uint256 seat, uint16 score) private {
        if (seat == 0) t.score0 = score;
        else if (seat == 1) t.score1 = score;
        else t.score2 = score;
    }

    /// @dev The revealed seats in seat order. `weights` is filled (effective trust weights) only
    ///      under trust aggregation; other modes sort `scores` in place.
    struct RevealedSeats {
        uint256[] scores;
        uint256[] weights;
        address[] who;
    }

    /// @dev Consensus center num/den over the revealed scores, and the seats it was computed from:
    ///      trust mode hands them on to `_updateTrust`, so each weight is loaded once.
    function _consensus(Task storage t)
        private
        view
        returns (uint256 num, uint256 den, RevealedSeats memory seats)
    {
        seats = _revealedSeats(t);
        if (AGGREGATION == Consensus.TRUST) {
            for (uint256 i; i < seats.who.length; ++i) {
                seats.weights[i] = Trust.effective(_nodes[seats.who[i]].trustWeight, TRUST_INITIAL);
            }
            (num, den) = Consensus.weightedCenter(seats.scores, seats.weights);
        } else {
            (num, den) = Consensus.center(seats.scores, AGGREGATION); // sorts `scores`
        }
    }

    function _revealedSeats(Task storage t) private view returns (RevealedSeats memory seats) {
        uint8 mask = t.revealedMask;
        uint256 n = _popcount(mask);
        seats = RevealedSeats(new uint256[](n), new uint256[](n), new address[](n));
        uint256 count = _seatCount(t);
        uint256 i;
        for (uint256 j; j < count; ++j) {
            if (mask & (1 << j) == 0) continue;
            (seats.scores[i], seats.who[i]) = (_scoreAt(t, j), _nodeAt[_seatId(t, j)]);
            ++i;
        }
    }

    /// @dev Moves every revealed seat's trust weight after the round was settled with the old ones.
    function _updateTrust(uint256 taskId, RevealedSeats memory seats, uint256 num, uint256 den) private {
        uint256[] memory next =
            Trust.next(seats.scores, seats.weights, num, den, TRUST_RULE, TRUST_LAMBDA, TRUST_MIN, TRUST_MAX);
        for (uint256 i; i < next.length; ++i) {
            _nodes[seats.who[i]].trustWeight = uint64(next[i]); // <= TRUST_MAX < 2^64
            emit TrustUpdated(taskId, seats.who[i], next[i]);
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

    /// @dev prevrandao can be biased by the block producer; a beacon or VRF would plug in here.
    function _random(uint256 taskId, uint256 salt) private view returns (uint256) {
        return uint256(keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), taskId, salt)));
    }

    function _toUint80(uint256 x) private pure returns (uint80) {
        if (x > type(uint80).max) revert AmountTooLarge(x);
        return uint80(x);
    }
}
