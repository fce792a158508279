import pytest

from benchmarks.stats import median_ratio, summarize


def test_summarize_gives_min_median_max_and_the_values():
    assert summarize([3, 1, 2]) == {"min": 1.0, "median": 2.0, "max": 3.0, "values": [3.0, 1.0, 2.0]}


def test_summarize_refuses_no_measurements():
    with pytest.raises(ValueError):
        summarize([])


def test_median_ratio_is_the_median_of_pairwise_ratios_not_the_ratio_of_medians():
    # pairs 10/10, 20/10, 30/40: pair ratios 1, 2, 0.75 -> median 1; the ratio of the medians would be 2
    assert median_ratio([10, 20, 30], [10, 10, 40]) == 1.0


def test_median_ratio_skips_zero_denominators():
    assert median_ratio([5, 6], [0, 3]) == 2.0
