// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {PoQPools} from "./PoQPools.sol";
import {Packing} from "./libraries/Packing.sol";
import {Sampling} from "./libraries/Sampling.sol";
import {MAX_K} from "./libraries/Wad.sol";

/// @title PoQDraw: a batch's nodes and panels, from randomness nobody acting could know
/// @notice The seed is the hash of the block after the batch was opened, read in a later transaction:
///         the requester, the nodes and anyone retrying a reverted call acted before it existed, and
///         every caller of `draw` gets the same result. Nodes are drawn in proportion to stake from
///         the pools as they stood when the batch was opened (PoQPools keeps a copy when they change
///         before the draw), so nothing done once the seed is known can move the draw.
/// @dev Runs in PoQBatchModule by delegatecall. Mirrored by offchain/protocol/draw.py.
abstract contract PoQDraw is PoQPools {
    /// @dev IProofOfQuality.draw. Runs in the PoQ contract's storage.
    function _draw(uint256 batchId) internal {
        Batch storage b = _batch(batchId);
        if (b.stage != Stage.Opened) {
            (Stage stage,,) = _stage(b); // the clock never moves a batch out of Opened, but later stages it does
            revert WrongStage(batchId, Stage.Opened, stage);
        }
        if (batchId != _drawnCount + 1) revert DrawOutOfOrder(batchId, _drawnCount + 1);
        if (block.number <= b.drawBlock) revert DrawTooEarly(batchId, b.drawBlock);
        bytes32 seed = _randomness(batchId, b.drawBlock);
        if (seed == bytes32(0)) {
            // the draw block is older than 256 blocks and its hash is gone: draw from a new future block
            b.drawBlock = uint40(block.number + DRAW_DELAY);
            emit DrawRearmed(batchId, b.drawBlock);
            return;
        }
        _drawnCount = uint64(batchId);
        (uint256[] memory ids, uint32[] memory units, uint256 inferenceSize) = _snapshot(b.poolVersion);
        _recordDraw(batchId, b, seed, ids, _drawTasks(seed, b.size, units, inferenceSize), inferenceSize);
        _releaseSnapshot(batchId, b.poolVersion);
    }

    /// @dev The randomness of a batch's draw: the hash of its draw block, bound to this contract and batch.
    ///      The one place a randomness beacon (drand) or a VRF callback would plug in on a public chain.
    function _randomness(uint256 batchId, uint256 drawBlock) internal view returns (bytes32) {
        bytes32 h = blockhash(drawBlock);
        if (h == bytes32(0)) return bytes32(0);
        return keccak256(abi.encode(h, address(this), batchId));
    }

    /// @dev The pools as the batch saw them: node ids and units, inference entries first.
    function _snapshot(uint32 version)
        internal
        view
        returns (uint256[] memory ids, uint32[] memory units, uint256 inferenceSize)
    {
        bool live = version == _poolVersion;
        uint8[2] memory sizes = live ? _poolSizes : _archivedSizes[version];
        inferenceSize = sizes[0];
        uint256 n = inferenceSize + sizes[1];
        (ids, units) = (new uint256[](n), new uint32[](n));
        uint256 at;
        for (uint256 r; r < 2; ++r) {
            for (uint256 i; i < sizes[r]; ++i) {
                (uint256 word, uint256 shift) = _poolWord(r, i);
                uint256 lane = (live ? _poolWords[word] : _archivedWords[version][word]) >> shift;
                (ids[at], units[at]) = (uint32(lane), uint32(lane >> 32));
                ++at;
            }
        }
    }

    /// @dev Per task: the node (an entry index of the inference part) and K seats (entry indices of the
    ///      evaluator part), packed as a task lane over snapshot indices.
    function _drawTasks(bytes32 seed, uint256 size, uint32[] memory units, uint256 inferenceSize)
        internal
        view
        returns (uint256[] memory lanes)
    {
        uint32[] memory inference = new uint32[](inferenceSize);
        uint32[] memory evaluators = new uint32[](units.length - inferenceSize);
        (uint256 inferenceTotal, uint256 evaluatorTotal) = (0, 0);
        for (uint256 i; i < units.length; ++i) {
            if (i < inferenceSize) (inference[i], inferenceTotal) = (units[i], inferenceTotal + units[i]);
            else (evaluators[i - inferenceSize], evaluatorTotal) = (units[i], evaluatorTotal + units[i]);
        }
        lanes = new uint256[](size);
        Sampling.Scratch memory scratch = Sampling.scratch(evaluators.length);
        for (uint256 t; t < size; ++t) {
            uint256 word = Sampling.taskWord(seed, t);
            uint256 node = Sampling.pick(inference, inferenceTotal, uint64(word));
            uint256[MAX_K] memory seats = Sampling.pickPanel(evaluators, evaluatorTotal, K, word, scratch);
            for (uint256 j; j < K; ++j) {
                seats[j] += inferenceSize;
            }
            lanes[t] = Packing.taskLane(node, seats, K);
        }
    }

    /// @dev Names each drawn node once as a participant (inference first, in pool order), rewrites the
    ///      lanes over participant indices, stores them and opens the answering stage.
    function _recordDraw(
        uint256 batchId,
        Batch storage b,
        bytes32 seed,
        uint256[] memory ids,
        uint256[] memory lanes,
        uint256 inferenceSize
    ) internal {
        (uint256[] memory participantOf, address[] memory participants, uint256 inferenceCount) =
            _nameParticipants(batchId, ids, lanes, inferenceSize);
        _openAnswering(b, participants.length, inferenceCount);
        emit BatchDrawn(batchId, seed, participants, inferenceCount, _storeLanes(batchId, lanes, participantOf));
    }

    function _openAnswering(Batch storage b, uint256 count, uint256 inferenceCount) internal {
        (b.participantCount, b.inferenceCount) = (uint8(count), uint8(inferenceCount));
        (b.pendingAnswers, b.pendingCommits) = (uint8(inferenceCount), uint8(count - inferenceCount));
        (b.stage, b.stageStart, b.deadline) =
            (Stage.Answering, uint32(block.timestamp), uint32(block.timestamp + ANSWER_WINDOW));
    }

    /// @dev The participants of a draw: every snapshot entry holding a task or a seat, in snapshot order,
    ///      with its items; each one's open-batch count goes up.
    function _nameParticipants(uint256 batchId, uint256[] memory ids, uint256[] memory lanes, uint256 inferenceSize)
        internal
        returns (uint256[] memory participantOf, address[] memory participants, uint256 inferenceCount)
    {
        uint256[] memory items = new uint256[](ids.length);
        for (uint256 t; t < lanes.length; ++t) {
            items[Packing.nodeOf(lanes[t])] += 1;
            for (uint256 j; j < K; ++j) {
                items[Packing.seatOf(lanes[t], j)] += 1;
            }
        }
        participantOf = new uint256[](ids.length);
        participants = new address[](ids.length);
        uint256 count;
        for (uint256 i; i < ids.length; ++i) {
            if (items[i] == 0) continue;
            if (i < inferenceSize) ++inferenceCount;
            participantOf[i] = count;
            participants[count] = _nodeAt[uint32(ids[i])];
            _nodes[participants[count]].openBatches += 1;
            _participantWords[batchId][count / Packing.PARTICIPANTS_PER_WORD] |=
                Packing.participantLane(ids[i], items[i]) << (64 * (count % Packing.PARTICIPANTS_PER_WORD));
            ++count;
        }
        assembly ("memory-safe") {
            mstore(participants, count) // shrink to the named participants
        }
    }

    /// @dev Stores the task lanes over participant indices, 8 to a word; returns the words for the event.
    function _storeLanes(uint256 batchId, uint256[] memory lanes, uint256[] memory participantOf)
        internal
        returns (uint256[] memory words)
    {
        words = new uint256[]((lanes.length + Packing.TASKS_PER_WORD - 1) / Packing.TASKS_PER_WORD);
        uint256[MAX_K] memory seats;
        unchecked {
            // indices below the participant count (<= 64), shifts below 256
            for (uint256 t; t < lanes.length; ++t) {
                for (uint256 j; j < K; ++j) {
                    seats[j] = participantOf[Packing.seatOf(lanes[t], j)];
                }
                uint256 lane = Packing.taskLane(participantOf[Packing.nodeOf(lanes[t])], seats, K);
                words[t / Packing.TASKS_PER_WORD] |= lane << (32 * (t % Packing.TASKS_PER_WORD));
            }
        }
        mapping(uint256 => uint256) storage stored = _taskWords[batchId];
        for (uint256 w; w < words.length; ++w) {
            stored[w] = words[w];
        }
    }

    /// @dev Drops the archived pools of `version` once its last batch is drawn (a refund for the drawer).
    function _releaseSnapshot(uint256 batchId, uint32 version) internal {
        if (version == _poolVersion) return;
        if (batchId < _batchCount && _batches[batchId + 1].poolVersion == version) return;
        delete _archivedWords[version];
        delete _archivedSizes[version];
    }

}
