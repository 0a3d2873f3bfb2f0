"""Small helpers shared by the contract attack and lifecycle tests (no fixtures here).

Devnets built with `build` skip gas estimation (a reverted transaction is mined and decoded from its
receipt) and run their clock an hour ahead of the wall clock, so every block is the previous one + 1 s
and `advance_time(s)` moves it exactly s seconds: the contract's measured costs are the ones a test
designs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from deploy.devnet import FUNDING_WEI, Devnet, DrawnBatch, advance_time, now
from offchain.chain.accounts import dev_account, fund_accounts
from offchain.chain.client import PoQClient
from offchain.protocol import BatchSettlement, Params, settle_batch, wad
from offchain.protocol.types import Stage

STAKE = 5 * 10**18  # each actor's stake unless a test says otherwise
# The paper's rules (Eqs. 3-5 for evaluators, min-max costs, the unpaid fee refunded): the suites that pin
# the paper's equations with exact numbers deploy these; the defaults are the peer, quantile and fixed rules.
PAPER = Params(evaluatorReward=wad.PAPER, costRule=wad.MINMAX, feeRule=wad.REFUND)
FIXED_GAS = 12_000_000
CLOCK_LEAD = 3_600
STRANGER_KEY = 60  # dev keys from here on are never used by a Devnet built with first_key=0


def build(make_devnet: Callable[..., Devnet], params: Any = None, *, stake: int = STAKE, **kwargs: Any) -> Devnet:
    """A devnet with fixed gas and a deterministic clock (see the module docstring)."""
    net = make_devnet(params, stake=stake, fixed_gas=FIXED_GAS, **kwargs)
    advance_time(net.w3, CLOCK_LEAD)
    return net


def stranger(net: Devnet, index: int = 0) -> PoQClient:
    """A funded account that is neither a node nor the requester."""
    account = dev_account(STRANGER_KEY + index)
    fund_accounts(net.w3, [account.address], FUNDING_WEI)
    return net.owner.with_account(account)


def client_for_contract(net: Devnet, address: str, abi: list[dict[str, Any]], account: Any) -> PoQClient:
    """A PoQClient on another contract whose reverts may bubble PoQ's custom errors up."""
    errors = [e for e in net.owner.manifest.abi if e.get("type") == "error"]
    manifest = replace(net.owner.manifest, address=address, abi=[*abi, *errors])
    client = PoQClient(net.w3, manifest, account)
    client.fixed_gas = net.owner.fixed_gas
    return client


# ---------------------------------------------------------------- reads


def stage(net: Devnet, batch_id: int) -> str:
    return Stage(int(net.owner.call("stageOf", batch_id)[0])).label


def batch(net: Devnet, batch_id: int) -> dict[str, Any]:
    """getBatch as a dict (stage with the clock applied)."""
    entry = next(e for e in net.owner.manifest.abi if e.get("type") == "function" and e["name"] == "getBatch")
    names = [c["name"] for c in entry["outputs"][0]["components"]]
    return dict(zip(names, net.owner.call("getBatch", batch_id), strict=True))


def flags(net: Devnet, batch_id: int, address: str) -> int:
    """A participant's flags in a drawn batch (types.ANSWERED | COMMITTED | REVEALED)."""
    view = batch(net, batch_id)
    return int(view["flags"][[a.lower() for a in view["participants"]].index(address.lower())])


def stake(net: Devnet, address: str) -> int:
    return int(net.owner.node(address)["stake"])


def balance(net: Devnet, address: str) -> int:
    return int(net.owner.node(address)["balance"])


def eth(net: Devnet, address: str) -> int:
    return int(net.w3.eth.get_balance(address))


def treasury(net: Devnet) -> str:
    """The treasury's address (the deployer unless the parameters name one)."""
    return str(net.owner.params()["treasury"])


def block_time(net: Devnet, receipt: Any) -> int:
    return int(net.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def assert_solvent(net: Devnet) -> None:
    """The contract's ETH is exactly stakes + balances (the treasury's included) + escrow."""
    stakes, balances, escrow = net.owner.call("accounting")
    assert stakes + balances + escrow == eth(net, net.owner.address)


# ---------------------------------------------------------------- the clock


def next_block_at(net: Devnet, timestamp: int) -> None:
    """Move the clock so that the next transaction is mined at `timestamp`."""
    gap = timestamp - now(net.w3)
    assert gap >= 1, f"the clock is already past {timestamp}"
    if gap > 1:
        advance_time(net.w3, gap - 1)


def to_next_epoch(net: Devnet) -> int:
    """Advance to the first second of the next cost epoch; returns that epoch."""
    advance_time(net.w3, net.params.epochLength - now(net.w3) % net.params.epochLength)
    return int(net.owner.call("currentEpoch"))


# ---------------------------------------------------------------- batches


def open_drawn(net: Devnet, size: int = 1, *, until: Callable[[DrawnBatch], bool] | None = None, tries: int = 24,
               **open_kwargs: Any) -> tuple[int, DrawnBatch]:
    """Open and draw a batch; with `until`, open new batches until a draw satisfies it (those drawn
    before are left to expire)."""
    for _ in range(tries):
        batch_id, _ = net.open_batch([f"question {i}" for i in range(size)], **open_kwargs)
        drawn, _ = net.draw(batch_id)
        if until is None or until(drawn):
            return batch_id, drawn
    raise AssertionError(f"no draw of {tries} satisfied the test's condition")


def answer_all(net: Devnet, batch_id: int) -> Any:
    """Every drawn node answers; returns the last receipt."""
    receipt = None
    for node in net.draws[batch_id].nodes:
        receipt = net.answer(batch_id, node)
    return receipt


def answered(net: Devnet, size: int = 1, **open_kwargs: Any) -> tuple[int, DrawnBatch]:
    """A batch without a reference, drawn and answered: it is Committing."""
    batch_id, drawn = open_drawn(net, size, with_reference=False, **open_kwargs)
    answer_all(net, batch_id)
    return batch_id, drawn


def commit_all(net: Devnet, batch_id: int, score: Callable[[int, int, str], int] | int) -> dict[str, list[int]]:
    """Every drawn evaluator commits score(task, seat, evaluator) per seat: the batch is Revealing."""
    drawn = net.draws[batch_id]
    scores = {}
    for evaluator in drawn.evaluators:
        scores[evaluator] = [score(t, j, evaluator) if callable(score) else score for t, j in drawn.seats_of(evaluator)]
        net.commit(batch_id, evaluator, scores[evaluator])
    return scores


def measure_all(net: Devnet, size: int = 6, tries: int = 10) -> None:
    """Play quick batches (every answer and commit within seconds) until every node has a measured cost."""
    for _ in range(tries):
        if all(net.owner.node(c.sender)["costSamples"] for c in [*net.inference, *net.evaluators]):
            return
        net.play_batch(size)
    raise AssertionError(f"{tries} batches did not draw every node")


# ---------------------------------------------------------------- expected settlements


def costs(net: Devnet, addresses: Sequence[str]) -> list[int]:
    """Normalized costs (WAD) as settlement reads them now, computed with offchain.protocol from each
    node's measured cost and its role's pool, and checked against the contract's view."""
    out = []
    for address in addresses:
        view = net.owner.node(address)
        pool, units = net.owner.call("pool", int(view["role"]))
        measured = [net.owner.node(a) for a in pool]
        lo, hi = wad.pool_cost_range([(int(m["costUs"]) if m["costSamples"] else None, int(u))
                                      for m, u in zip(measured, units, strict=True)],
                                     net.params.costRule, net.params.costQuantile)
        cost = wad.normalized_cost(view["costSamples"] != 0, int(view["costUs"]), lo, hi)
        assert int(net.owner.call("normalizedCost", address)) == cost
        out.append(cost)
    return out


def expect(net: Devnet, batch_id: int, revealed: dict[str, list[int]], silent: Sequence[str] = ()) -> BatchSettlement:
    """settle_batch for a drawn batch about to be finalized: `revealed` maps each evaluator that revealed
    to its scores; nodes in `silent` never answered."""
    drawn = net.draws[batch_id]
    quiet = {a.lower() for a in silent}
    answered_ = [n.lower() not in quiet for n in drawn.nodes] + [False] * len(drawn.evaluators)
    scores = {a.lower(): s for a, s in revealed.items()}
    weights = [int(net.owner.node(a)["trustWeight"]) for a in drawn.participants]
    return settle_batch(net.params, int(batch(net, batch_id)["fee"]), drawn.tasks, answered_,
                        [scores.get(a.lower()) for a in drawn.participants], costs(net, drawn.participants), weights)


def expected_events(net: Devnet, batch_id: int, expected: BatchSettlement,
                    stakes_before: dict[str, int]) -> dict[str, tuple[int, int, int]]:
    """The RewardsSettled values `expected` implies: (jobs, rewardWad, wei), debits capped at the stake."""
    return {
        address: (party.jobs, party.reward_wad, party.credit - min(party.debit, stakes_before[address]))
        for address, party in zip(net.draws[batch_id].participants, expected.parties, strict=True)
    }
