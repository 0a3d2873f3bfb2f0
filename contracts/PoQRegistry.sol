// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IProofOfQuality} from "./IProofOfQuality.sol";
import {PoQPools} from "./PoQPools.sol";
import {Commitments} from "./libraries/Commitments.sol";

/// @title PoQRegistry: registration, stake, exits, declared costs and withdrawals
/// @notice An exit request takes effect at once for every batch opened after it and never waits on
///         open work; the stake follows once the batches that could still draw the node are drawn and
///         settled. Declared latencies are claims checked against the measured cost; rewards use only
///         the measurement.
abstract contract PoQRegistry is PoQPools, IProofOfQuality {
    /// @inheritdoc IProofOfQuality
    function register(uint8 roleId, string calldata model) external payable {
        if (roleId != uint8(Role.Inference) && roleId != uint8(Role.Evaluator)) revert InvalidRole(roleId);
        Node storage nd = _nodes[msg.sender];
        if (nd.status != Status.None && nd.status != Status.Exited) revert AlreadyRegistered(msg.sender);
        if (msg.value < MIN_STAKE) revert StakeBelowMinimum(msg.value, MIN_STAKE);
        if (nd.id == 0) {
            nd.id = ++_nodeCount;
            _nodeAt[nd.id] = msg.sender;
        }
        nd.role = Role(roleId);
        nd.stake = _toUint88(msg.value);
        _totalStake += msg.value;
        (nd.costUs, nd.costSamples, nd.declaredUs) = (0, 0, 0); // a new registration is measured afresh
        nd.model = model;
        if (!_enterPool(msg.sender, nd)) {
            revert PoolFull(nd.role, MAX_POOL_SIZE, _lowestStake(_roleIndex(nd.role)));
        }
        emit NodeRegistered(msg.sender, nd.id, nd.role, model, msg.value);
    }

    /// @inheritdoc IProofOfQuality
    function addStake() external payable {
        Node storage nd = _nodes[msg.sender];
        Status status = nd.status;
        if (status != Status.Active && status != Status.Suspended && status != Status.Standby) {
            revert NotActive(msg.sender);
        }
        nd.stake = _toUint88(nd.stake + msg.value);
        _totalStake += msg.value;
        emit StakeAdded(msg.sender, msg.value, nd.stake);
        if (status == Status.Active) {
            _setUnits(nd);
        } else if (nd.stake >= MIN_STAKE && _enterPool(msg.sender, nd)) {
            emit NodeActivated(msg.sender, nd.stake);
        } else if (nd.stake >= MIN_STAKE) {
            nd.status = Status.Standby; // topped up, but the full pool's lowest stake is still larger
        }
    }

    /// @inheritdoc IProofOfQuality
    function requestExit() external {
        Node storage nd = _nodes[msg.sender];
        Status status = nd.status;
        if (status != Status.Active && status != Status.Suspended && status != Status.Standby) {
            revert NotActive(msg.sender);
        }
        if (status == Status.Active) _leavePool(nd);
        nd.status = Status.Exiting;
        nd.unbondingEnds = uint40(block.timestamp + UNBONDING_DELAY);
        nd.exitBatch = _batchCount; // batches opened so far saw the node in their pools
        emit ExitRequested(msg.sender, nd.unbondingEnds, nd.exitBatch);
    }

    /// @inheritdoc IProofOfQuality
    function releaseStake() external {
        Node storage nd = _nodes[msg.sender];
        if (nd.status != Status.Exiting) revert NotExiting(msg.sender);
        if (block.timestamp < nd.unbondingEnds) revert UnbondingNotOver(msg.sender, nd.unbondingEnds);
        if (_drawnCount < nd.exitBatch) revert DrawsPending(msg.sender, nd.exitBatch, _drawnCount);
        if (nd.openBatches != 0) revert NodeHasOpenBatches(msg.sender, nd.openBatches);
        uint88 amount = nd.stake;
        nd.stake = 0;
        nd.balance += amount;
        _totalStake -= amount;
        _totalBalance += amount;
        nd.status = Status.Exited;
        emit StakeReleased(msg.sender, amount);
    }

    /// @inheritdoc IProofOfQuality
    function withdraw(uint256 amount) external nonReentrant {
        Node storage nd = _nodes[msg.sender];
        if (amount > nd.balance) revert InsufficientBalance(msg.sender, amount, nd.balance);
        nd.balance -= uint88(amount); // checks-effects-interactions: debit before sending
        _totalBalance -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
    }

    // ================================================================ declared costs

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
        nd.declaredUs = latencyUs;
        // a claim, checked against what the contract measured: it never enters a reward
        emit CostDeclared(msg.sender, nd.costEpoch, latencyUs, nd.costUs);
    }

}
