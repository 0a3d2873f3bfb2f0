"""Verdicts on the paper's three findings are computed from the numbers they quote."""

from __future__ import annotations

from simulation.pipeline.findings import finding_1, finding_2, finding_3

KINDS = {"sts": "bi-encoder", "ce": "cross-encoder"}


def test_finding_1_holds_when_the_bi_encoder_leads_both_signals() -> None:
    v = finding_1({"sts": 0.61, "ce": -0.2}, {"sts": 0.28, "ce": 0.1}, KINDS)
    assert v.status == "holds" and "sts r=0.61 with F1 (best), 0.28 with the judge (best)" in v.detail


def test_finding_1_is_partial_when_a_cross_encoder_leads_the_judge() -> None:
    v = finding_1({"sts": 0.61, "ce": -0.2}, {"sts": 0.1, "ce": 0.3}, KINDS)
    assert v.status == "partly holds" and "best: ce 0.30" in v.detail


def test_finding_1_does_not_hold_when_a_cross_encoder_leads_everything() -> None:
    assert finding_1({"sts": 0.1, "ce": 0.5}, {"sts": 0.0, "ce": 0.3}, KINDS).status == "does not hold"


def test_finding_2_holds_when_quality_per_latency_orders_rewards_and_size_does_not() -> None:
    f1, ms = {"a": 5.0, "b": 2.0, "c": 1.5}, {"a": 1000.0, "b": 1400.0, "c": 2400.0}
    params, reward = {"a": 3e9, "b": 1e9, "c": 4e9}, {"a": 0.6, "b": 0.4, "c": 0.1}
    v = finding_2(f1, ms, params, reward)
    assert v.status == "holds" and "with F1 per ms 1.00" in v.detail


def test_finding_2_is_inconclusive_when_size_orders_the_nodes_too() -> None:
    f1, ms = {"a": 5.0, "b": 2.0, "c": 1.0}, {"a": 100.0, "b": 200.0, "c": 300.0}
    v = finding_2(f1, ms, {"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 0.6, "b": 0.4, "c": 0.1})
    assert v.status == "inconclusive"


def test_finding_2_needs_three_nodes() -> None:
    assert finding_2({"a": 1.0}, {"a": 1.0}, {"a": 1.0}, {"a": 0.1}).status == "not testable"


def test_finding_3_checks_the_best_paid_node_and_evaluator_are_on_the_front() -> None:
    v = finding_3({"a": 5.0, "b": 2.0}, {"a": 1000.0, "b": 2000.0}, {"a": 0.6, "b": 0.1},
                  {"sts": 0.6, "ce": -0.2}, {"sts": 0.9, "ce": 5.9}, {"sts": 0.85, "ce": 0.5})
    assert v.status == "holds"
    v = finding_3({"a": 5.0, "b": 2.0}, {"a": 1000.0, "b": 2000.0}, {"a": 0.1, "b": 0.6},
                  {"sts": 0.6, "ce": -0.2}, {"sts": 0.9, "ce": 5.9}, {"sts": 0.85, "ce": 0.5})
    assert v.status == "partly holds" and "top node b" in v.detail
