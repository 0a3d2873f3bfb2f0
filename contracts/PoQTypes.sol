// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title The PoQ contract's types, errors and events
/// @notice Shared by the contract (ProofOfQuality), its settlement module and every client: one
///         declaration of each enum, struct, custom error and event. The functions are in IProofOfQuality.
interface IPoQTypes {
    // ------------------------------------------------------------------ types

    enum Role {
        None,
        Inference,
        Evaluator
    }

    enum Status {
        None, // never registered
        Active, // in its role's pool: drawn for batches opened from now on
        Suspended, // stake fell below minStake: out of the pool until topped up
        Standby, // evicted from a full pool by a larger stake: out of the pool until it outbids the lowest
        Exiting, // asked to exit: out of the pool; stake released after the unbonding delay
        Exited // stake released; may register again
    }

    /// @dev A batch's stages. Answering, Referencing, Committing and Revealing have deadlines and end
    ///      early when everyone acted; a stage ended by the clock is derived by `stageOf`.
    enum Stage {
        None,
        Opened, // waiting for its draw block
        Answering, // drawn: assigned nodes answer
        Referencing, // answered: the requester reveals the references
        Committing, // panels commit hashed scores
        Revealing, // panels reveal scores
        Closed, // ready to finalize
        Finalized // settled: rewards credited, slashes sent to the treasury, surplus refunded
    }

    /// @notice Deployment parameters; immutable once deployed.
    struct Params {
        uint256 alphaF; // inference reward weight on Q (WAD)
        uint256 betaF; // inference penalty weight on normalized cost (WAD)
        uint256 alphaM; // evaluator reward weight on closeness 1 - d (WAD)
        uint256 betaM; // evaluator penalty weight on normalized cost (WAD)
        uint256 slashPenalty; // reward units debited per missed answer or reveal (WAD)
        uint256 rewardUnit; // wei paid per 1.0 (WAD) of reward
        uint256 minStake; // wei; also the unit of sampling weight
        uint8 k; // evaluators per task, 1..3
        uint8 aggregation; // 0 mean, 1 median, 2 trimmed mean, 3 trust-weighted mean
        uint8 maxPoolSize; // active nodes per role, 1..32: bounds every loop
        uint32 answerWindow; // seconds
        uint32 referenceWindow; // seconds
        uint32 commitWindow; // seconds
        uint32 revealWindow; // seconds
        uint32 unbondingDelay; // seconds
        uint32 epochLength; // seconds per declared-cost epoch
        uint8 trustRule; // trust update when aggregation is 3: 0 published (0.5 - d), 1 robust (median, panel pivot),
        // 2 informative (the batch's mean informativeness of each evaluator, see PoQSettlement)
        uint64 trustLambda; // trust learning rate lambda (WAD, <= 1)
        uint64 trustMin; // lowest trust weight (WAD, in (0, 1])
        uint64 trustMax; // highest trust weight (WAD, in [1, 18])
        uint64 trustInitial; // weight of an evaluator no trust round has moved yet (WAD, in [trustMin, trustMax])
        uint64 costSmoothing; // weight of a new observation in a node's measured cost (WAD, in (0, 1])
        uint16 maxBatchSize; // tasks per batch, 1..256
        address treasury; // receives slashed stake; address(0) means the deployer
        uint8 evaluatorReward; // 0 paper (Eqs. 3-5: closeness to the centre), 1 peer (informativeness, needs k >= 2)
        uint8 costRule; // 0 minmax (the paper's: over the pool's min and max), 1 quantile (twice a stake-weighted quantile)
        uint64 costQuantile; // the stake-weighted quantile of the quantile cost rule (WAD, in (0, 1))
        uint8 feeRule; // 0 refund (the unpaid fee goes back to the requester), 1 fixed (a fixed price per answered task)
        uint256 referenceBond; // fixed fee rule: wei per task a requester with references escrows and forfeits if it withholds them
    }

    /// @dev Jobs and cumulative rewards are not stored: they are the sums of RewardsSettled events.
    struct NodeView {
        Role role;
        Status status;
        uint32 id;
        uint32 openBatches; // drawn batches not yet finalized
        uint256 stake;
        uint256 balance;
        uint256 units; // sampling weight: floor(stake / minStake)
        uint32 costUs; // measured cost: moving average of microseconds per item
        uint16 costSamples; // observations behind costUs (saturates at 65535)
        uint32 declaredUs; // latest declared latency (0 = never declared)
        uint64 unbondingEnds;
        uint64 exitBatch; // batches up to this id may still draw an exiting node
        bytes32 costCommitment; // pending declared-cost commitment, 0 when none
        uint64 costEpoch; // epoch of the pending declared-cost commitment
        string model;
        uint256 trustWeight; // evaluator trust weight (WAD); trustInitial until a trust-weighted task moves it
    }

    struct BatchView {
        address requester;
        Stage stage;
        uint256 size;
        uint256 firstTaskId;
        uint256 fee;
        uint256 drawBlock;
        uint64 openedAt;
        uint64 deadline; // of the current stage
        bool hasReference;
        uint256 inferenceCount; // participants[0 .. inferenceCount) answer, the rest evaluate
        address[] participants; // empty before the draw and after finalize
        uint16[] items; // tasks (inference) or seats (evaluators) per participant
        uint8[] flags; // per participant: 1 answered, 2 committed, 4 revealed
    }

    struct TaskView {
        uint256 batchId;
        uint256 index; // position in its batch
        Stage stage; // the batch's stage
        address node; // 0 before the draw and after finalize
        address[] evaluators; // the panel, in seat order
    }

    // ------------------------------------------------------------------ errors

    /// @notice Thrown when a deployment parameter `name` is out of its range.
    error InvalidParameter(string name, uint256 value);
    /// @notice Thrown when `register` names a role other than 1 (inference) or 2 (evaluator).
    error InvalidRole(uint8 role);
    /// @notice Thrown when a registered key that has not exited registers again.
    error AlreadyRegistered(address node);
    /// @notice Thrown when a registration stakes less than minStake.
    error StakeBelowMinimum(uint256 stake, uint256 minStake);
    /// @notice Thrown when a role's pool is full and the stake does not exceed its lowest stake.
    error PoolFull(Role role, uint256 maxPoolSize, uint256 lowestStake);
    /// @notice Thrown when the caller is not a registered node holding stake (Active, Suspended or Standby).
    error NotActive(address node);
    /// @notice Thrown when stake is released by a node that did not ask to exit.
    error NotExiting(address node);
    /// @notice Thrown when stake is released before the unbonding delay passed.
    error UnbondingNotOver(address node, uint256 unbondingEnds);
    /// @notice Thrown when stake is released while batches that drew the node are not finalized.
    error NodeHasOpenBatches(address node, uint256 openBatches);
    /// @notice Thrown when stake is released while a batch opened before the exit request is not drawn yet.
    error DrawsPending(address node, uint256 exitBatch, uint256 drawnBatches);
    /// @notice Thrown when a node commits a second declared cost in one epoch.
    error CostAlreadyCommitted(address node, uint256 epoch);
    /// @notice Thrown when a declared cost is revealed without a commitment.
    error NoCostCommitment(address node);
    /// @notice Thrown when a declared cost is revealed outside the epoch after its commitment.
    error CostRevealOutsideEpoch(address node, uint256 commitEpoch, uint256 currentEpoch);
    /// @notice Thrown when a revealed latency and salt do not hash to the committed cost.
    error CostCommitmentMismatch(address node);
    /// @notice Thrown when a declared latency is zero.
    error LatencyOutOfRange(uint256 latencyUs);
    /// @notice Thrown when a batch is empty or larger than maxBatchSize.
    error InvalidBatchSize(uint256 size, uint256 maxBatchSize);
    /// @notice Thrown when an array does not have one entry per task, per reference or per seat.
    error LengthMismatch(uint256 expected, uint256 actual);
    /// @notice Thrown when a batch is opened while the inference pool is empty.
    error NoInferenceNodes();
    /// @notice Thrown when a batch is opened while fewer than K evaluators are in the pool.
    error NotEnoughEvaluators(uint256 needed, uint256 available);
    /// @notice Thrown when a batch's fee does not cover the maximum payout of its tasks.
    error FeeBelowMaxPayout(uint256 fee, uint256 required);
    /// @notice Thrown when an amount does not fit the contract's 88-bit wei fields.
    error AmountTooLarge(uint256 amount);
    /// @notice Thrown when no batch has this id.
    error UnknownBatch(uint256 batchId);
    /// @notice Thrown when no task has this id.
    error UnknownTask(uint256 taskId);
    /// @notice Thrown when the batch is not in the stage this call needs.
    error WrongStage(uint256 batchId, Stage expected, Stage actual);
    /// @notice Thrown when a batch is drawn before an earlier batch: draws go in order.
    error DrawOutOfOrder(uint256 batchId, uint256 next);
    /// @notice Thrown when a batch is drawn before its draw block has a hash.
    error DrawTooEarly(uint256 batchId, uint256 drawBlock);
    /// @notice Thrown when the caller holds no task (answering) or no seat (scoring) in the batch.
    error NotAssigned(uint256 batchId, address caller);
    /// @notice Thrown when a node answers a batch a second time.
    error AlreadyAnswered(uint256 batchId, address node);
    /// @notice Thrown when someone other than the batch's requester reveals its references.
    error NotRequester(uint256 batchId, address caller);
    /// @notice Thrown when references are revealed for a batch opened without a reference commitment.
    error NoReference(uint256 batchId);
    /// @notice Thrown when the revealed references and salt do not hash to the commitment.
    error ReferenceMismatch(uint256 batchId);
    /// @notice Thrown when an evaluator commits a second time in a batch.
    error AlreadyCommitted(uint256 batchId, address evaluator);
    /// @notice Thrown when an evaluator reveals without having committed.
    error NotCommitted(uint256 batchId, address evaluator);
    /// @notice Thrown when an evaluator reveals a second time.
    error AlreadyRevealed(uint256 batchId, address evaluator);
    /// @notice Thrown when revealed scores and salt do not hash to the evaluator's commitment.
    error CommitmentMismatch(uint256 batchId, address evaluator);
    /// @notice Thrown when a revealed score is above MAX_SCORE (10_000).
    error ScoreOutOfRange(uint256 score, uint256 maxScore);
    /// @notice Thrown when the scores given to finalize for an evaluator are not the ones it revealed.
    error RevealedScoresMismatch(uint256 batchId, address evaluator);
    /// @notice Thrown when the middle scores given to finalize for an evaluator are not those of its revealed scores.
    error MiddlesMismatch(uint256 batchId, address evaluator, uint16 lower, uint16 upper);
    /// @notice Thrown when a withdrawal asks for more than the caller's balance.
    error InsufficientBalance(address account, uint256 requested, uint256 available);
    /// @notice Thrown when sending ETH to the withdrawing account fails.
    error TransferFailed(address to, uint256 amount);
    /// @notice Thrown when a call re-enters a guarded function.
    error Reentrancy();
    /// @notice Thrown when the batch module is called directly instead of by the PoQ contract's delegatecall.
    error NotDelegated();

    // ------------------------------------------------------------------ events

    /// @notice A key registered (or registered again after exiting) and joined its role's pool.
    event NodeRegistered(address indexed node, uint32 indexed id, Role role, string model, uint256 stake);
    /// @notice A node added stake; `stake` is its total.
    event StakeAdded(address indexed node, uint256 amount, uint256 stake);
    /// @notice A Suspended or Standby node joined its pool again.
    event NodeActivated(address indexed node, uint256 stake);
    /// @notice A node's stake fell below minStake and it left its pool.
    event NodeSuspended(address indexed node, uint256 stake);
    /// @notice A full pool evicted its lowest stake `node` for a larger stake `by`; `node` is on Standby.
    event NodeEvicted(address indexed node, address indexed by, uint256 stake);
    /// @notice A node asked to exit; batches up to `exitBatch` may still draw it.
    event ExitRequested(address indexed node, uint256 unbondingEnds, uint256 exitBatch);
    /// @notice An exiting node's stake moved to its withdrawable balance.
    event StakeReleased(address indexed node, uint256 amount);
    /// @notice A node committed a declared latency for `epoch`.
    event CostCommitted(address indexed node, uint256 indexed epoch, bytes32 commitment);
    /// @notice A declared latency was revealed, beside the cost the contract measured for the node.
    event CostDeclared(address indexed node, uint256 indexed epoch, uint32 declaredUs, uint32 measuredUs);
    /// @notice The contract measured a node's response in a batch (microseconds per item) and moved its cost.
    event CostMeasured(address indexed node, uint256 indexed batchId, uint256 observedUs, uint256 costUs);
    /// @notice A requester opened tasks firstTaskId .. firstTaskId + inputs.length - 1; they are drawn from
    ///         the hash of block `drawBlock`.
    event BatchOpened(
        uint256 indexed batchId,
        address indexed requester,
        uint256 firstTaskId,
        uint256 fee,
        bytes32 referenceCommitment,
        uint256 drawBlock,
        uint8[] kinds,
        string[] inputs
    );
    /// @notice The draw block's hash had expired (older than 256 blocks); the batch draws from `drawBlock`.
    event DrawRearmed(uint256 indexed batchId, uint256 drawBlock);
    /// @notice The batch was drawn. `participants` lists inference nodes first (`inferenceCount`), then
    ///         evaluators; `seats` packs 8 tasks per word, task t in bits 32(t % 8).. of word t / 8: byte 0
    ///         the node's participant index, bytes 1..3 the panel's (0xff past K).
    event BatchDrawn(
        uint256 indexed batchId, bytes32 seed, address[] participants, uint256 inferenceCount, uint256[] seats
    );
    /// @notice A node answered all its tasks of the batch, in task order.
    event AnswersSubmitted(uint256 indexed batchId, address indexed node, string[] outputs);
    /// @notice The requester revealed the batch's reference answers, in task order.
    event ReferencesRevealed(uint256 indexed batchId, string[] references);
    /// @notice An evaluator committed one hash over its scores for all its seats of the batch.
    event ScoresCommitted(uint256 indexed batchId, address indexed evaluator, bytes32 commitment);
    /// @notice An evaluator revealed its scores, one per seat in seat order (tasks in order, seats by index).
    event ScoresRevealed(uint256 indexed batchId, address indexed evaluator, uint16[] scores);
    /// @notice The batch settled. Per task: `quality` (WAD), and in `rewardWad` the node's reward followed
    ///         by one per seat (K per task, 0 for a void seat); bit i of `expiredMask` marks task i as
    ///         never answered (its node slashed, its seats void).
    event BatchFinalized(
        uint256 indexed batchId,
        uint256 firstTaskId,
        uint256 expiredMask,
        uint256[] quality,
        int256[] rewardWad,
        uint256 paid,
        uint256 refund
    );
    /// @notice One per participant at settlement: `jobs` tasks or seats settled, the summed reward, and the
    ///         wei credited (positive) or debited from stake to the treasury (negative).
    event RewardsSettled(uint256 indexed batchId, address indexed account, uint256 jobs, int256 rewardWad, int256 amountWei);
    /// @notice An evaluator's trust weight after the batch's trust-weighted tasks (aggregation 3).
    event TrustUpdated(uint256 indexed batchId, address indexed evaluator, uint256 weight);
    /// @notice Wei debited from stakes at settlement went to the treasury's balance.
    event TreasuryCredited(uint256 indexed batchId, uint256 amount);
    /// @notice An evaluator's informativeness in a settled batch: the sum over its `seats` settled seats of
    ///         each seat's peer agreement (WAD, in [-1, 1] a seat; see PoQSettlement).
    event EvaluatorInformed(uint256 indexed batchId, address indexed evaluator, uint256 seats, int256 informationWad);
    /// @notice Fixed fee rule: the part of the batch's price its tasks did not pay out (and a withheld
    ///         references' bond) went to the treasury's balance, not back to the requester.
    event FeeRetained(uint256 indexed batchId, uint256 amount);
    /// @notice The batch's fee surplus went back to the requester's balance.
    event FeeRefunded(uint256 indexed batchId, address indexed requester, uint256 amount);
    /// @notice An account withdrew from its balance.
    event Withdrawn(address indexed account, uint256 amount);
}
