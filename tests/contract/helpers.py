"""Small helpers shared by the contract attack and lifecycle tests (no fixtures here)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from deploy.devnet import FUNDING_WEI, Devnet, advance_time, now
from offchain.chain.accounts import dev_account, fund_accounts
from offchain.chain.client import PoQClient
from offchain.protocol.types import Phase

# Nodes that never reported a latency cost 1.0 (wad.normalized_cost(False, ...)).
UNREPORTED_COST = 10**18
STRANGER_KEY = 60  # dev keys from here on are never used by a Devnet built with first_key=0


def stranger(net: Devnet, index: int = 0) -> PoQClient:
    """A funded account that is neither a node nor the requester."""
    account = dev_account(STRANGER_KEY + index)
    fund_accounts(net.w3, [account.address], FUNDING_WEI)
    return net.owner.with_account(account)


def client_for_contract(net: Devnet, address: str, abi: list[dict[str, Any]], account: Any) -> PoQClient:
    """A PoQClient on another contract whose reverts may bubble PoQ's custom errors up."""
    errors = [e for e in net.owner.manifest.abi if e.get("type") == "error"]
    manifest = replace(net.owner.manifest, address=address, abi=[*abi, *errors])
    return PoQClient(net.w3, manifest, account)


def open_in_commit(net: Devnet) -> tuple[int, str, list[str]]:
    """A task without a reference, answered: it is in the commit phase. (task id, node, seats)."""
    task_id, node, _ = net.open_task(reference=None)
    evaluators, _ = net.answer(task_id)
    return task_id, node, evaluators


def open_in_reveal(net: Devnet, scores: list[int]) -> tuple[int, str, list[str]]:
    """A task whose every seat committed `scores[seat]`: it is in the reveal phase."""
    task_id, node, evaluators = open_in_commit(net)
    for address, score in zip(evaluators, scores, strict=True):
        net.commit(task_id, address, score)
    return task_id, node, evaluators


def phase(net: Devnet, task_id: int) -> str:

    return Phase(int(net.owner.call("phaseOf", task_id)[0])).label


def settled(net: Devnet, receipt: Any) -> dict[str, tuple[int, int]]:
    """RewardSettled events of a finalize receipt: account -> (rewardWad, amountWei)."""
    return {
        str(e["args"]["account"]): (int(e["args"]["rewardWad"]), int(e["args"]["amountWei"]))
        for e in net.owner.receipt_events(receipt, "RewardSettled")
    }


def refunded(net: Devnet, receipt: Any) -> int:
    events = net.owner.receipt_events(receipt, "FeeRefunded")
    return sum(int(e["args"]["amount"]) for e in events)


def stake(net: Devnet, address: str) -> int:
    return int(net.owner.node(address)["stake"])


def balance(net: Devnet, address: str) -> int:
    return int(net.owner.node(address)["balance"])


def to_next_epoch(net: Devnet) -> int:
    """Advance to the first second of the next cost epoch; returns that epoch."""
    advance_time(net.w3, net.params.epochLength - now(net.w3) % net.params.epochLength)
    return int(net.owner.call("currentEpoch"))
