// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "./IProofOfQuality.sol";
import {PoQBase} from "./PoQBase.sol";
import {PoQRegistry} from "./PoQRegistry.sol";
import {PoQBatchModule} from "./PoQBatchModule.sol";
import {PoQViews} from "./PoQViews.sol";
import {Commitments} from "./libraries/Commitments.sol";
import {Costs} from "./libraries/Costs.sol";
import {Packing} from "./libraries/Packing.sol";
import {MAX_SCORE} from "./libraries/Wad.sol";

/// @title ProofOfQuality
/// @notice The batch lifecycle: open → draw → answers → references → commits → reveals → finalize.
/// @dev Registry in PoQRegistry, pools in PoQPools, views in PoQViews, state in PoQBase; the draw
///      (PoQDraw) and the settlement (PoQSettlement) run in PoQBatchModule by delegatecall.
contract ProofOfQuality is PoQRegistry, PoQViews {
    /// @dev The batch module (draw and settlement): PoQBatchModule deployed with the same parameters.
    address internal immutable MODULE;

    constructor(Params memory p, address module) PoQBase(p) {
        if (module.code.length == 0 || PoQBatchModule(module).paramsHash() != _paramsHash()) {
            revert InvalidParameter("module", uint160(module));
        }
        MODULE = module;
    }

    // ================================================================ open and draw (the draw runs in PoQBatchModule)

    /// @inheritdoc IProofOfQuality
    function openBatch(uint8[] calldata kinds, string[] calldata inputs, bytes32 referenceCommitment)
        external
        payable
        returns (uint256 batchId)
    {
        uint256 size = inputs.length;
        if (size == 0 || size > MAX_BATCH_SIZE) revert InvalidBatchSize(size, MAX_BATCH_SIZE);
        if (kinds.length != size) revert LengthMismatch(size, kinds.length);
        uint256 required = requiredFee(size, referenceCommitment != bytes32(0));
        if (msg.value < required) revert FeeBelowMaxPayout(msg.value, required);
        if (_poolSizes[0] == 0) revert NoInferenceNodes();
        if (_poolSizes[1] < K) revert NotEnoughEvaluators(K, _poolSizes[1]);
        batchId = ++_batchCount;
        Batch storage b = _batches[batchId];
        b.requester = msg.sender;
        b.stage = Stage.Opened;
        b.size = uint16(size);
        b.poolVersion = _poolVersion;
        b.drawBlock = uint40(block.number + DRAW_DELAY);
        b.openedAt = uint32(block.timestamp);
        b.firstTaskId = uint48(_taskCount + 1);
        b.fee = uint96(_toUint88(msg.value));
        _taskCount += uint64(size);
        _escrow += msg.value;
        if (referenceCommitment != bytes32(0)) (b.hasReference, b.referenceCommitment) = (true, referenceCommitment);
        emit BatchOpened(
            batchId, msg.sender, b.firstTaskId, msg.value, referenceCommitment, b.drawBlock, kinds, inputs
        );
    }

    /// @inheritdoc IProofOfQuality
    function draw(uint256 batchId) external {
        _delegate(abi.encodeCall(PoQBatchModule.draw, (batchId)));
    }

    // ================================================================ answers and references

    /// @inheritdoc IProofOfQuality
    function submitAnswers(uint256 batchId, string[] calldata outputs) external {
        Batch storage b = _batch(batchId);
        (Stage stage,,) = _stage(b);
        if (stage != Stage.Answering) revert WrongStage(batchId, Stage.Answering, stage);
        (uint256 p, uint256 items, uint8 flags) = _participant(batchId, 0, b.inferenceCount);
        if (flags & Packing.ANSWERED != 0) revert AlreadyAnswered(batchId, msg.sender);
        if (outputs.length != items) revert LengthMismatch(items, outputs.length);
        Packing.setFlag(_participantWords[batchId], p, Packing.ANSWERED);
        _measure(batchId, block.timestamp - b.openedAt, items); // from the open: inputs were public since
        if (--b.pendingAnswers == 0) {
            (b.stage, b.stageStart) = (b.hasReference ? Stage.Referencing : Stage.Committing, uint32(block.timestamp));
            b.deadline = uint32(block.timestamp + (b.hasReference ? REFERENCE_WINDOW : COMMIT_WINDOW));
        }
        emit AnswersSubmitted(batchId, msg.sender, outputs);
    }

    /// @inheritdoc IProofOfQuality
    function revealReferences(uint256 batchId, string[] calldata references, bytes32 salt) external {
        Batch storage b = _batch(batchId);
        if (msg.sender != b.requester) revert NotRequester(batchId, msg.sender);
        if (!b.hasReference) revert NoReference(batchId);
        (Stage stage,,) = _stage(b);
        if (stage != Stage.Referencing) revert WrongStage(batchId, Stage.Referencing, stage);
        if (references.length != b.size) revert LengthMismatch(b.size, references.length);
        if (Commitments.references(references, salt) != b.referenceCommitment) revert ReferenceMismatch(batchId);
        (b.stage, b.stageStart, b.deadline) =
            (Stage.Committing, uint32(block.timestamp), uint32(block.timestamp + COMMIT_WINDOW));
        b.referencesRevealed = true;
        emit ReferencesRevealed(batchId, references);
    }

    // ================================================================ scores

    /// @inheritdoc IProofOfQuality
    function commitScores(uint256 batchId, bytes32 commitment) external {
        Batch storage b = _batch(batchId);
        (Stage stage, uint256 start, uint256 deadline) = _stage(b);
        if (stage != Stage.Committing) revert WrongStage(batchId, Stage.Committing, stage);
        (uint256 p, uint256 items, uint8 flags) = _participant(batchId, b.inferenceCount, b.participantCount);
        if (flags & Packing.COMMITTED != 0) revert AlreadyCommitted(batchId, msg.sender);
        _scoreCommitments[batchId][p] = commitment;
        Packing.setFlag(_participantWords[batchId], p, Packing.COMMITTED);
        _measure(batchId, block.timestamp - start, items); // from the moment every text was public
        b.pendingReveals += 1;
        if (--b.pendingCommits == 0) {
            (b.stage, b.stageStart, b.deadline) =
                (Stage.Revealing, uint32(block.timestamp), uint32(block.timestamp + REVEAL_WINDOW));
        } else {
            (b.stage, b.stageStart, b.deadline) = (Stage.Committing, uint32(start), uint32(deadline)); // a stage the clock entered
        }
        emit ScoresCommitted(batchId, msg.sender, commitment);
    }

    /// @inheritdoc IProofOfQuality
    function revealScores(uint256 batchId, uint16[] calldata scores, bytes32 salt) external {
        Batch storage b = _batch(batchId);
        (Stage stage, uint256 start, uint256 deadline) = _stage(b);
        if (stage != Stage.Revealing) revert WrongStage(batchId, Stage.Revealing, stage);
        (uint256 p, uint256 items, uint8 flags) = _participant(batchId, b.inferenceCount, b.participantCount);
        if (flags & Packing.COMMITTED == 0) revert NotCommitted(batchId, msg.sender);
        if (flags & Packing.REVEALED != 0) revert AlreadyRevealed(batchId, msg.sender);
        if (scores.length != items) revert LengthMismatch(items, scores.length);
        for (uint256 i; i < scores.length; ++i) {
            if (scores[i] > MAX_SCORE) revert ScoreOutOfRange(scores[i], MAX_SCORE);
        }
        bytes32 expected = Commitments.scores(block.chainid, address(this), batchId, msg.sender, scores, salt);
        if (expected != _scoreCommitments[batchId][p]) revert CommitmentMismatch(batchId, msg.sender);
        // the scores themselves live in the event (and the finalizer's calldata); storage keeps their hash
        _scoreCommitments[batchId][p] = keccak256(abi.encode(scores));
        Packing.setFlag(_participantWords[batchId], p, Packing.REVEALED);
        (b.stage, b.stageStart, b.deadline) = --b.pendingReveals == 0
            ? (Stage.Closed, uint32(block.timestamp), uint32(block.timestamp)) // everyone who committed revealed
            : (Stage.Revealing, uint32(start), uint32(deadline));
        emit ScoresRevealed(batchId, msg.sender, scores);
    }

    // ================================================================ settlement

    /// @inheritdoc IProofOfQuality
    function finalize(uint256 batchId, uint16[][] calldata revealed, uint16[2][] calldata middles) external {
        _delegate(abi.encodeCall(PoQBatchModule.settle, (batchId, revealed, middles)));
    }

    /// @dev Runs the batch module's code in this contract's storage; its custom errors come back as raised.
    function _delegate(bytes memory call) internal {
        (bool ok, bytes memory data) = MODULE.delegatecall(call);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(data, 32), mload(data))
            }
        }
    }

    // ================================================================ internals

    /// @dev The caller's participant index among [from, to), with its items and flags.
    function _participant(uint256 batchId, uint256 from, uint256 to)
        internal
        view
        returns (uint256 p, uint256 items, uint8 flags)
    {
        uint32 id = _nodes[msg.sender].id;
        if (id != 0) {
            for (p = from; p < to; ++p) {
                (uint32 nodeId, uint16 n, uint8 f) = Packing.readParticipant(_participantWords[batchId], p);
                if (nodeId == id) return (p, n, f);
            }
        }
        revert NotAssigned(batchId, msg.sender);
    }

    /// @dev Folds one observation (microseconds per item) into the caller's measured cost.
    function _measure(uint256 batchId, uint256 elapsed, uint256 items) internal {
        Node storage nd = _nodes[msg.sender];
        uint256 observed = Costs.perItemUs(elapsed, items);
        uint256 cost = Costs.smooth(nd.costUs, nd.costSamples != 0, observed, COST_SMOOTHING);
        nd.costUs = uint32(cost); // a weighted mean of values below 2^32
        if (nd.costSamples != type(uint16).max) nd.costSamples += 1;
        emit CostMeasured(msg.sender, batchId, observed, cost);
    }
}
