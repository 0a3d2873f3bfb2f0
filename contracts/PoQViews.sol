// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "./IProofOfQuality.sol";
import {PoQBase} from "./PoQBase.sol";
import {Commitments} from "./libraries/Commitments.sol";
import {Packing} from "./libraries/Packing.sol";
import {Rewards} from "./libraries/Rewards.sol";
import {Trust} from "./libraries/Trust.sol";
import {WAD} from "./libraries/Wad.sol";

/// @title PoQViews: every external view of ProofOfQuality
abstract contract PoQViews is PoQBase, IProofOfQuality {
    /// @inheritdoc IProofOfQuality
    function params() external view returns (Params memory) {
        return _params();
    }

    /// @inheritdoc IProofOfQuality
    function maxPayout() public view returns (uint256) {
        return _maxPayout();
    }

    /// @inheritdoc IProofOfQuality
    function requiredFee(uint256 size, bool withReferences) public view returns (uint256) {
        uint256 bond = FEE_RULE == FEE_FIXED && withReferences ? REFERENCE_BOND : 0;
        return size * (_maxPayout() + bond);
    }

    /// @inheritdoc IProofOfQuality
    function getNode(address node) external view returns (NodeView memory v) {
        Node storage nd = _nodes[node];
        v = NodeView({
            role: nd.role,
            status: nd.status,
            id: nd.id,
            openBatches: nd.openBatches,
            stake: nd.stake,
            balance: nd.balance,
            units: _units(nd.stake),
            costUs: nd.costUs,
            costSamples: nd.costSamples,
            declaredUs: nd.declaredUs,
            unbondingEnds: nd.unbondingEnds,
            exitBatch: nd.exitBatch,
            costCommitment: nd.costCommitment,
            costEpoch: nd.costEpoch,
            model: nd.model,
            trustWeight: Trust.effective(nd.trustWeight, TRUST_INITIAL)
        });
    }

    /// @inheritdoc IProofOfQuality
    function getBatch(uint256 batchId) external view returns (BatchView memory v) {
        Batch storage b = _batch(batchId);
        (Stage stage,, uint256 deadline) = _stage(b);
        (v.requester, v.stage, v.size, v.firstTaskId, v.fee) = (b.requester, stage, b.size, b.firstTaskId, b.fee);
        (v.drawBlock, v.openedAt, v.deadline, v.hasReference) = (b.drawBlock, b.openedAt, uint64(deadline), b.hasReference);
        v.inferenceCount = b.inferenceCount;
        uint256 n = stage == Stage.Finalized ? 0 : b.participantCount;
        (v.participants, v.items, v.flags) = (new address[](n), new uint16[](n), new uint8[](n));
        for (uint256 p; p < n; ++p) {
            (uint32 id, uint16 items, uint8 flags) = Packing.readParticipant(_participantWords[batchId], p);
            (v.participants[p], v.items[p], v.flags[p]) = (_nodeAt[id], items, flags);
        }
    }

    /// @inheritdoc IProofOfQuality
    function getTask(uint256 taskId) external view returns (TaskView memory v) {
        if (taskId == 0 || taskId > _taskCount) revert UnknownTask(taskId);
        (uint256 lo, uint256 hi) = (1, _batchCount); // the batch whose tasks start at or before taskId
        while (lo < hi) {
            uint256 mid = (lo + hi + 1) / 2;
            if (_batches[mid].firstTaskId <= taskId) lo = mid;
            else hi = mid - 1;
        }
        Batch storage b = _batches[lo];
        (v.batchId, v.index) = (lo, taskId - b.firstTaskId);
        (v.stage,,) = _stage(b);
        if (v.stage == Stage.Opened || v.stage == Stage.Finalized) return v;
        uint256 lane = Packing.readTask(_taskWords[lo], v.index);
        v.node = _participantAddress(lo, Packing.nodeOf(lane));
        v.evaluators = new address[](K);
        for (uint256 j; j < K; ++j) {
            v.evaluators[j] = _participantAddress(lo, Packing.seatOf(lane, j));
        }
    }

    /// @inheritdoc IProofOfQuality
    function stageOf(uint256 batchId) external view returns (Stage stage, uint64 deadline) {
        uint256 d;
        (stage,, d) = _stage(_batch(batchId));
        deadline = uint64(d);
    }

    /// @inheritdoc IProofOfQuality
    function pool(Role role) external view returns (address[] memory nodes, uint256[] memory units) {
        uint256 r = _roleIndex(role);
        uint256 n = role == Role.None ? 0 : _poolSizes[r];
        (nodes, units) = (new address[](n), new uint256[](n));
        for (uint256 i; i < n; ++i) {
            (uint256 word, uint256 shift) = _poolWord(r, i);
            uint256 lane = _poolWords[word] >> shift;
            (nodes[i], units[i]) = (_nodeAt[uint32(lane)], uint32(lane >> 32));
        }
    }

    /// @inheritdoc IProofOfQuality
    function batchCount() external view returns (uint256) {
        return _batchCount;
    }

    /// @inheritdoc IProofOfQuality
    function drawnCount() external view returns (uint256) {
        return _drawnCount;
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
        Node storage nd = _nodes[node];
        (uint32 lo, uint32 hi) = costRange(nd.role);
        return Rewards.normalizedCost(nd.costSamples != 0, nd.costUs, lo, hi);
    }

    /// @inheritdoc IProofOfQuality
    function costRange(Role role) public view returns (uint32 minUs, uint32 maxUs) {
        if (role == Role.None) return (0, 0);
        (uint256 lo, uint256 hi) = _costRange(_roleIndex(role));
        return (uint32(lo), uint32(hi));
    }

    /// @inheritdoc IProofOfQuality
    function currentEpoch() external view returns (uint256) {
        return block.timestamp / EPOCH_LENGTH;
    }

    /// @inheritdoc IProofOfQuality
    function accounting() external view returns (uint256 stakes, uint256 balances, uint256 escrow) {
        return (_totalStake, _totalBalance, _escrow);
    }

    /// @inheritdoc IProofOfQuality
    function scoreCommitment(uint256 batchId, address evaluator, uint16[] calldata scores, bytes32 salt)
        external
        view
        returns (bytes32)
    {
        return Commitments.scores(block.chainid, address(this), batchId, evaluator, scores, salt);
    }

    function _participantAddress(uint256 batchId, uint256 p) private view returns (address) {
        (uint32 id,,) = Packing.readParticipant(_participantWords[batchId], p);
        return _nodeAt[id];
    }
}
