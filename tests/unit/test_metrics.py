"""SQuAD F1, min-max and correlation edge cases (offchain.metrics)."""

import math

import pytest

from offchain.metrics import (
    exact_match,
    f1_times_10,
    minmax,
    normalize_answer,
    pearson,
    rank_average,
    spearman,
    token_f1,
)


def test_normalize_strips_case_punctuation_articles_and_whitespace():
    assert normalize_answer("  The  Denver, Broncos!! ") == "denver broncos"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("theory") == "theory"  # article removal is word-bounded


def test_f1_identical_after_normalization_is_one():
    assert token_f1("the Denver Broncos.", "Denver Broncos") == 1.0


def test_f1_partial_overlap():
    # pred {denver, broncos, team} vs gold {denver, broncos}: P=2/3, R=1 -> F1=0.8
    assert token_f1("Denver Broncos team", "Denver Broncos") == pytest.approx(0.8)


def test_f1_takes_max_over_gold_answers():
    assert token_f1("Santa Clara", ["Levi's Stadium", "Santa Clara, California"]) == pytest.approx(0.8)


def test_f1_counts_repeated_tokens_once_per_match():
    assert token_f1("broncos broncos", "broncos") == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_f1_empty_prediction_is_zero():
    assert token_f1("", "Denver Broncos") == 0.0


def test_f1_empty_gold_and_nonempty_prediction_is_zero():
    assert token_f1("Denver", "") == 0.0


def test_f1_both_empty_after_normalization_is_one():
    assert token_f1("", "") == 1.0
    assert token_f1("The.", "a") == 1.0  # only articles and punctuation -> empty


def test_f1_no_overlap_is_zero():
    assert token_f1("Carolina Panthers", "Denver Broncos") == 0.0


def test_f1_needs_a_gold_answer():
    with pytest.raises(ValueError):
        token_f1("x", [])


def test_f1_times_10_and_exact_match():
    assert f1_times_10("Denver Broncos team", ["Denver Broncos"]) == pytest.approx(8.0)
    assert exact_match("the denver broncos", ["Broncos", "Denver Broncos"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0


def test_minmax_scales_to_unit_interval():
    assert minmax([2.0, 4.0, 3.0]) == [0.0, 1.0, 0.5]
    assert minmax([2.0, 4.0], scale=10.0) == [0.0, 10.0]


def test_minmax_constant_input_is_all_zero():
    assert minmax([5.0, 5.0, 5.0]) == [0.0, 0.0, 0.0]


def test_minmax_empty_is_empty():
    assert minmax([]) == []


def test_pearson_perfect_and_inverse():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_pearson_constant_or_short_input_is_nan():
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))
    assert math.isnan(pearson([1], [2]))


def test_pearson_length_mismatch_raises():
    with pytest.raises(ValueError):
        pearson([1, 2], [1, 2, 3])


def test_rank_average_gives_ties_their_mean_rank():
    assert rank_average([10, 20, 20, 30]) == [1.0, 2.5, 2.5, 4.0]
    assert rank_average([3, 3, 3]) == [2.0, 2.0, 2.0]


def test_spearman_with_ties_matches_pearson_of_average_ranks():
    x, y = [1, 2, 2, 3], [1, 3, 2, 4]
    # ranks x: 1, 2.5, 2.5, 4; ranks y: 1, 3, 2, 4
    assert spearman(x, y) == pytest.approx(pearson([1, 2.5, 2.5, 4], [1, 3, 2, 4]))


def test_spearman_monotone_nonlinear_is_one():
    assert spearman([1, 2, 3, 4], [1, 8, 27, 1000]) == pytest.approx(1.0)


def test_spearman_constant_input_is_nan():
    assert math.isnan(spearman([2, 2, 2], [1, 2, 3]))
