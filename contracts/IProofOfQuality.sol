// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IPoQTypes} from "./PoQTypes.sol";

/// @title Cost-aware Proof of Quality for decentralized LLM inference
/// @notice Requesters open batches of tasks; each task's inference node and K-evaluator panel are
///         drawn, in proportion to stake, from a block hash that did not exist when anyone acted;
///         nodes answer, evaluators commit and reveal scores, and the contract settles every task by
///         Eqs. 1-5 of the PoQ paper in WAD fixed point, with costs it measured itself from block
///         timestamps. Rewards go to pull-withdrawable balances; slashed stake to the treasury.
/// @dev The math lives in libraries/ and is mirrored to the wei by the Python package
///      `offchain.protocol`. docs/mechanism.md gives the threat model and the reason for each rule.
interface IProofOfQuality is IPoQTypes {
    // ------------------------------------------------------------------ registry

    /// @notice Register as an inference (1) or evaluator (2) node, staking msg.value (>= minStake). A full
    ///         pool admits a stake larger than its lowest and evicts that node to Standby.
    /// @dev `role` is a uint8 rather than Role so an out-of-range value gets a named error.
    function register(uint8 role, string calldata model) external payable;

    /// @notice Add stake; a Suspended or Standby node rejoins its pool when its stake allows.
    function addStake() external payable;

    /// @notice Leave the pool at once: no batch opened from now on draws the node; its drawn batches finish.
    function requestExit() external;

    /// @notice Move the stake to the withdrawable balance once the unbonding delay passed, every batch
    ///         opened before the exit request is drawn and every batch that drew the node is finalized.
    function releaseStake() external;

    // ------------------------------------------------------------------ declared costs

    /// @notice Commit keccak256(abi.encode(chainid, this, epoch, node, latencyUs, salt)) in epoch e.
    function commitCost(bytes32 commitment) external;

    /// @notice Reveal the declared latency (microseconds, > 0) committed in epoch e, during epoch e + 1.
    ///         It is checked against the measured cost (CostDeclared) and never enters a reward.
    function revealCost(uint32 latencyUs, bytes32 salt) external;

    // ------------------------------------------------------------------ batches

    /// @notice Open a batch of tasks; msg.value is the fee and must cover requiredFee(inputs.length, referenceCommitment != 0).
    /// @param kinds one task kind per input (0 extractive QA, 1 summarization)
    /// @param referenceCommitment Commitments.references(references, salt), or 0 to score against inputs
    function openBatch(uint8[] calldata kinds, string[] calldata inputs, bytes32 referenceCommitment)
        external
        payable
        returns (uint256 batchId);

    /// @notice Draw the batch's nodes and panels from the hash of its draw block, in proportion to stake
    ///         among the pools as they stood when the batch was opened. Anyone may call, in batch order.
    function draw(uint256 batchId) external;

    /// @notice An assigned node answers all its tasks of the batch, in task order.
    function submitAnswers(uint256 batchId, string[] calldata outputs) external;

    /// @notice The requester reveals the reference answers once the answers are in.
    function revealReferences(uint256 batchId, string[] calldata references, bytes32 salt) external;

    /// @notice An evaluator commits Commitments.scores(chainid, this, batchId, evaluator, scores, salt).
    function commitScores(uint256 batchId, bytes32 commitment) external;

    /// @notice An evaluator reveals one score in [0, 10_000] per seat, in seat order (scores for seats on
    ///         unanswered tasks are ignored).
    function revealScores(uint256 batchId, uint16[] calldata scores, bytes32 salt) external;

    /// @notice Settle a Closed batch: every task by the deployment's rules, slashes to the treasury, the
    ///         fee's rest to the requester or the treasury. Anyone may call, passing each evaluator
    ///         participant's revealed scores in participant order (from its ScoresRevealed event; empty for
    ///         one that did not reveal): the contract keeps only their hash. When settlement measures
    ///         informativeness, `middles` holds each one's two middle scores (the ((n-1)/2)-th and the
    ///         (n/2)-th smallest; [0, 0] for a silent one), which the contract checks in one pass instead
    ///         of sorting; otherwise it may be empty.
    function finalize(uint256 batchId, uint16[][] calldata revealed, uint16[2][] calldata middles) external;

    /// @notice Withdraw `amount` wei of the caller's balance.
    function withdraw(uint256 amount) external;

    // ------------------------------------------------------------------ views

    /// @notice The deployment parameters (treasury resolved).
    function params() external view returns (Params memory);
    /// @notice The fee one task must carry: ceil((alphaF + K alphaM) * rewardUnit / WAD) wei.
    function maxPayout() external view returns (uint256);
    /// @notice The least fee `openBatch` takes for `size` tasks: size * maxPayout(), plus the reference
    ///         bond per task under the fixed fee rule when the batch commits to references.
    function requiredFee(uint256 size, bool withReferences) external view returns (uint256);
    /// @notice A node's registry, cost and trust state.
    function getNode(address node) external view returns (NodeView memory);
    /// @notice A batch's state; participants and flags while it is drawn and not finalized.
    function getBatch(uint256 batchId) external view returns (BatchView memory);
    /// @notice A task's batch, position, node and panel.
    function getTask(uint256 taskId) external view returns (TaskView memory);
    /// @notice A batch's effective stage (the clock applied) and the deadline of that stage.
    function stageOf(uint256 batchId) external view returns (Stage stage, uint64 deadline);
    /// @notice A role's pool: active nodes and their sampling units.
    function pool(Role role) external view returns (address[] memory nodes, uint256[] memory units);
    /// @notice Batches opened so far (ids 1..batchCount).
    function batchCount() external view returns (uint256);
    /// @notice Batches drawn so far (ids 1..drawnCount); the next draw is drawnCount + 1.
    function drawnCount() external view returns (uint256);
    /// @notice Tasks opened so far (ids 1..taskCount).
    function taskCount() external view returns (uint256);
    /// @notice Keys ever registered (ids 1..nodeCount).
    function nodeCount() external view returns (uint256);
    /// @notice The address of node id `id`.
    function nodeAt(uint32 id) external view returns (address);
    /// @notice A node's normalized cost C in [0, 1] (WAD) against its role's active pool now.
    function normalizedCost(address node) external view returns (uint256);
    /// @notice The lowest and highest measured cost (microseconds per item) in a role's active pool.
    function costRange(Role role) external view returns (uint32 minUs, uint32 maxUs);
    /// @notice The current declared-cost epoch.
    function currentEpoch() external view returns (uint256);
    /// @notice The wei the contract holds for stakes, for balances (the treasury's included) and in escrow;
    ///         their sum is the contract's ETH.
    function accounting() external view returns (uint256 stakes, uint256 balances, uint256 escrow);
    /// @notice Commitments.scores for the caller's convenience (the hash agents compute off chain).
    function scoreCommitment(uint256 batchId, address evaluator, uint16[] calldata scores, bytes32 salt)
        external
        view
        returns (bytes32);
}
