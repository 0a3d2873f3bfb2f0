"""A deployed PoQ contract with funded dev actors, driven by direct transactions.

Tests, benchmarks and the replay of simulated rounds use it to play batches without model agents:
every step is a real signed transaction on a real chain (anvil or the embedded eth-tester EVM).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.types import RPCEndpoint, TxReceipt

from deploy.compiler import CompiledArtifacts
from deploy.deployer import deploy_poq
from offchain.chain.accounts import dev_account, fund_accounts
from offchain.chain.batches import finalize_arguments
from offchain.chain.client import PoQClient
from offchain.chain.connect import is_embedded
from offchain.protocol import commitments
from offchain.protocol.draw import decode_seats
from offchain.protocol.params import Params
from offchain.protocol.types import Role

FUNDING_WEI = 10_000 * 10**18
ScoreFn = Callable[[int, int, str], int | None]  # (task index, seat, evaluator) -> score, None = silent


def advance_time(w3: Web3, seconds: int) -> None:
    """Move the chain clock forward and mine a block (eth-tester and anvil alike)."""
    if is_embedded(w3):
        tester: Any = w3.provider.ethereum_tester  # type: ignore[attr-defined]
        pending = int(tester.get_block_by_number("pending")["timestamp"])
        tester.time_travel(max(pending, now(w3) + seconds))  # eth-tester refuses to go back in time
        tester.mine_blocks(1)
        return
    w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
    w3.provider.make_request(RPCEndpoint("evm_mine"), [])


def mine(w3: Web3, blocks: int = 1) -> None:
    """Mine empty blocks (a draw needs its draw block to exist)."""
    if is_embedded(w3):
        w3.provider.ethereum_tester.mine_blocks(blocks)  # type: ignore[attr-defined]
        return
    for _ in range(blocks):
        w3.provider.make_request(RPCEndpoint("evm_mine"), [])


def now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


@dataclass(frozen=True)
class DrawnBatch:
    """A BatchDrawn event, decoded: participants (inference first) and per task its node and panel."""

    batch_id: int
    participants: tuple[str, ...]
    inference_count: int
    tasks: tuple[tuple[int, tuple[int, ...]], ...]  # participant indices

    def node_of(self, task: int) -> str:
        return self.participants[self.tasks[task][0]]

    def panel_of(self, task: int) -> list[str]:
        return [self.participants[p] for p in self.tasks[task][1]]

    def tasks_of(self, address: str) -> list[int]:
        """The task indices a node answers, in order."""
        return [t for t in range(len(self.tasks)) if self.node_of(t).lower() == address.lower()]

    def seats_of(self, address: str) -> list[tuple[int, int]]:
        """An evaluator's seats (task, seat index), in seat order."""
        return [(t, j) for t in range(len(self.tasks)) for j, e in enumerate(self.panel_of(t))
                if e.lower() == address.lower()]

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.participants[: self.inference_count]

    @property
    def evaluators(self) -> tuple[str, ...]:
        return self.participants[self.inference_count :]


@dataclass
class Devnet:
    """The contract plus a requester, inference nodes and evaluators with dev keys."""

    w3: Web3
    params: Params
    owner: PoQClient
    requester: PoQClient
    inference: list[PoQClient]
    evaluators: list[PoQClient]
    references: dict[int, tuple[list[str], bytes]] = field(default_factory=dict)
    salts: dict[tuple[int, str], tuple[list[int], bytes]] = field(default_factory=dict)
    draws: dict[int, DrawnBatch] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        w3: Web3,
        params: Params,
        *,
        n_inference: int = 2,
        n_evaluators: int = 3,
        deployments_dir: Path,
        artifacts: CompiledArtifacts | None = None,
        first_key: int = 0,
        stake: int | None = None,
        fixed_gas: int | None = None,
    ) -> Devnet:
        """Deploy and register the actors. `fixed_gas` skips gas estimation (faster; reverts are
        then decoded from the failed receipt)."""
        keys = [dev_account(first_key + i) for i in range(2 + n_inference + n_evaluators)]
        fund_accounts(w3, [k.address for k in keys], FUNDING_WEI)
        manifest = deploy_poq(w3, keys[0], params, artifacts=artifacts, deployments_dir=deployments_dir)
        owner = PoQClient(w3, manifest, keys[0])
        owner.fixed_gas = fixed_gas
        clients = [owner.with_account(k) for k in keys[1:]]
        net = cls(w3, params, owner, clients[0], clients[1 : 1 + n_inference], clients[1 + n_inference :])
        amount = params.minStake if stake is None else stake
        for i, node in enumerate(net.inference):
            node.transact("register", Role.INFERENCE, f"inference-{i}", value=amount)
        for i, node in enumerate(net.evaluators):
            node.transact("register", Role.EVALUATOR, f"evaluator-{i}", value=amount)
        return net

    # ------------------------------------------------------------------ lookups

    def client_for(self, address: str) -> PoQClient:
        for client in [*self.inference, *self.evaluators, self.requester, self.owner]:
            if client.sender.lower() == address.lower():
                return client
        raise KeyError(address)

    @property
    def chain_id(self) -> int:
        return self.owner.manifest.chain_id

    @property
    def k(self) -> int:
        return self.params.k

    # ------------------------------------------------------------------ a batch, step by step

    def open_batch(
        self,
        inputs: Sequence[str] = ("question",),
        references: Sequence[str] | None = None,
        *,
        with_reference: bool = True,
        kinds: Sequence[int] | None = None,
        fee: int | None = None,
        requester: PoQClient | None = None,
    ) -> tuple[int, TxReceipt]:
        """Open a batch; references default to "answer" per task (None with with_reference=False)."""
        who = requester or self.requester
        refs = list(references) if references is not None else (["answer"] * len(inputs) if with_reference else None)
        salt = commitments.new_salt()
        digest = commitments.reference_commitment(refs, salt) if refs is not None else b"\0" * 32
        value = int(self.owner.call("requiredFee", len(inputs), refs is not None)) if fee is None else fee
        receipt = who.transact(
            "openBatch", list(kinds or [0] * len(inputs)), list(inputs), digest, value=value
        )
        batch_id = int(who.receipt_events(receipt, "BatchOpened")[0]["args"]["batchId"])
        if refs is not None:
            self.references[batch_id] = (refs, salt)
        return batch_id, receipt

    def draw(self, batch_id: int, *, caller: PoQClient | None = None) -> tuple[DrawnBatch, TxReceipt]:
        """Mine up to the draw block if needed, then draw (anyone may: the owner by default)."""
        draw_block = int(self.owner.call("getBatch", batch_id)[5])
        latest = int(self.w3.eth.block_number)
        if latest < draw_block:
            mine(self.w3, draw_block - latest)
        receipt = (caller or self.owner).transact("draw", batch_id)
        drawn = self.drawn_from(receipt)
        self.draws[batch_id] = drawn
        return drawn, receipt

    def drawn_from(self, receipt: TxReceipt) -> DrawnBatch:
        args = self.owner.receipt_events(receipt, "BatchDrawn")[0]["args"]
        return DrawnBatch(
            int(args["batchId"]),
            tuple(str(a) for a in args["participants"]),
            int(args["inferenceCount"]),
            tuple(decode_seats(args["seats"], self.k)),
        )

    def answer(self, batch_id: int, node: str, outputs: Sequence[str] | None = None) -> TxReceipt:
        drawn = self.draws[batch_id]
        texts = list(outputs) if outputs is not None else [f"output {t}" for t in drawn.tasks_of(node)]
        return self.client_for(node).transact("submitAnswers", batch_id, texts)

    def reveal_references(self, batch_id: int) -> TxReceipt:
        refs, salt = self.references[batch_id]
        return self.requester.transact("revealReferences", batch_id, refs, salt)

    def commit(self, batch_id: int, evaluator: str, scores: Sequence[int]) -> TxReceipt:
        salt = commitments.new_salt()
        self.salts[(batch_id, evaluator.lower())] = (list(scores), salt)
        digest = commitments.score_commitment(self.chain_id, self.owner.address, batch_id, evaluator, scores, salt)
        return self.client_for(evaluator).transact("commitScores", batch_id, digest)

    def reveal(self, batch_id: int, evaluator: str) -> TxReceipt:
        scores, salt = self.salts[(batch_id, evaluator.lower())]
        return self.client_for(evaluator).transact("revealScores", batch_id, scores, salt)

    def finalize(self, batch_id: int, caller: PoQClient | None = None) -> TxReceipt:
        """Finalize with every evaluator's revealed scores, read from the batch's events."""
        return (caller or self.requester).transact("finalize", batch_id, *finalize_arguments(self.owner, batch_id))

    # ------------------------------------------------------------------ whole batches

    def play_batch(
        self,
        size: int = 1,
        score: ScoreFn | int = 5_000,
        *,
        with_reference: bool = True,
        silent_nodes: Sequence[str] = (),
        commit_only: Sequence[str] = (),
        inputs: Sequence[str] | None = None,
        outputs: str | None = None,
        references: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Open, draw, answer, (reveal references), commit and reveal, finalize one batch.

        `score(task, seat, evaluator)` gives each seat's score (None: that evaluator never commits in
        this batch); nodes in `silent_nodes` never answer; evaluators in `commit_only` commit but never
        reveal. The clock is moved past any deadline a silent party leaves open. Returns the receipts,
        the draw and the settlement events.
        """
        score_fn: ScoreFn = score if callable(score) else (lambda _t, _j, _e: int(score))
        batch_id, open_receipt = self.open_batch(inputs or [f"question {i}" for i in range(size)],
                                                 references if with_reference else None,
                                                 with_reference=with_reference)
        drawn, draw_receipt = self.draw(batch_id)
        receipts: dict[str, Any] = {"open": open_receipt, "draw": draw_receipt, "answer": [], "commit": [],
                                    "reveal": []}
        silent = {a.lower() for a in silent_nodes}
        for node in drawn.nodes:
            if node.lower() not in silent:
                texts = None if outputs is None else [outputs] * len(drawn.tasks_of(node))
                receipts["answer"].append(self.answer(batch_id, node, texts))
        if silent & {n.lower() for n in drawn.nodes}:
            advance_time(self.w3, self.params.answerWindow + 1)
        answered = any(n.lower() not in silent for n in drawn.nodes)
        if with_reference and answered:
            receipts["reference"] = self.reveal_references(batch_id)
        committed = []
        for evaluator in drawn.evaluators if answered else ():
            scores = [score_fn(t, j, evaluator) for t, j in drawn.seats_of(evaluator)]
            if any(s is None for s in scores):
                continue
            receipts["commit"].append(self.commit(batch_id, evaluator, [int(s) for s in scores]))  # type: ignore[arg-type]
            committed.append(evaluator)
        if answered and len(committed) < len(drawn.evaluators):
            advance_time(self.w3, self.params.commitWindow + 1)
        quiet = {a.lower() for a in commit_only}
        for evaluator in committed:
            if evaluator.lower() not in quiet:
                receipts["reveal"].append(self.reveal(batch_id, evaluator))
        if quiet & {e.lower() for e in committed}:
            advance_time(self.w3, self.params.revealWindow + 1)
        receipts["finalize"] = final = self.finalize(batch_id)
        return {"batch_id": batch_id, "drawn": drawn, "receipts": receipts, **self.settlement(final)}

    def play_round(self, scores: Sequence[int | None], *, reference: str | None = "answer",
                   commit_only: set[int] | None = None) -> dict[str, Any]:
        """A batch of one task: seat j scores `scores[j]` (None: never commits); seats in `commit_only`
        commit but never reveal. The paper's round, as the batch contract plays it."""
        def by_seat(_t: int, j: int, _e: str) -> int | None:
            return scores[j] if j < len(scores) else None

        quiet_seats = commit_only or set()
        batch_id, _ = self.open_batch(["question"], [reference] if reference is not None else None,
                                      with_reference=reference is not None)
        drawn, _ = self.draw(batch_id)
        self.answer(batch_id, drawn.node_of(0))
        if reference is not None:
            self.reveal_references(batch_id)
        panel = drawn.panel_of(0)
        for j, evaluator in enumerate(panel):
            value = by_seat(0, j, evaluator)
            if value is not None:
                self.commit(batch_id, evaluator, [value])
        if any(by_seat(0, j, e) is None for j, e in enumerate(panel)):
            advance_time(self.w3, self.params.commitWindow + 1)
        for j, evaluator in enumerate(panel):
            if by_seat(0, j, evaluator) is not None and j not in quiet_seats:
                self.reveal(batch_id, evaluator)
        if quiet_seats:
            advance_time(self.w3, self.params.revealWindow + 1)
        final = self.finalize(batch_id)
        settled = self.settlement(final)
        return {"batch_id": batch_id, "task_id": int(settled["first_task_id"]), "node": drawn.node_of(0),
                "evaluators": panel, "drawn": drawn, **settled}

    def settlement(self, receipt: TxReceipt) -> dict[str, Any]:
        """The settlement events of a finalize receipt, decoded."""
        events = self.owner.receipt_events
        final = events(receipt, "BatchFinalized")[0]["args"]
        refunds = events(receipt, "FeeRefunded")
        treasury = events(receipt, "TreasuryCredited")
        retained = events(receipt, "FeeRetained")
        return {
            "first_task_id": int(final["firstTaskId"]),
            "quality": [int(q) for q in final["quality"]],
            "rewards": [int(r) for r in final["rewardWad"]],
            "expired_mask": int(final["expiredMask"]),
            "paid": int(final["paid"]),
            "refund": int(refunds[0]["args"]["amount"]) if refunds else 0,
            "treasury": int(treasury[0]["args"]["amount"]) if treasury else 0,  # slashed stake
            "retained": int(retained[0]["args"]["amount"]) if retained else 0,  # fixed fee rule: price not paid out
            "information": {str(e["args"]["evaluator"]): (int(e["args"]["seats"]), int(e["args"]["informationWad"]))
                            for e in events(receipt, "EvaluatorInformed")},
            "settled": {
                str(e["args"]["account"]): (int(e["args"]["jobs"]), int(e["args"]["rewardWad"]),
                                            int(e["args"]["amountWei"]))
                for e in events(receipt, "RewardsSettled")
            },
            "trust": {str(e["args"]["evaluator"]): int(e["args"]["weight"])
                      for e in events(receipt, "TrustUpdated")},
        }
