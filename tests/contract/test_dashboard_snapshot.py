"""The dashboard's JSON model (offchain.dashboard.snapshot) and the event histories under it
(offchain.chain.history), checked against the contract's own views on the embedded EVM."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from offchain.protocol import AGGREGATIONS, WAD, Params
from offchain.protocol.types import from_score_units

ROUNDS = ([8_000, 6_500, 9_000], [4_000, 9_500, 7_000])


def wei(eth: str) -> int:
    """An exact decimal ETH string back in wei."""
    return int(Decimal(eth).scaleb(18))  # exact: scaleb moves the exponent


@dataclass
class Played:
    net: Any  # deploy.devnet.Devnet
    results: list[dict[str, Any]]  # play_round's results, oldest first
    open_id: int  # a task opened after them and never answered


@pytest.fixture
def played(make_devnet: Any) -> Played:
    """Two settled rounds with reported costs, and one task still open."""
    net = make_devnet(stake=5 * 10**18)
    net.report_costs({c.sender: 1_000 * (i + 1) for i, c in enumerate(net.inference + net.evaluators)})
    results = [net.play_round(scores) for scores in ROUNDS]
    return Played(net, results, net.open_task(task_input="open question", reference="open answer")[0])


def snapshot_of(net: Any) -> dict[str, Any]:
    from offchain.chain.history import EventLog
    from offchain.dashboard.snapshot import build_snapshot

    return build_snapshot(net.owner, EventLog(net.owner), net.w3.eth.block_number)


def test_nodes_show_what_get_node_returns_and_their_settled_jobs(played: Played) -> None:
    snap = snapshot_of(played.net)
    settled = [account for r in played.results for account in r["settled"]]
    assert [n["address"] for n in snap["nodes"]] == [c.sender for c in played.net.inference + played.net.evaluators]
    for node in snap["nodes"]:
        view = played.net.owner.node(node["address"])
        assert wei(node["balance_eth"]) == int(view["balance"])
        assert wei(node["stake_eth"]) == int(view["stake"])
        assert node["jobs"] == settled.count(node["address"])
        assert node["cost"] == int(played.net.owner.call("normalizedCost", node["address"])) / WAD


def test_phases_and_latest_tasks_follow_the_rounds(played: Played) -> None:
    snap = snapshot_of(played.net)
    assert snap["phases"]["Finalized"] == len(ROUNDS)
    assert snap["phases"]["Open"] == 1
    assert sum(snap["phases"].values()) == snap["task_count"] == len(ROUNDS) + 1
    newest, *settled = snap["tasks"]
    assert newest["task_id"] == played.open_id and newest["quality"] is None and newest["panel"] == []
    for row, result, scores in zip(reversed(settled), played.results, ROUNDS, strict=True):
        assert row["task_id"] == result["task_id"] and row["phase"] == "Finalized"
        assert row["quality"] == result["quality"] / WAD
        assert [seat["score"] for seat in row["panel"]] == [from_score_units(s) for s in scores]
        assert sorted(r["reward"] for r in row["rewards"]) == sorted(w / WAD for w, _ in result["settled"].values())


def test_reward_history_climbs_to_each_nodes_cumulative_reward(played: Played) -> None:
    snap = snapshot_of(played.net)
    by_address = {n["address"]: n for n in snap["nodes"]}
    for series in snap["reward_history"]:
        blocks = [block for block, _ in series["points"]]
        assert blocks == sorted(blocks)
        assert series["points"][0][1] == 0.0
        total = by_address[series["address"]]["cumulative_reward"]
        assert series["points"][-1] == [snap["block"], pytest.approx(total)]


def test_reward_against_cost_has_one_point_per_node_with_jobs(played: Played) -> None:
    snap = snapshot_of(played.net)
    points = {p["label"]: p for group in snap["reward_vs_cost"] for p in group["points"]}
    for node in snap["nodes"]:
        if node["jobs"]:
            assert points[node["label"]]["cost"] == node["cost"]
            assert points[node["label"]]["average_reward"] == node["average_reward"]
        else:
            assert node["label"] not in points


def test_contract_eth_equals_stakes_balances_escrow_and_slashed(played: Played) -> None:
    accounting = snapshot_of(played.net)["accounting"]
    assert wei(accounting["held_eth"]) == played.net.owner.balance_of(played.net.owner.address)
    assert wei(accounting["escrow_eth"]) == int(played.net.owner.task(played.open_id)["fee"])
    assert accounting["difference_eth"] == "0"


def test_trust_history_only_when_the_deployment_weights_by_trust(make_devnet: Any, played: Played) -> None:
    assert snapshot_of(played.net)["trust_history"] is None
    net = make_devnet(Params(aggregation=AGGREGATIONS.index("trust")), stake=5 * 10**18)
    for scores in ROUNDS:
        net.play_round(scores)
    snap = snapshot_of(net)
    trust = {n["address"]: n["trust"] for n in snap["nodes"] if n["role"] == "Evaluator"}
    assert {s["address"] for s in snap["trust_history"]} == set(trust)
    for series in snap["trust_history"]:
        assert series["points"][0][1] == net.params.trustInitial / WAD
        assert series["points"][-1][1] == pytest.approx(trust[series["address"]])


def test_event_log_reads_each_block_once(played: Played) -> None:
    from offchain.chain.history import EventLog, settlements

    log = EventLog(played.net.owner)
    log.refresh(played.net.w3.eth.block_number)
    before = len(settlements(log))
    log.refresh(played.net.w3.eth.block_number)  # nothing new: nothing added
    assert len(settlements(log)) == before
    result = played.net.play_round([5_000, 5_000, 5_000])
    log.refresh(played.net.w3.eth.block_number)
    assert len(settlements(log)) == before + len(result["settled"])


def test_task_page_has_the_texts_and_an_unknown_task_is_none(played: Played) -> None:
    from offchain.dashboard.snapshot import task_page

    first = played.results[0]
    page = task_page(played.net.owner, first["task_id"])
    assert page is not None and page["settled"]
    assert page["texts"]["reference"] == played.net.references[first["task_id"]][0]
    assert [seat["address"] for seat in page["panel"]] == first["evaluators"]
    assert page["quality"] == first["quality"] / WAD
    open_page = task_page(played.net.owner, played.open_id)
    assert open_page is not None and not open_page["settled"] and open_page["texts"]["output"] is None
    assert task_page(played.net.owner, played.open_id + 1) is None
    assert task_page(played.net.owner, 0) is None
