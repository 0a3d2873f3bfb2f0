"""A deployed PoQ contract with funded dev actors, driven by direct transactions.

Tests, benchmarks and the replay of simulated rounds use it to play rounds without model agents:
every step is a real signed transaction on a real chain (anvil or the embedded eth-tester EVM).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import EthereumTesterProvider, Web3
from web3.types import RPCEndpoint, TxReceipt

from deploy.compiler import CompiledArtifacts
from deploy.deployer import deploy_poq
from offchain.chain.accounts import dev_account, fund_accounts
from offchain.chain.client import PoQClient
from offchain.protocol import commitments
from offchain.protocol.params import Params

ROLE_INFERENCE, ROLE_EVALUATOR = 1, 2
FUNDING_WEI = 10_000 * 10**18


def advance_time(w3: Web3, seconds: int) -> None:
    """Move the chain clock forward and mine a block (eth-tester and anvil alike)."""
    if isinstance(w3.provider, EthereumTesterProvider):
        tester: Any = w3.provider.ethereum_tester
        now = int(w3.eth.get_block("latest")["timestamp"])
        tester.time_travel(now + seconds)
        tester.mine_blocks(1)
        return
    w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
    w3.provider.make_request(RPCEndpoint("evm_mine"), [])


def now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


@dataclass
class Devnet:
    """The contract plus a requester, inference nodes and evaluators with dev keys."""

    w3: Web3
    params: Params
    owner: PoQClient
    requester: PoQClient
    inference: list[PoQClient]
    evaluators: list[PoQClient]
    salts: dict[tuple[int, str], tuple[int, bytes]] = field(default_factory=dict)
    references: dict[int, tuple[str, bytes]] = field(default_factory=dict)

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
            node.transact("register", ROLE_INFERENCE, f"inference-{i}", value=amount)
        for i, node in enumerate(net.evaluators):
            node.transact("register", ROLE_EVALUATOR, f"evaluator-{i}", value=amount)
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

    # ------------------------------------------------------------------ costs

    def report_costs(self, latencies_us: dict[str, int]) -> None:
        """Commit every latency in one epoch, move to the next epoch, reveal them all."""
        length = self.params.epochLength
        if length - now(self.w3) % length < max(1, length // 2):
            advance_time(self.w3, length - now(self.w3) % length)  # commits must not straddle epochs
        epoch = int(self.owner.call("currentEpoch"))
        salts = {}
        for address, latency in latencies_us.items():
            salt = commitments.new_salt()
            salts[address] = salt
            digest = commitments.cost_commitment(self.chain_id, self.owner.address, epoch, address, latency, salt)
            self.client_for(address).transact("commitCost", digest)
        advance_time(self.w3, (epoch + 1) * length - now(self.w3))
        for address, latency in latencies_us.items():
            self.client_for(address).transact("revealCost", latency, salts[address])

    # ------------------------------------------------------------------ a round, step by step

    def open_task(
        self,
        task_input: str = "question",
        reference: str | None = "answer",
        kind: int = 0,
        fee: int | None = None,
    ) -> tuple[int, str, TxReceipt]:
        salt = commitments.new_salt()
        digest = commitments.reference_commitment(reference, salt) if reference is not None else b"\0" * 32
        value = int(self.owner.call("maxPayout")) if fee is None else fee
        receipt = self.requester.transact("openTask", kind, task_input, digest, value=value)
        event = self.requester.receipt_events(receipt, "TaskOpened")[0]["args"]
        task_id = int(event["taskId"])
        if reference is not None:
            self.references[task_id] = (reference, salt)
        return task_id, str(event["node"]), receipt

    def answer(self, task_id: int, output: str = "output") -> tuple[list[str], TxReceipt]:
        node = self.requester.task(task_id)["node"]
        receipt = self.client_for(node).transact("submitAnswer", task_id, output)
        selected = self.requester.receipt_events(receipt, "EvaluatorSelected")
        return [str(e["args"]["evaluator"]) for e in selected], receipt

    def reveal_reference(self, task_id: int) -> TxReceipt:
        reference, salt = self.references[task_id]
        return self.requester.transact("revealReference", task_id, reference, salt)

    def commit(self, task_id: int, evaluator: str, score: int) -> TxReceipt:
        salt = commitments.new_salt()
        self.salts[(task_id, evaluator.lower())] = (score, salt)
        digest = commitments.score_commitment(self.chain_id, self.owner.address, task_id, evaluator, score, salt)
        return self.client_for(evaluator).transact("commitScore", task_id, digest)

    def reveal(self, task_id: int, evaluator: str) -> TxReceipt:
        score, salt = self.salts[(task_id, evaluator.lower())]
        return self.client_for(evaluator).transact("revealScore", task_id, score, salt)

    def finalize(self, task_id: int) -> TxReceipt:
        return self.requester.transact("finalize", task_id)

    def play_round(
        self,
        scores: list[int | None],
        *,
        reference: str | None = "answer",
        commit_only: set[int] | None = None,
    ) -> dict[str, Any]:
        """Open, answer, (reveal reference), commit and reveal `scores` per seat, finalize.

        A None score means that seat never commits; seats in `commit_only` commit but never reveal,
        so the round closes by the reveal deadline. Returns the receipts and settlement events.
        """
        task_id, node, open_receipt = self.open_task(reference=reference)
        evaluators, answer_receipt = self.answer(task_id)
        commits: list[TxReceipt] = []
        reveals: list[TxReceipt] = []
        receipts: dict[str, Any] = {
            "open": open_receipt,
            "answer": answer_receipt,
            "commit": commits,
            "reveal": reveals,
        }
        if reference is not None:
            receipts["reference"] = self.reveal_reference(task_id)
        for seat, address in enumerate(evaluators):
            score = scores[seat]
            if score is not None:
                commits.append(self.commit(task_id, address, score))
        if any(s is None for s in scores[: len(evaluators)]):
            advance_time(self.w3, self.params.commitWindow + 1)
        for seat, address in enumerate(evaluators):
            if scores[seat] is not None and seat not in (commit_only or set()):
                reveals.append(self.reveal(task_id, address))
        if commit_only:
            advance_time(self.w3, self.params.revealWindow + 1)
        receipts["finalize"] = final = self.finalize(task_id)
        settled = {
            str(e["args"]["account"]): (int(e["args"]["rewardWad"]), int(e["args"]["amountWei"]))
            for e in self.requester.receipt_events(final, "RewardSettled")
        }
        refunds = self.requester.receipt_events(final, "FeeRefunded")
        return {
            "task_id": task_id,
            "node": node,
            "evaluators": evaluators,
            "receipts": receipts,
            "settled": settled,
            "refund": int(refunds[0]["args"]["amount"]) if refunds else 0,
            "quality": int(self.requester.receipt_events(final, "TaskFinalized")[0]["args"]["quality"]),
            "trust": {str(e["args"]["evaluator"]): int(e["args"]["weight"])
                      for e in self.requester.receipt_events(final, "TrustUpdated")},
        }


def dev_accounts(n: int, first: int = 0) -> list[LocalAccount]:
    return [dev_account(first + i) for i in range(n)]
