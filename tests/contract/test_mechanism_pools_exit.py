"""Mechanism attacks, part 2: sybil pools, exits held hostage, trust farmed or whitewashed, slashed ETH
stuck (issue: a mechanism that holds against rational and colluding nodes). Each test plays the attack
through the contract's ABI and fails if it pays; figures are printed (pytest -s).
"""

from __future__ import annotations

from typing import Any

import pytest

from deploy.devnet import Devnet, advance_time
from offchain.chain import reverts
from offchain.protocol import WAD, Params, wad
from offchain.protocol.draw import inclusion
from offchain.protocol.types import Role, Status
from tests.contract.helpers import stranger as funded

ETH = 10**18


def _sybils(net: Devnet, role: Role, count: int, first: int) -> list[str]:
    keys = []
    for i in range(count):
        key = funded(net, first + i)
        key.transact("register", role, "sybil", value=net.params.minStake)
        keys.append(key.sender)
    return keys


def _draw_share(net: Devnet, who: set[str], size: int = 64) -> tuple[float, float, float]:
    """Over one drawn batch: the share of tasks answered by `who`, of seats held by `who`, and of
    tasks whose whole panel is `who`."""
    batch_id, _ = net.open_batch([f"q{i}" for i in range(size)], with_reference=False)
    drawn, _ = net.draw(batch_id)
    nodes = sum(drawn.node_of(t) in who for t in range(size)) / size
    seats = sum(e in who for t in range(size) for e in drawn.panel_of(t)) / (size * net.k)
    captured = sum(all(e in who for e in drawn.panel_of(t)) for t in range(size)) / size
    return nodes, seats, captured


def _units_share(net: Devnet, role: Role, who: set[str]) -> float:
    """The share of a role's draws `who` should get by stake: of tasks (inference), of seats (evaluators:
    each key sits on a panel with chance min(1, K units / total), see offchain.protocol.draw.inclusion)."""
    nodes, units = net.owner.call("pool", role)
    if role == Role.INFERENCE:
        return sum(u for a, u in zip(nodes, units, strict=True) if a in who) / sum(units)
    chance = inclusion([int(u) for u in units], net.k)
    return sum(c for a, c in zip(nodes, chance, strict=True) if a in who) / net.k


def test_pool_filling_does_not_lock_out_honest_stake(make_devnet: Any) -> None:
    """30 inference and 29 evaluator keys at the minimum stake fill both pools to 32; an honest node
    staking 100 ETH must still get in, and in proportion to its stake."""
    net = make_devnet(Params(k=3), n_inference=2, n_evaluators=3, stake=10 * ETH, fixed_gas=30_000_000)
    sybil_nodes = _sybils(net, Role.INFERENCE, 30, first=0)
    sybil_evaluators = _sybils(net, Role.EVALUATOR, 29, first=30)
    assert [len(net.owner.call("pool", r)[0]) for r in (Role.INFERENCE, Role.EVALUATOR)] == [32, 32]
    newcomers = [funded(net, 60), funded(net, 61)]
    for key, role in zip(newcomers, (Role.INFERENCE, Role.EVALUATOR), strict=True):
        receipt = key.transact("register", role, "honest", value=100 * ETH)
        (evicted,) = net.owner.receipt_events(receipt, "NodeEvicted")
        assert evicted["args"]["node"] in sybil_nodes + sybil_evaluators  # a minimum stake left, not us
        assert int(net.owner.node(evicted["args"]["node"])["status"]) == Status.STANDBY
        assert int(net.owner.node(key.sender)["status"]) == Status.ACTIVE
    # a key at the minimum cannot push anyone out of a full pool
    with pytest.raises(reverts.PoolFull) as full:
        funded(net, 62).transact("register", Role.EVALUATOR, "sybil", value=net.params.minStake)
    assert full.value.error_args["lowestStake"] == net.params.minStake
    honest = {c.sender for c in [*net.inference, *net.evaluators]} | {k.sender for k in newcomers}
    node_share, seat_share, _ = _draw_share(net, honest)
    want_nodes, want_seats = _units_share(net, Role.INFERENCE, honest), _units_share(net, Role.EVALUATOR, honest)
    assert node_share > want_nodes - 0.2 and seat_share > want_seats - 0.15  # ~4 sigma below the stake share
    print(f"\npool filling: the 100 ETH newcomers got in (a 1 ETH key went to Standby); honest stake "
          f"{want_nodes:.2f} of inference units answered {node_share:.2f} of 64 tasks and "
          f"{want_seats:.2f} of evaluator units held {seat_share:.2f} of the seats; the old contract: PoolFull")


def test_slot_sniping_buys_no_more_than_stake_share(make_devnet: Any) -> None:
    """Pools full of minimum-stake sybils beside honest 10 ETH nodes; an honest evaluator exits and a
    sybil takes its slot in the next transaction."""
    net = make_devnet(Params(k=3, maxPoolSize=12), n_inference=2, n_evaluators=4, stake=10 * ETH,
                      fixed_gas=30_000_000)
    sybils = set(_sybils(net, Role.INFERENCE, 10, first=0)) | set(_sybils(net, Role.EVALUATOR, 8, first=10))
    leaving = net.evaluators[0]
    leaving.transact("requestExit")
    sniper = funded(net, 20)
    sniper.transact("register", Role.EVALUATOR, "sybil", value=net.params.minStake)
    sybils.add(sniper.sender)
    assert int(net.owner.node(sniper.sender)["units"]) == 1  # one minimum stake: one unit of weight
    node_share, seat_share, captured = _draw_share(net, sybils)
    want_nodes, want_seats = _units_share(net, Role.INFERENCE, sybils), _units_share(net, Role.EVALUATOR, sybils)
    # seats cost stake: the sybils hold about their stake share of tasks and seats, not their key share
    assert node_share < want_nodes + 0.2 and seat_share < want_seats + 0.15
    assert captured < want_seats**3 + 0.15  # all-sybil panels ~ (stake share)^3, not (key share)^3
    # and the snipe is temporary: a larger honest stake takes the slot back
    back = funded(net, 21)
    receipt = back.transact("register", Role.EVALUATOR, "honest", value=2 * ETH)
    assert net.owner.receipt_events(receipt, "NodeEvicted")[0]["args"]["node"] in sybils
    print(f"\nslot sniping: sybils with {want_seats:.2f} of evaluator stake held {seat_share:.2f} of seats, "
          f"{captured:.2f} of panels all-sybil; {want_nodes:.2f} of inference stake answered {node_share:.2f} "
          "of tasks (key shares 0.83 and 0.75); the old contract: half of the honest tasks captured")


def test_exit_cannot_be_held_hostage(make_devnet: Any) -> None:
    """A requester keeps opening batches on a node that wants out; the node exits anyway."""
    net = make_devnet(Params(k=1, evaluatorReward=wad.PAPER, unbondingDelay=600, answerWindow=3_600,
                             commitWindow=3_600, revealWindow=3_600),
                      n_inference=3, n_evaluators=2, stake=5 * ETH, fixed_gas=10_000_000)
    node = net.inference[0]
    batch_id, _ = net.open_batch([f"q{i}" for i in range(16)], with_reference=False)
    drawn, _ = net.draw(batch_id)
    assert node.sender in drawn.nodes  # 16 tasks over 3 equal stakes: it holds some
    pending, _ = net.open_batch(["held"], with_reference=False)  # opened before the exit, not drawn yet
    assert int(net.owner.node(node.sender)["openBatches"]) == 1
    node.transact("requestExit")  # open work does not block an exit request any more
    assert int(net.owner.node(node.sender)["status"]) == Status.EXITING
    for _ in range(4):  # the requester keeps opening batches: none opened after the exit draws the node
        later, _ = net.open_batch([f"q{i}" for i in range(8)], with_reference=False)
        if int(net.owner.call("drawnCount")) < pending:
            net.draw(pending)
        later_drawn, _ = net.draw(later)
        assert node.sender not in later_drawn.participants
    with pytest.raises(reverts.UnbondingNotOver):
        node.transact("releaseStake")
    advance_time(net.w3, 601)
    with pytest.raises(reverts.NodeHasOpenBatches):  # its own batches still have to settle
        node.transact("releaseStake")
    for b in (batch_id, pending):  # the node finishes (or skips) its work; anyone may finalize
        record = net.draws[b]
        for n in record.nodes:
            net.answer(b, n)
        for e in record.evaluators:
            net.commit(b, e, [5_000] * len(record.seats_of(e)))
        for e in record.evaluators:
            net.reveal(b, e)
        net.finalize(b, caller=node)
    node.transact("releaseStake")
    released = int(net.owner.node(node.sender)["balance"])
    assert released >= 5 * ETH - ETH  # its stake, less any debit of its own tasks
    print(f"\nexit hostage: the node left with open work, was drawn by none of the 4 batches opened after, "
          f"and released {released / ETH:.3f} ETH; the old contract: NodeHasOpenAssignments every cycle")


def test_trust_whitewash_and_farming_do_not_pay(make_devnet: Any) -> None:
    """aggregation = trust: two colluding evaluators always score 10 (a colluding requester opens the
    batches); three honest ones score 5. Fair stake-weighted panels decide who sits together.

    The panels come from block hashes, so they differ run to run and the weights are a random walk:
    a colluder seated beside the other gains (x1.08), beside two honest ones loses (x0.83), even odds,
    so it drifts down while an honest node drifts up. The claim checked is the drift's, on the means
    over 256 tasks: in 10,000 replays of this game (bench/trust_farming.py, offchain.protocol's draw
    and trust update) the colluders' mean weight ended below the honest mean every time. Each colluder
    below every honest node, after 48 tasks, fails in 21 % (an honest node can sit at the floor too),
    which is what this test asserted until a CI run drew such panels."""
    params = Params(k=3, aggregation=3, maxBatchSize=64, trustRule=wad.ROBUST)  # the per-task rule of this game
    net = make_devnet(params, n_inference=2, n_evaluators=5, stake=5 * ETH, fixed_gas=30_000_000)
    colluders = {c.sender for c in net.evaluators[:2]}

    def score(_t: int, _j: int, evaluator: str) -> int:
        return 10_000 if evaluator in colluders else 5_000

    for _ in range(4):
        net.play_batch(64, score, with_reference=False)
    weights = {e.sender: int(net.owner.node(e.sender)["trustWeight"]) for e in net.evaluators}
    honest = [w for a, w in weights.items() if a not in colluders]
    # farming with fair panels loses weight: 2 colluders' mean against 3 honest nodes' mean, exactly
    assert 3 * sum(weights[c] for c in colluders) < 2 * sum(honest)
    assert all(weights[c] < params.trustMax for c in colluders)
    # whitewash: a fresh key starts at the floor, so leaving a fallen key for a new one gains nothing
    fresh = funded(net, 0)
    fresh.transact("register", Role.EVALUATOR, "fresh", value=5 * ETH)
    assert int(net.owner.node(fresh.sender)["trustWeight"]) == params.trustMin <= min(weights.values())
    print(f"\ntrust farming: colluders {sorted(round(weights[c] / WAD, 3) for c in colluders)} vs honest "
          f"{sorted(round(w / WAD, 3) for w in honest)} after 256 tasks; a fresh key starts at "
          f"{params.trustMin / WAD:.1f} (trustMin); the old contract: colluders at trustMax in 5 rounds")


def test_slashed_stake_is_never_stuck(make_devnet: Any) -> None:
    """Slashes and negative rewards happen; then everyone leaves and withdraws: the contract ends empty."""
    net = make_devnet(Params(k=2, unbondingDelay=100), n_inference=2, n_evaluators=3, stake=3 * ETH,
                      fixed_gas=10_000_000)
    net.play_batch(6, lambda t, j, e: 9_000 if j == 0 else 1_000, with_reference=True)
    silent_node = net.inference[0].sender
    net.play_batch(6, 5_000, silent_nodes=[silent_node])  # its tasks expire: slashed
    quiet = net.evaluators[0].sender
    net.play_batch(6, 5_000, commit_only=[quiet])  # committed, never revealed: slashed
    slashed = int(net.owner.node(net.owner.params()["treasury"])["balance"])
    assert slashed > 0
    for client in [*net.inference, *net.evaluators]:
        client.transact("requestExit")
    advance_time(net.w3, 101)
    accounts = [*net.inference, *net.evaluators, net.requester, net.owner]  # the owner is the treasury
    for client in [*net.inference, *net.evaluators]:
        client.transact("releaseStake")
    for client in accounts:
        balance = int(net.owner.node(client.sender)["balance"])
        if balance:
            client.transact("withdraw", balance)
    assert net.w3.eth.get_balance(net.owner.address) == 0
    assert tuple(net.owner.call("accounting")) == (0, 0, 0)
    print(f"\nstuck slash: {slashed / ETH:.4f} ETH slashed went to the treasury and out; the contract holds 0 "
          "after everyone left; the old contract: slashedTotal stuck forever")
