// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Cost-aware Proof of Quality for decentralized LLM inference
/// @notice Inference nodes answer tasks; K sampled evaluators score each answer by commit-reveal;
///         the contract computes consensus quality Q and cost-aware rewards (Eqs. 1-5 of the PoQ
///         paper) in WAD fixed point and credits them to pull-withdrawable balances.
/// @dev All reward arithmetic lives in libraries/Consensus.sol and libraries/Rewards.sol and is
///      mirrored bit for bit by the Python package `offchain.protocol`.
interface IProofOfQuality {
    // ------------------------------------------------------------------ types

    enum Role {
        None,
        Inference,
        Evaluator
    }

    enum Status {
        None, // never registered
        Active, // in its role's pool, can be assigned
        Suspended, // stake fell below minStake; out of the pool until topped up
        Exiting, // out of the pool, stake released after the unbonding delay
        Exited // stake released; may register again
    }

    /// @dev Effective phases. Open, Answered, Commit and Reveal have deadlines; Closed and Lapsed
    ///      are reached by the clock (or early, when everyone acted) and wait for `finalize`.
    enum Phase {
        None,
        Open, // waiting for the assigned node's answer
        Answered, // answered; waiting for the requester to reveal the reference
        Commit, // selected evaluators commit hashed scores
        Reveal, // evaluators reveal scores
        Closed, // reveal phase over; ready to finalize
        Lapsed, // never answered in time; ready to finalize as expired
        Finalized, // settled: rewards credited, surplus refunded
        Expired // settled without an answer: requester refunded, node slashed
    }

    /// @notice Deployment parameters; immutable once deployed.
    struct Params {
        uint256 alphaF; // inference reward weight on Q (WAD)
        uint256 betaF; // inference penalty weight on normalized cost (WAD)
        uint256 alphaM; // evaluator reward weight on closeness 1 - d (WAD)
        uint256 betaM; // evaluator penalty weight on normalized cost (WAD)
        uint256 slashPenalty; // reward units debited for a missed answer or reveal (WAD)
        uint256 rewardUnit; // wei paid per 1.0 (WAD) of reward
        uint256 minStake; // wei
        uint8 k; // evaluators per task, 1..3
        uint8 aggregation; // 0 mean, 1 median, 2 trimmed mean, 3 trust-weighted mean
        uint8 maxPoolSize; // active nodes per role, bounds every loop
        uint32 answerWindow; // seconds
        uint32 referenceWindow; // seconds
        uint32 commitWindow; // seconds
        uint32 revealWindow; // seconds
        uint32 unbondingDelay; // seconds
        uint32 epochLength; // seconds per cost-report epoch
        uint8 trustRule; // trust update when aggregation is 3: 0 published (0.5 - d), 1 robust (median, panel pivot)
        uint64 trustLambda; // trust learning rate lambda (WAD, <= 1)
        uint64 trustMin; // lowest trust weight (WAD, in (0, 1])
        uint64 trustMax; // highest trust weight (WAD, in [1, 18])
        uint64 trustInitial; // weight of an evaluator no trust round has moved yet (WAD, in [trustMin, trustMax])
    }

    /// @dev Jobs and cumulative rewards are not stored: they are the sums of RewardSettled events.
    struct NodeView {
        Role role;
        Status status;
        uint32 id;
        uint16 openAssignments;
        uint256 stake;
        uint256 balance;
        uint32 latencyUs; // 0 = never reported
        uint64 unbondingEnds;
        bytes32 costCommitment; // pending cost commitment, 0 when none
        uint64 costEpoch; // epoch of the pending cost commitment
        string model;
        uint256 trustWeight; // evaluator trust weight (WAD); trustInitial until a trust-weighted round moves it
    }

    struct TaskView {
        address requester;
        address node;
        Phase phase;
        uint8 taskKind;
        uint64 deadline;
        uint256 fee;
        bytes32 referenceCommitment; // while Open or Answered; afterwards see TaskOpened
        address[] evaluators;
        bool[] committed;
        bool[] revealed;
        uint16[] scores;
    }

    // ------------------------------------------------------------------ errors

    error InvalidParameter(string name, uint256 value);
    error InvalidRole(uint8 role);
    error AlreadyRegistered(address node);
    error NotRegistered(address node);
    error StakeBelowMinimum(uint256 stake, uint256 minStake);
    error PoolFull(Role role, uint256 maxPoolSize);
    error NodeHasOpenAssignments(address node, uint256 openAssignments);
    error NotExiting(address node);
    error UnbondingNotOver(address node, uint256 unbondingEnds);
    error NotActive(address node);
    error CostAlreadyCommitted(address node, uint256 epoch);
    error NoCostCommitment(address node);
    error CostRevealOutsideEpoch(address node, uint256 commitEpoch, uint256 currentEpoch);
    error CostCommitmentMismatch(address node);
    error LatencyOutOfRange(uint256 latencyUs);
    error NoInferenceNodes();
    error NotEnoughEvaluators(uint256 needed, uint256 available);
    error FeeBelowMaxPayout(uint256 fee, uint256 maxPayout);
    error AmountTooLarge(uint256 amount);
    error UnknownTask(uint256 taskId);
    error WrongPhase(uint256 taskId, Phase expected, Phase actual);
    error NotAssignedNode(uint256 taskId, address caller, address assigned);
    error NotRequester(uint256 taskId, address caller);
    error NoReference(uint256 taskId);
    error ReferenceMismatch(uint256 taskId);
    error NotSelectedEvaluator(uint256 taskId, address evaluator);
    error AlreadyCommitted(uint256 taskId, address evaluator);
    error NotCommitted(uint256 taskId, address evaluator);
    error AlreadyRevealed(uint256 taskId, address evaluator);
    error CommitmentMismatch(uint256 taskId, address evaluator);
    error ScoreOutOfRange(uint256 score, uint256 maxScore);
    error InsufficientBalance(address account, uint256 requested, uint256 available);
    error TransferFailed(address to, uint256 amount);
    error Reentrancy();

    // ------------------------------------------------------------------ events

    event NodeRegistered(address indexed node, uint32 indexed id, Role role, string model, uint256 stake);
    event StakeAdded(address indexed node, uint256 amount, uint256 stake);
    event NodeSuspended(address indexed node, uint256 stake);
    event ExitRequested(address indexed node, uint256 unbondingEnds);
    event StakeReleased(address indexed node, uint256 amount);
    event CostCommitted(address indexed node, uint256 indexed epoch, bytes32 commitment);
    event CostRevealed(address indexed node, uint256 indexed epoch, uint32 latencyUs);
    event TaskOpened(
        uint256 indexed taskId,
        address indexed requester,
        address indexed node,
        uint8 taskKind,
        uint256 fee,
        bytes32 referenceCommitment,
        uint64 deadline,
        string input
    );
    event TaskAnswered(uint256 indexed taskId, address indexed node, bytes32 outputHash, string output);
    event EvaluatorSelected(uint256 indexed taskId, address indexed evaluator, uint8 seat);
    event ReferenceRevealed(uint256 indexed taskId, string referenceText);
    event ScoreCommitted(uint256 indexed taskId, address indexed evaluator, bytes32 commitment);
    event ScoreRevealed(uint256 indexed taskId, address indexed evaluator, uint16 score);
    event TaskFinalized(uint256 indexed taskId, uint256 quality, uint8 revealed);
    event TaskExpired(uint256 indexed taskId, address indexed node);
    /// @notice One per participant at settlement; negative amounts were debited from stake.
    event RewardSettled(uint256 indexed taskId, address indexed account, int256 rewardWad, int256 amountWei);
    /// @notice An evaluator's trust weight after a trust-weighted round (aggregation 3).
    event TrustUpdated(uint256 indexed taskId, address indexed evaluator, uint256 weight);
    event FeeRefunded(uint256 indexed taskId, address indexed requester, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    // ------------------------------------------------------------------ registry

    /// @notice Register as an inference (1) or evaluator (2) node, staking msg.value (>= minStake).
    /// @dev `role` is a uint8 rather than Role so an out-of-range value gets a named error.
    function register(uint8 role, string calldata model) external payable;

    /// @notice Add stake; a Suspended node back at minStake rejoins its pool.
    function addStake() external payable;

    /// @notice Leave the pool; the stake is released after the unbonding delay.
    /// @dev Reverts while the node still has to act on an open task.
    function requestExit() external;

    /// @notice After the unbonding delay, move the stake to the withdrawable balance.
    function releaseStake() external;

    // ------------------------------------------------------------------ costs

    /// @notice Commit keccak256(abi.encode(chainid, this, epoch, node, latencyUs, salt)) in epoch e.
    function commitCost(bytes32 commitment) external;

    /// @notice Reveal the latency (microseconds, > 0) committed in epoch e during epoch e + 1.
    function revealCost(uint32 latencyUs, bytes32 salt) external;

    // ------------------------------------------------------------------ tasks

    /// @notice Open a task; msg.value is the fee and must cover maxPayout().
    /// @param referenceCommitment keccak256(abi.encode(keccak256(bytes(reference)), salt)), or 0.
    /// @dev The node is drawn uniformly from the inference pool with prevrandao, which a block
    ///      producer can bias; a randomness beacon or VRF would replace `_random` in production.
    function openTask(uint8 taskKind, string calldata input, bytes32 referenceCommitment)
        external
        payable
        returns (uint256 taskId);

    /// @notice The assigned node posts its output; K evaluators are sampled without replacement.
    function submitAnswer(uint256 taskId, string calldata output) external;

    /// @notice The requester reveals the reference answer after the task was answered.
    function revealReference(uint256 taskId, string calldata referenceText, bytes32 salt) external;

    /// @notice A selected evaluator commits keccak256(abi.encode(chainid, this, taskId, evaluator, score, salt)).
    function commitScore(uint256 taskId, bytes32 commitment) external;

    /// @notice A selected evaluator reveals its score in [0, 10_000] (10_000 = 10.0).
    function revealScore(uint256 taskId, uint16 score, bytes32 salt) external;

    /// @notice Settle a Closed task (rewards) or a Lapsed one (refund and slash). Anyone may call.
    function finalize(uint256 taskId) external;

    /// @notice Withdraw `amount` wei of the caller's balance.
    function withdraw(uint256 amount) external;

    // ------------------------------------------------------------------ views

    function params() external view returns (Params memory);
    function maxPayout() external view returns (uint256);
    function getNode(address node) external view returns (NodeView memory);
    function getTask(uint256 taskId) external view returns (TaskView memory);
    function phaseOf(uint256 taskId) external view returns (Phase phase, uint64 deadline);
    function pool(Role role) external view returns (address[] memory);
    function taskCount() external view returns (uint256);
    function nodeCount() external view returns (uint256);
    function nodeAt(uint32 id) external view returns (address);
    function normalizedCost(address node) external view returns (uint256);
    function costRange(Role role) external view returns (uint32 minUs, uint32 maxUs);
    function currentEpoch() external view returns (uint256);
    function slashedTotal() external view returns (uint256);
    function scoreCommitment(uint256 taskId, address evaluator, uint16 score, bytes32 salt)
        external
        view
        returns (bytes32);
    function costCommitment(uint256 epoch, address node, uint32 latencyUs, bytes32 salt)
        external
        view
        returns (bytes32);
}
