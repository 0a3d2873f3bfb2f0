"""Mechanism attacks, part 1: costs that are claims, draws that can be steered (issue: a mechanism that
holds against rational and colluding nodes). Each test plays the attack through the contract's ABI
and fails if it pays. Figures are printed (pytest -s) beside what the attack earned against the old
contract, where costs came from the nodes' own reports and draws from the caller's transaction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from offchain.errors import ContractRevert
from offchain.protocol import WAD, Params, wad
from offchain.protocol.draw import draw_batch, draw_seed
from offchain.protocol.types import Role
from tests.contract.helpers import PAPER
from tests.contract.mechanism import (
    declare,
    deploy_attacker,
    per_task_rewards,
    ratio,
    run400_latencies,
    timed_batch,
)

# the paper's rules: this game pins the min-max cost rule and Eqs. 3-5 (a cost lie under the quantile
# rule is the same measured number: tests/contract/test_attacks_incentives.py plays its outlier)
PARAMS = replace(PAPER, k=3, answerWindow=3_600, commitWindow=3_600, revealWindow=3_600, epochLength=60)
Q_SCORE = 8_000  # every seat scores 8.0, so Q = 0.8 whoever is drawn


def _cost_scenario(make_devnet: Any, liar_claim_us: int | None) -> dict[str, Any]:
    """Four inference nodes and three evaluators with the run-400 latencies (whole seconds per task,
    milliseconds per seat), two batches of 16 tasks; the slowest of each role declares `liar_claim_us` (None:
    declares its true latency)."""
    inference_ms, evaluator_ms = run400_latencies()
    net = make_devnet(PARAMS, n_inference=4, n_evaluators=3, stake=50 * 10**18, fixed_gas=12_000_000)
    node_s = {c.sender: round(ms / 1000) for c, ms in zip(net.inference, inference_ms.values(), strict=True)}
    seat_s = {c.sender: ms / 1000 for c, ms in zip(net.evaluators, evaluator_ms.values(), strict=True)}
    slow_node = max(node_s, key=lambda a: node_s[a])
    slow_evaluator = max(seat_s, key=lambda a: seat_s[a])
    for who, truth_us in ((slow_node, node_s[slow_node] * 10**6), (slow_evaluator, int(seat_s[slow_evaluator] * 1e6))):
        declare(net, net.client_for(who), liar_claim_us if liar_claim_us is not None else truth_us)
    rewards: dict[str, list[int]] = {}
    for _ in range(2):
        result = timed_batch(net, 16, node_s, seat_s, Q_SCORE)
        for who, values in per_task_rewards(result, PARAMS.k).items():
            rewards.setdefault(who, []).extend(values)
    costs = {a: int(net.owner.call("normalizedCost", a)) for a in [*node_s, *seat_s]}
    declared = {a: int(net.owner.node(a)["declaredUs"]) for a in (slow_node, slow_evaluator)}
    return {"net": net, "rewards": rewards, "costs": costs, "declared": declared, "node_s": node_s,
            "seat_s": seat_s, "slow_node": slow_node, "slow_evaluator": slow_evaluator}


def _claimed_rule(truth: dict[str, float], liar: str, claim: float) -> dict[str, int]:
    """The old rule: normalized costs over the nodes' claims (the liar's claim in place of its truth)."""
    claims = {a: (claim if a == liar else v) for a, v in truth.items()}
    lo, hi = wad.cost_range([int(v * 10**6) for v in claims.values()])
    return {a: wad.normalized_cost(True, int(v * 10**6), lo, hi) for a, v in claims.items()}


def test_cost_understatement_does_not_pay(make_devnet: Any) -> None:
    lying = _cost_scenario(make_devnet, liar_claim_us=1)
    truthful = _cost_scenario(make_devnet, liar_claim_us=None)
    for role, liar in (("inference", "slow_node"), ("evaluator", "slow_evaluator")):
        address_lie, address_true = lying[liar], truthful[liar]
        assert lying["declared"][address_lie] == 1  # the lie is on chain, checked against the measurement
        # what the chain charges the liar is what it measured: the slowest of its role costs 1.0
        assert lying["costs"][address_lie] == truthful["costs"][address_true] == WAD
        lie, truth = lying["rewards"][address_lie], truthful["rewards"][address_true]
        assert set(lie) == set(truth)  # same reward on every task (Q is 0.8 on every task)
        assert sum(lie) / len(lie) == sum(truth) / len(truth)  # lying earns nothing
        # honest nodes pay nothing for it: the fastest of the role still costs 0
        seconds = lying["node_s"] if role == "inference" else lying["seat_s"]
        fastest = min(seconds, key=lambda a: seconds[a])
        assert lying["costs"][fastest] == 0
        old = _claimed_rule(seconds, address_lie, 1e-6)
        old_truth = _claimed_rule(seconds, address_lie, seconds[address_lie])
        alpha, beta = (PARAMS.alphaF, PARAMS.betaF) if role == "inference" else (PARAMS.alphaM, PARAMS.betaM)
        closeness = Q_SCORE * WAD // 10_000 if role == "inference" else WAD  # R_M: every seat agrees (d = 0)
        before = wad.mul_wad_down(alpha, closeness) - wad.mul_wad_up(beta, old_truth[address_lie])
        after = wad.mul_wad_down(alpha, closeness) - wad.mul_wad_up(beta, old[address_lie])
        assert after > before  # the old rule paid the lie (so this scenario is the one that mattered)
        print(f"\n{role} liar (claims 1 us): old rule R {ratio(after, before)}, fastest honest C 0 -> "
              f"{old[fastest] / WAD:.2f}; measured rule R {sum(lie) / len(lie) / WAD:.3f} lying vs "
              f"{sum(truth) / len(truth) / WAD:.3f} truthful, C {lying['costs'][address_lie] / WAD:.2f} both")


def test_output_grinding_cannot_choose_the_panel(make_devnet: Any, poq_artifacts: Any) -> None:
    """3 colluders among 10 evaluators; the node retries 30 output variants per batch inside one
    transaction, keeping one only if every evaluator of its tasks is a colluder."""
    net = make_devnet(Params(k=3, maxBatchSize=8), n_inference=2, n_evaluators=10, stake=2 * 10**18,
                      fixed_gas=30_000_000)
    colluders = [c.sender for c in net.evaluators[:3]]
    node = deploy_attacker(net, poq_artifacts, "GrindingNode", net.owner.address, colluders)
    node.transact("register", "grinder", value=20 * 10**18)  # most of the inference stake: most tasks
    captured_by_draw = captured_by_grinding = batches = 0
    for _ in range(12):
        batch_id, _ = net.open_batch(["q0", "q1"], with_reference=False)
        drawn, _ = net.draw(batch_id)
        mine_tasks = drawn.tasks_of(node.address)
        if not mine_tasks:
            continue
        batches += 1
        first = int(net.owner.call("getBatch", batch_id)[3])
        panels = [drawn.panel_of(t) for t in mine_tasks]
        captured_by_draw += all(e in colluders for panel in panels for e in panel)
        result = node.call("grind", batch_id, [first + t for t in mine_tasks], 30)
        node.transact("grind", batch_id, [first + t for t in mine_tasks], 30)
        captured_by_grinding += bool(result[0])
        for t, panel in zip(mine_tasks, panels, strict=True):
            assert list(net.owner.call("getTask", first + t)[4]) == panel  # the output moved no seat
    assert batches > 0
    assert captured_by_grinding == captured_by_draw  # grinding captures exactly what the fair draw gave
    print(f"\ngrinding node: {captured_by_grinding} of {batches} batches captured (the fair draw's "
          f"{captured_by_draw}; chance per task 1/120); the old contract: 3 of 3")


def test_reverting_requester_cannot_choose_its_node(make_devnet: Any, poq_artifacts: Any) -> None:
    """A requester contract that reverts unless its favourite node is drawn, retrying for gas only."""
    net = make_devnet(Params(k=1, evaluatorReward=wad.PAPER), n_inference=4, n_evaluators=2, stake=10**18,
                      fixed_gas=5_000_000)
    requester = deploy_attacker(net, poq_artifacts, "ReroutingRequester", net.owner.address)
    wanted = net.inference[0].sender
    fee = int(net.owner.call("maxPayout"))
    for _ in range(4):  # the node is not drawn in the opening transaction: there is nothing to keep
        with pytest.raises(ContractRevert) as refused:
            requester.transact("openFor", "q", wanted, value=fee)
        assert refused.value.error_name == "Rerouted"
        assert int(refused.value.error_args["drawn"], 16) == 0
    got = fair = 0
    rounds = 12
    for _ in range(rounds):
        receipt = requester.transact("open", "q", value=fee)
        batch_id = int(net.owner.receipt_events(receipt, "BatchOpened")[0]["args"]["batchId"])
        task_id = int(net.owner.call("taskCount"))
        _mine_to_draw_block(net, batch_id)
        expected = _predicted_node(net, batch_id)  # what any draw of this batch must give
        fair += expected == wanted
        for _ in range(4):  # the attacker's retries
            try:
                requester.transact("drawFor", batch_id, task_id, wanted)
                got += 1
                break
            except ContractRevert as miss:  # only Rerouted (the draw was not the wanted node) is expected
                assert miss.error_name == "Rerouted", miss
                continue
        if int(net.owner.call("drawnCount")) < batch_id:
            net.draw(batch_id)  # an honest party draws: the same node the attacker saw
        assert net.owner.call("getTask", task_id)[3] == expected
    assert got == fair  # retries bought nothing beyond the node's stake share
    print(f"\nrerouting requester: wanted node drawn in {got} of {rounds} batches (its stake share 1/4); "
          "the old contract: in 4 tries")


def _mine_to_draw_block(net: Any, batch_id: int) -> None:
    from deploy.devnet import mine

    draw_block = int(net.owner.call("getBatch", batch_id)[5])
    latest = int(net.w3.eth.block_number)
    if latest < draw_block:
        mine(net.w3, draw_block - latest)


def _predicted_node(net: Any, batch_id: int) -> str:
    """The node any draw of a one-task batch yields, from the draw block's hash and the pools."""
    draw_block = int(net.owner.call("getBatch", batch_id)[5])
    seed = draw_seed(bytes(net.w3.eth.get_block(draw_block)["hash"]), net.owner.address, batch_id)
    pools = {}
    for role in (Role.INFERENCE, Role.EVALUATOR):
        nodes, units = net.owner.call("pool", role)
        pools[role] = [(int(net.owner.node(a)["id"]), int(u)) for a, u in zip(nodes, units, strict=True)]
    drawn = draw_batch(seed, 1, net.params.k, pools[Role.INFERENCE], pools[Role.EVALUATOR])
    return str(net.owner.call("nodeAt", drawn.participants[drawn.tasks[0][0]]))
