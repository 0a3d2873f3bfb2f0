"""The dashboard's JSON model (offchain.dashboard.snapshot) and the event histories under it
(offchain.chain.history), checked against the contract's own views on the embedded EVM."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from offchain.protocol import AGGREGATIONS, WAD, Params
from offchain.protocol.types import from_score_units
from offchain.protocol.wad import to_wei

PANEL_SCORES = ([8_000, 6_500, 9_000], [4_000, 9_500, 7_000])  # seat j of every task scores PANEL_SCORES[b][j]
SIZES = (3, 2)


def wei(eth: str) -> int:
    """An exact decimal ETH string back in wei."""
    return int(Decimal(eth).scaleb(18))  # exact: scaleb moves the exponent


def by_seat(scores: list[int]) -> Any:
    return lambda _task, seat, _evaluator: scores[seat]


@dataclass
class Played:
    net: Any  # deploy.devnet.Devnet
    results: list[dict[str, Any]]  # play_batch's results, oldest first
    silent: dict[str, Any]  # a batch no node answered: every task expired
    answering: int  # a batch drawn and never answered (stage Answering)
    opened: int  # a batch opened after them and never drawn (stage Opened)


def play(net: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    results = [net.play_batch(size, by_seat(scores)) for size, scores in zip(SIZES, PANEL_SCORES, strict=True)]
    silent = net.play_batch(2, 5_000, silent_nodes=[c.sender for c in net.inference])
    return results, silent


def play_all(net: Any) -> Played:
    """Two settled batches with every answer, one whose nodes never answered, one drawn batch waiting
    for its answers and one not drawn yet."""
    results, silent = play(net)
    answering, _ = net.open_batch(["drawn question"], ["drawn answer"])
    net.draw(answering)
    opened, _ = net.open_batch(["open question", "another"], ["open answer", "another answer"])
    return Played(net, results, silent, answering, opened)


@pytest.fixture(scope="module")
def played(poq_artifacts: Any, tmp_path_factory: pytest.TempPathFactory) -> Played:
    """`play_all` on one chain shared by the tests that only read it."""
    from deploy.devnet import Devnet
    from offchain.chain.connect import embedded_web3

    net = Devnet.create(embedded_web3(), Params(), deployments_dir=tmp_path_factory.mktemp("deployments"),
                        artifacts=poq_artifacts, stake=5 * 10**18)
    return play_all(net)


def snapshot_of(net: Any) -> dict[str, Any]:
    from offchain.chain.history import EventLog
    from offchain.dashboard.snapshot import build_snapshot

    return build_snapshot(net.owner, EventLog(net.owner), net.w3.eth.block_number)


def test_nodes_show_what_get_node_returns_and_their_settled_jobs(played: Played) -> None:
    snap = snapshot_of(played.net)
    jobs: dict[str, int] = {}
    for result in [*played.results, played.silent]:
        for account, (count, _, _) in result["settled"].items():
            jobs[account] = jobs.get(account, 0) + count
    assert [n["address"] for n in snap["nodes"]] == [c.sender for c in played.net.inference + played.net.evaluators]
    for node in snap["nodes"]:
        view = played.net.owner.node(node["address"])
        assert wei(node["balance_eth"]) == int(view["balance"])
        assert wei(node["stake_eth"]) == int(view["stake"])
        assert node["units"] == int(view["units"])
        assert node["jobs"] == jobs.get(node["address"], 0)
        assert node["measured_ms"] == (int(view["costUs"]) / 1000 if int(view["costSamples"]) else None)
        assert node["declared_ms"] is None  # nobody declared a latency
        assert node["cost"] == int(played.net.owner.call("normalizedCost", node["address"])) / WAD
        assert node["status"] in {"Active", "Suspended", "Standby"}


def test_tasks_flow_through_their_batches_stages(played: Played) -> None:
    snap = snapshot_of(played.net)
    stages = {row["stage"]: row for row in snap["stages"]}
    assert list(stages) == ["Opened", "Answering", "Referencing", "Committing", "Revealing", "Closed", "Finalized"]
    assert stages["Finalized"]["tasks"] == sum(SIZES) + 2 and stages["Finalized"]["batches"] == 3
    assert stages["Answering"]["tasks"] == 1 and stages["Opened"]["tasks"] == 2
    assert sum(row["tasks"] for row in snap["stages"]) == snap["task_count"] == sum(SIZES) + 5
    assert snap["batch_count"] == 5 and snap["expired"] == 2


def test_latest_tasks_show_node_panel_scores_quality_and_rewards(played: Played) -> None:
    snap = snapshot_of(played.net)
    k = played.net.k
    rows = {row["task_id"]: row for row in snap["tasks"]}
    newest = snap["tasks"][0]
    assert newest["task_id"] == snap["task_count"] and newest["stage"] == "Opened"
    assert newest["node"] is None and newest["panel"] == [] and newest["quality"] is None
    (waiting,) = [row for row in snap["tasks"] if row["batch_id"] == played.answering]
    assert waiting["stage"] == "Answering" and waiting["node"] is not None and len(waiting["panel"]) == k
    assert all(seat["score"] is None for seat in waiting["panel"])
    for result, scores in zip(played.results, PANEL_SCORES, strict=True):
        for index, quality in enumerate(result["quality"]):
            row = rows[result["first_task_id"] + index]
            assert row["stage"] == "Finalized" and row["batch_id"] == result["batch_id"] and not row["expired"]
            assert row["node"].endswith(result["drawn"].node_of(index)[-4:])
            assert row["quality"] == quality / WAD
            assert [seat["score"] for seat in row["panel"]] == [from_score_units(s) for s in scores]
            assert [r["reward"] for r in row["rewards"]] == [
                r / WAD for r in result["rewards"][index * (1 + k) : (index + 1) * (1 + k)]
            ]
    for index in range(2):
        row = rows[played.silent["first_task_id"] + index]
        assert row["expired"] and row["quality"] is None
        assert row["rewards"][0]["reward"] == -played.net.params.slashPenalty / WAD  # the node's slash


def test_reward_history_climbs_to_each_nodes_cumulative_reward(played: Played) -> None:
    snap = snapshot_of(played.net)
    by_address = {n["address"]: n for n in snap["nodes"]}
    first_opened = int(played.net.owner.events("BatchOpened")[0]["blockNumber"])
    assert first_opened > snap["contract"]["deployed_block"]
    for series in snap["reward_history"]:
        blocks = [block for block, _ in series["points"]]
        assert blocks == sorted(blocks) and blocks[0] == first_opened  # the plot starts with the work
        assert series["points"][0][1] == 0.0
        total = by_address[series["address"]]["cumulative_reward"]
        assert series["points"][-1] == [snap["block"], pytest.approx(total)]


def test_reward_against_measured_cost_has_one_point_per_measured_node_with_jobs(played: Played) -> None:
    snap = snapshot_of(played.net)
    points = {p["label"]: (group["role"], p) for group in snap["reward_vs_cost"] for p in group["points"]}
    for node in snap["nodes"]:
        if node["jobs"] and node["measured_ms"] is not None:
            role, point = points[node["label"]]
            assert role == node["role"]
            assert (point["measured_ms"], point["cost"]) == (node["measured_ms"], node["cost"])
            assert point["average_reward"] == node["average_reward"]
        else:
            assert node["label"] not in points


def test_contract_eth_equals_stakes_balances_and_escrow(played: Played) -> None:
    net = played.net
    accounting = snapshot_of(net)["accounting"]
    everyone = [*net.inference, *net.evaluators, net.requester, net.owner]
    assert wei(accounting["held_eth"]) == net.owner.balance_of(net.owner.address)
    assert wei(accounting["stakes_eth"]) == sum(int(net.owner.node(c.sender)["stake"]) for c in everyone)
    assert wei(accounting["balances_eth"]) == sum(int(net.owner.node(c.sender)["balance"]) for c in everyone)
    fees = [int(net.owner.call("getBatch", b)[4]) for b in (played.answering, played.opened)]
    assert wei(accounting["escrow_eth"]) == sum(fees)
    assert accounting["difference_eth"] == "0"
    assert accounting["treasury"] == net.owner.sender  # the deployer, by default
    assert wei(accounting["treasury_eth"]) == int(net.owner.node(net.owner.sender)["balance"])
    assert wei(accounting["slashed_eth"]) == played.silent["treasury"] > 0


def test_trust_history_only_when_the_deployment_weights_by_trust(make_devnet: Any, played: Played) -> None:
    assert snapshot_of(played.net)["trust_history"] is None
    net = make_devnet(Params(aggregation=AGGREGATIONS.index("trust")), stake=5 * 10**18)
    play(net)
    snap = snapshot_of(net)
    trust = {n["address"]: n["trust"] for n in snap["nodes"] if n["role"] == "Evaluator"}
    assert {s["address"] for s in snap["trust_history"]} == set(trust)
    for series in snap["trust_history"]:
        assert series["points"][0][1] == net.params.trustInitial / WAD
        assert series["points"][-1][1] == pytest.approx(trust[series["address"]])
    assert any(len(series["points"]) > 2 for series in snap["trust_history"])  # a batch moved a weight


def test_event_log_reads_each_block_once(make_devnet: Any) -> None:
    from offchain.chain.history import EventLog

    played = play_all(make_devnet(stake=5 * 10**18))  # its own chain: this test moves it on
    log = EventLog(played.net.owner)
    log.refresh(played.net.w3.eth.block_number)
    before = len(log.of("RewardsSettled"))
    log.refresh(played.net.w3.eth.block_number)  # nothing new: nothing added
    assert len(log.of("RewardsSettled")) == before
    assert len(log.batches) == 5
    net = played.net
    net.answer(played.answering, net.draws[played.answering].node_of(0))
    log.refresh(net.w3.eth.block_number)  # the folded record follows the new event
    assert log.batches[played.answering].outputs == {0: "output 0"}
    net.draw(played.opened)  # draws go in order: the opened batch first
    result = net.play_batch(1, 5_000)
    log.refresh(net.w3.eth.block_number)
    assert len(log.of("RewardsSettled")) == before + len(result["settled"])


def test_task_page_has_the_texts_and_an_unknown_task_is_none(played: Played) -> None:
    from offchain.dashboard.snapshot import task_page

    net, first = played.net, played.results[0]
    page = task_page(net.owner, first["first_task_id"])
    assert page is not None and page["settled"] and not page["expired"] and page["stage"] == "Finalized"
    assert page["texts"]["input"] == "question 0" and page["texts"]["output"] == "output 0"
    assert page["texts"]["reference"] == net.references[first["batch_id"]][0][0]
    assert [seat["address"] for seat in page["panel"]] == first["drawn"].panel_of(0)
    assert [seat["state"] for seat in page["panel"]] == ["revealed"] * net.k
    assert page["quality"] == first["quality"][0] / WAD
    assert [r["reward"] for r in page["rewards"]] == [r / WAD for r in first["rewards"][: 1 + net.k]]
    paid = [to_wei(r, net.params.rewardUnit) for r in first["rewards"][: 1 + net.k]]
    assert [wei(r["eth"]) for r in page["rewards"]] == paid

    expired = task_page(net.owner, played.silent["first_task_id"])
    assert expired is not None and expired["expired"] and expired["texts"]["output"] is None
    assert {seat["state"] for seat in expired["panel"]} == {"void (task never answered)"}

    waiting = task_page(net.owner, int(net.owner.call("getBatch", played.answering)[3]))
    assert waiting is not None and not waiting["settled"] and waiting["stage"] == "Answering"
    assert {seat["state"] for seat in waiting["panel"]} == {"waiting"}
    last = int(net.owner.call("taskCount"))
    opened = task_page(net.owner, last)
    assert opened is not None and opened["node"] is None and opened["panel"] == []
    assert task_page(net.owner, last + 1) is None
    assert task_page(net.owner, 0) is None
