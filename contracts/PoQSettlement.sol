// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PoQPools} from "./PoQPools.sol";
import {Consensus} from "./libraries/Consensus.sol";
import {Packing} from "./libraries/Packing.sol";
import {Peer} from "./libraries/Peer.sol";
import {Rewards} from "./libraries/Rewards.sol";
import {Trust} from "./libraries/Trust.sol";

/// @title PoQSettlement: finalize a batch, every task by Eqs. 1-5 exactly as a round of its own
/// @notice Tasks settle in order, each by the paper's equations with the costs and trust weights read
///         when the batch closed; each reward is converted to wei on its own, so a batch pays exactly
///         what its tasks would have paid one by one. A participant's rewards are then summed and
///         written once: credits to its balance, debits from its stake to the treasury.
/// @dev Runs in PoQBatchModule by delegatecall. Mirrored by offchain/protocol/batch.py (`settle_batch`).
abstract contract PoQSettlement is PoQPools {
    /// @dev What settlement knows of one participant; loaded once, written once.
    struct Party {
        address account;
        uint256 items;
        uint8 flags;
        uint256 cost; // normalized cost C (WAD), read before anyone is settled
        uint256 weight; // trust weight (WAD), moved task by task in trust mode
        uint256 cursor; // the evaluator's next seat (its scores are in seat order)
        uint256 jobs;
        int256 rewardWad;
        int256 earnedWad; // fixed fee rule: the rewards for work (not the slashes), netted over the batch
        uint256 credit; // wei to the balance
        uint256 debit; // wei from the stake
        uint16[] scores; // an evaluator's revealed scores in seat order (copied once from the calldata)
        uint256 median2; // twice the median of its revealed scores (Peer.sol), when informativeness is used
        int256 information; // summed informativeness of its settled seats (WAD)
        uint256 informedSeats;
    }

    /// @dev A task's revealed seats in seat order, and the scratch its consensus sorts; allocated once per
    ///      batch and reused by every task (the arrays' lengths are set to the task's revealed count).
    struct Seats {
        uint256[] scores;
        uint256[] weights;
        uint256[] parties;
        uint256[] sorted;
        int256[] signs; // each revealed seat's split sign (Peer.splitSign)
        int256 signTotal;
        uint256 count;
    }

    /// @dev IProofOfQuality.finalize: settle a Closed batch. Runs in the PoQ contract's storage.
    ///      `revealed` holds each evaluator participant's revealed scores (empty for one that did not
    ///      reveal), checked against the hash its reveal stored.
    function _finalize(uint256 batchId, uint16[][] calldata revealed, uint16[2][] calldata middles) internal {
        Batch storage b = _batch(batchId);
        (Stage stage,,) = _stage(b);
        if (stage != Stage.Closed) revert WrongStage(batchId, Stage.Closed, stage);
        b.stage = Stage.Finalized;
        Party[] memory parties = _loadParties(batchId, b, revealed, middles);
        (uint256[] memory quality, int256[] memory rewards, uint256 expiredMask, uint256 expired) =
            _settleTasks(batchId, b.size, parties);
        uint256 paid = _applyParties(batchId, parties);
        uint256 refund = _settleFee(batchId, b, paid, b.size - expired);
        emit BatchFinalized(batchId, b.firstTaskId, expiredMask, quality, rewards, paid, refund);
        _clear(batchId, b, parties.length);
    }

    /// @dev Settles every task in order: Q, the node's reward and one per seat (`rewards`: 1 + K per
    ///      task), or the node's slash for a task it never answered (bit t of `expiredMask`).
    function _settleTasks(uint256 batchId, uint256 size, Party[] memory parties)
        internal
        view
        returns (uint256[] memory quality, int256[] memory rewards, uint256 expiredMask, uint256 expired)
    {
        quality = new uint256[](size);
        rewards = new int256[](size * (1 + K));
        Seats memory seats =
            Seats(new uint256[](K), new uint256[](K), new uint256[](K), new uint256[](K), new int256[](K), 0, 0);
        uint256 word;
        for (uint256 t; t < size; ++t) {
            if (t % Packing.TASKS_PER_WORD == 0) word = _taskWords[batchId][t / Packing.TASKS_PER_WORD];
            uint256 lane = (word >> (32 * (t % Packing.TASKS_PER_WORD))) & 0xFFFFFFFF;
            if (parties[Packing.nodeOf(lane)].flags & Packing.ANSWERED == 0) {
                expiredMask |= 1 << t;
                ++expired;
                _expireTask(lane, parties, rewards, t * (1 + K));
            } else {
                _revealedSeats(lane, parties, seats);
                quality[t] = _settleTask(lane, parties, seats, rewards, t * (1 + K));
            }
        }
    }

    // ================================================================ per task

    /// @dev Settles one answered task: consensus over its revealed seats, R_F for the node, R_M for each
    ///      revealed seat, the slash for each seat that never revealed. Returns Q.
    function _settleTask(uint256 lane, Party[] memory parties, Seats memory seats, int256[] memory rewards, uint256 at)
        internal
        view
        returns (uint256 quality)
    {
        (uint256 num, uint256 den) = _center(seats);
        // no revealed score means no quality signal: the node is neither paid nor penalized
        if (seats.count != 0) quality = Consensus.quality(num, den);
        Party memory node = parties[Packing.nodeOf(lane)];
        rewards[at] = seats.count == 0 ? int256(0) : Rewards.inferenceReward(ALPHA_F, BETA_F, quality, node.cost);
        _book(node, rewards[at], false);
        _settleSeats(lane, parties, seats, num, den, rewards, at + 1);
        if (AGGREGATION == Consensus.TRUST && TRUST_RULE != Trust.INFORMATIVE && seats.count != 0) {
            uint256[] memory next =
                Trust.next(seats.scores, seats.weights, num, den, TRUST_RULE, TRUST_LAMBDA, TRUST_MIN, TRUST_MAX);
            for (uint256 i; i < seats.count; ++i) {
                parties[seats.parties[i]].weight = next[i];
            }
        }
    }

    /// @dev R_M for each revealed seat: by Eqs. 3-5 against the center num/den (paper) or by its
    ///      informativeness (peer); the slash for a seat that never revealed.
    function _settleSeats(
        uint256 lane,
        Party[] memory parties,
        Seats memory seats,
        uint256 num,
        uint256 den,
        int256[] memory rewards,
        uint256 at
    ) internal view {
        uint256 revealed;
        for (uint256 j; j < K; ++j) {
            Party memory party = parties[Packing.seatOf(lane, j)];
            int256 reward = -int256(SLASH_PENALTY);
            if (party.flags & Packing.REVEALED != 0) {
                int256 information;
                if (INFORMED) {
                    information = Peer.seatInformation(seats.signs[revealed], seats.signTotal, seats.count);
                    (party.information, party.informedSeats) = (party.information + information, party.informedSeats + 1);
                }
                reward = EVALUATOR_REWARD == REWARD_PEER
                    ? Rewards.peerReward(ALPHA_M, BETA_M, information, party.cost)
                    : Rewards.evaluatorReward(
                        ALPHA_M, BETA_M, Consensus.deviation(seats.scores[revealed], num, den), party.cost
                    );
                ++revealed;
            }
            _book(party, reward, party.flags & Packing.REVEALED == 0);
            rewards[at + j] = reward;
        }
    }

    /// @dev A task its node never answered: the node pays the slash penalty; its seats are void (their
    ///      evaluators' scores for it are skipped, neither paid nor slashed).
    function _expireTask(uint256 lane, Party[] memory parties, int256[] memory rewards, uint256 at) internal view {
        int256 penalty = -int256(SLASH_PENALTY);
        _book(parties[Packing.nodeOf(lane)], penalty, true);
        rewards[at] = penalty;
        for (uint256 j; j < K; ++j) {
            parties[Packing.seatOf(lane, j)].cursor += 1;
        }
    }

    /// @dev Fills `seats` with a task's revealed seats, in seat order.
    function _revealedSeats(uint256 lane, Party[] memory parties, Seats memory seats) internal view {
        (uint256[] memory scores, uint256[] memory weights, uint256[] memory who) =
            (seats.scores, seats.weights, seats.parties);
        uint256 k = who.length; // the scratch keeps its capacity K in `parties`
        assembly ("memory-safe") {
            mstore(scores, k) // back to full length before filling
            mstore(weights, k)
        }
        uint256 n;
        int256 total;
        for (uint256 j; j < k; ++j) {
            uint256 e = Packing.seatOf(lane, j);
            Party memory party = parties[e];
            uint256 index = party.cursor++;
            if (party.flags & Packing.REVEALED == 0) continue;
            (scores[n], weights[n], who[n]) = (party.scores[index], party.weight, e);
            if (INFORMED) {
                int256 sign = Peer.splitSign(scores[n], party.median2);
                (seats.signs[n], total) = (sign, total + sign);
            }
            ++n;
        }
        (seats.count, seats.signTotal) = (n, total);
        assembly ("memory-safe") {
            mstore(scores, n) // trim to the revealed seats
            mstore(weights, n)
        }
    }

    /// @dev The consensus center num/den of a task's revealed scores (the scores stay in seat order).
    function _center(Seats memory seats) internal view returns (uint256 num, uint256 den) {
        if (AGGREGATION == Consensus.TRUST) return Consensus.weightedCenter(seats.scores, seats.weights);
        if (AGGREGATION == Consensus.MEAN) return Consensus.center(seats.scores, Consensus.MEAN); // no sort
        uint256[] memory sorted = seats.sorted;
        uint256 n = seats.count;
        for (uint256 i; i < n; ++i) {
            sorted[i] = seats.scores[i];
        }
        assembly ("memory-safe") {
            mstore(sorted, n)
        }
        (num, den) = Consensus.center(sorted, AGGREGATION); // sorts its copy
        uint256 k = seats.parties.length;
        assembly ("memory-safe") {
            mstore(sorted, k)
        }
    }

    /// @dev Adds one settled job to a participant. Refund fee rule: its reward floored to wei on its own,
    ///      credited or debited. Fixed fee rule: a slash is debited on its own, rewards for work are netted
    ///      over the batch and only a positive net is paid (`_applyParties`), so no quality signal (a
    ///      requester's bogus references included) ever takes stake: only missed work does.
    function _book(Party memory party, int256 rewardWad, bool slash) internal view {
        party.jobs += 1;
        party.rewardWad += rewardWad;
        if (FEE_RULE == FEE_FIXED && !slash) {
            party.earnedWad += rewardWad;
            return;
        }
        int256 amount = Rewards.toWei(rewardWad, REWARD_UNIT);
        if (amount > 0) party.credit += uint256(amount);
        else party.debit += uint256(-amount);
    }

    // ================================================================ per participant

    /// @dev Every participant's flags, normalized cost and trust weight, before anyone is settled: a
    ///      suspension during settlement cannot move the cost range under the participants after it. Each
    ///      evaluator's revealed scores are checked against the hash its reveal stored.
    function _loadParties(uint256 batchId, Batch storage b, uint16[][] calldata revealed, uint16[2][] calldata middles)
        internal
        view
        returns (Party[] memory parties)
    {
        uint256 inferenceCount = b.inferenceCount;
        parties = new Party[](b.participantCount);
        if (revealed.length != parties.length - inferenceCount) {
            revert LengthMismatch(parties.length - inferenceCount, revealed.length);
        }
        if (INFORMED && middles.length != revealed.length) revert LengthMismatch(revealed.length, middles.length);
        uint256[4] memory ranges; // lo and hi of each role
        (ranges[0], ranges[1]) = _costRange(0);
        (ranges[2], ranges[3]) = _costRange(1);
        for (uint256 p; p < parties.length; ++p) {
            parties[p] = _loadParty(batchId, p, p < inferenceCount ? 0 : 2, ranges);
        }
        for (uint256 p = inferenceCount; p < parties.length; ++p) {
            _checkRevealed(batchId, p, parties[p], revealed[p - inferenceCount]);
            if (INFORMED && parties[p].flags & Packing.REVEALED != 0) {
                (uint16 lower, uint16 upper) = (middles[p - inferenceCount][0], middles[p - inferenceCount][1]);
                if (!Peer.areMiddles(parties[p].scores, lower, upper)) {
                    revert MiddlesMismatch(batchId, parties[p].account, lower, upper);
                }
                parties[p].median2 = uint256(lower) + upper;
            }
        }
    }

    function _loadParty(uint256 batchId, uint256 p, uint256 range, uint256[4] memory ranges)
        internal
        view
        returns (Party memory party)
    {
        (uint32 id, uint16 items, uint8 flags) = Packing.readParticipant(_participantWords[batchId], p);
        (party.account, party.items, party.flags) = (_nodeAt[id], items, flags);
        Node storage nd = _nodes[party.account];
        party.cost = Rewards.normalizedCost(nd.costSamples != 0, nd.costUs, ranges[range], ranges[range + 1]);
        party.weight = Trust.effective(nd.trustWeight, TRUST_INITIAL);
    }

    /// @dev A revealer's scores must be the ones it revealed; a silent evaluator's entry must be empty.
    function _checkRevealed(uint256 batchId, uint256 p, Party memory party, uint16[] calldata scores) internal view {
        bool matches = party.flags & Packing.REVEALED != 0
            ? scores.length == party.items && keccak256(abi.encode(scores)) == _scoreCommitments[batchId][p]
            : scores.length == 0;
        if (!matches) revert RevealedScoresMismatch(batchId, party.account);
        party.scores = scores;
    }

    /// @dev Writes each participant once: balance, stake (debits go to the treasury), trust, pool status.
    ///      Returns the wei paid out of the fee.
    function _applyParties(uint256 batchId, Party[] memory parties) internal returns (uint256 paid) {
        uint256 slashed;
        for (uint256 p; p < parties.length; ++p) {
            Party memory party = parties[p];
            Node storage nd = _nodes[party.account];
            nd.openBatches -= 1;
            if (party.earnedWad > 0) party.credit += uint256(Rewards.toWei(party.earnedWad, REWARD_UNIT));
            uint256 debited = party.debit < nd.stake ? party.debit : nd.stake;
            nd.balance += uint88(party.credit); // credit <= fee < 2^88
            nd.stake -= uint88(debited);
            (paid, slashed) = (paid + party.credit, slashed + debited);
            if (party.flags & Packing.REVEALED != 0) _afterReveal(batchId, party, nd);
            if (debited != 0) _afterDebit(party.account, nd);
            emit RewardsSettled(batchId, party.account, party.jobs, party.rewardWad, int256(party.credit) - int256(debited));
        }
        if (slashed != 0) {
            _nodes[TREASURY].balance = _toUint88(_nodes[TREASURY].balance + slashed);
            emit TreasuryCredited(batchId, slashed);
        }
        _totalStake -= slashed;
        _totalBalance += paid + slashed;
    }

    /// @dev A revealer's trust weight (trust mode; the informative rule moves it here, once per batch) and
    ///      its informativeness in the batch.
    function _afterReveal(uint256 batchId, Party memory party, Node storage nd) internal {
        if (AGGREGATION == Consensus.TRUST) {
            if (TRUST_RULE == Trust.INFORMATIVE) {
                party.weight =
                    Trust.informed(party.weight, party.information, party.informedSeats, TRUST_LAMBDA, TRUST_MIN, TRUST_MAX);
            }
            nd.trustWeight = uint64(party.weight); // <= TRUST_MAX < 2^64
            emit TrustUpdated(batchId, party.account, party.weight);
        }
        if (INFORMED) emit EvaluatorInformed(batchId, party.account, party.informedSeats, party.information);
    }

    /// @dev The fee: refund rule, what the tasks did not pay goes back to the requester. Fixed rule, the
    ///      requester pays maxPayout per answered task whatever the answers scored, and forfeits the
    ///      reference bond of every task if it committed to references and withheld them once answers
    ///      were in; what the tasks did not pay of that goes to the treasury. Returns the refund.
    function _settleFee(uint256 batchId, Batch storage b, uint256 paid, uint256 answered)
        internal
        returns (uint256 refund)
    {
        uint256 fee = b.fee;
        _escrow -= fee;
        refund = fee - paid;
        if (FEE_RULE == FEE_FIXED) {
            uint256 charged = answered * _maxPayout();
            if (b.hasReference && !b.referencesRevealed && answered != 0) charged += b.size * REFERENCE_BOND;
            refund = fee - charged; // openBatch took at least size * (maxPayout + bond)
            uint256 retained = charged - paid; // paid <= answered * maxPayout (see maxPayout)
            if (retained != 0) {
                _nodes[TREASURY].balance = _toUint88(_nodes[TREASURY].balance + retained);
                _totalBalance += retained;
                emit FeeRetained(batchId, retained);
            }
        }
        if (refund != 0) {
            _nodes[b.requester].balance += _toUint88(refund);
            _totalBalance += refund;
            emit FeeRefunded(batchId, b.requester, refund);
        }
    }

    /// @dev A stake below minStake leaves the pool; a smaller stake above it may weigh fewer units.
    function _afterDebit(address account, Node storage nd) internal {
        if (nd.status != Status.Active) return;
        if (nd.stake < MIN_STAKE) {
            _leavePool(nd);
            nd.status = Status.Suspended;
            emit NodeSuspended(account, nd.stake);
        } else {
            _setUnits(nd);
        }
    }

    /// @dev Frees the batch's per-task storage; what views show afterwards comes from events.
    function _clear(uint256 batchId, Batch storage b, uint256 participants) internal {
        for (uint256 w; w * Packing.TASKS_PER_WORD < b.size; ++w) {
            delete _taskWords[batchId][w];
        }
        for (uint256 p; p < participants; ++p) {
            if (p % Packing.PARTICIPANTS_PER_WORD == 0) {
                delete _participantWords[batchId][p / Packing.PARTICIPANTS_PER_WORD];
            }
            if (p >= b.inferenceCount) delete _scoreCommitments[batchId][p]; // a commitment or a revealed hash
        }
        (b.fee, b.referenceCommitment) = (0, bytes32(0));
    }
}
