"""seqcheck.training.statistics: intervals, Fisher's exact test, the CI gate and the comparison sentence.

The primary references are hard-coded numbers, computed once (2026, mpmath 1.3 and scipy 1.17.1):

- Wilson: the closed form ``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` evaluated in mpmath at
  50 digits, with ``z = sqrt(2) erfinv(confidence)`` and the same float ``confidence`` as the test's;
  ``scipy.stats.binomtest(x, n).proportion_ci(confidence, "wilson")`` agrees with each to 1e-14.
- Clopper-Pearson: the bounds solved in mpmath at 50 digits by 250 bisection steps on
  ``mpmath.betainc(x, n - x + 1, 0, p, regularized=True) = alpha/2`` (lower) and
  ``mpmath.betainc(x + 1, n - x, p, 1, regularized=True) = alpha/2`` (upper); for n = 10,000 (where betainc
  does not converge) on the binomial tail sums ``sum C(n, k) p^k (1 - p)^(n - k)`` in mpmath at 40 digits, 120
  steps.  scipy's ``proportion_ci(confidence, "exact")`` agrees to 1e-9 at n <= 30 but only to about 1e-8 for
  1 of 10,000 and 1e-4 at confidence 0.999999 (its beta quantile is less precise than the module's), so
  scipy is the second reference here, at a looser tolerance.
- Fisher: the exact fraction from the definition (``Fraction(C(n_a, k) C(n_b, K - k), C(N, K))`` summed
  over the tables no more likely than the observed one), and ``scipy.stats.fisher_exact(table).pvalue``.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction
from statistics import NormalDist

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seqcheck.errors import InvalidArgument
from seqcheck.training import statistics
from seqcheck.training.statistics import (
    GateDecision,
    binomial_interval,
    comparison_sentence,
    fisher_exact,
    gate,
    interval_at_rate,
)

# (confidence, successes, n): (low, high), mpmath at 50 digits (see the module docstring).
WILSON = {
    (0.95, 0, 10): (0.0, 0.2775327998628892),
    (0.95, 1, 30): (0.005908590381612448, 0.1667039099140917),
    (0.95, 15, 30): (0.33154125640533766, 0.6684587435946623),
    (0.95, 30, 30): (0.8864866068260313, 1.0),
    (0.95, 0, 1): (0.0, 0.7934506856227626),
    (0.95, 1, 1): (0.20654931437723745, 1.0),
    (0.95, 3, 30): (0.03459988874733419, 0.2562108257918408),
    (0.95, 14, 30): (0.30232388907699753, 0.638577003801267),
    (0.95, 1, 10000): (1.7652673601122302e-05, 0.000566268897401338),
    (0.99, 0, 10): (0.0, 0.39885409330490806),
    (0.99, 1, 30): (0.003925688565395337, 0.23177571643817474),
    (0.99, 15, 30): (0.2872156912398668, 0.7127843087601332),
    (0.99, 30, 30): (0.8188913517818892, 1.0),
    (0.99, 0, 1): (0.0, 0.8690224567198142),
    (0.99, 1, 1): (0.13097754328018588, 1.0),
    (0.99, 3, 30): (0.025651657291585868, 0.31923526128290275),
    (0.99, 1, 10000): (1.1740655287972226e-05, 0.0008511764682251731),
}

CLOPPER_PEARSON = {
    (0.95, 0, 10): (0.0, 0.3084971078187608),
    (0.95, 1, 30): (0.0008435709266304795, 0.17216945563341265),
    (0.95, 15, 30): (0.3129702858680275, 0.6870297141319724),
    (0.95, 30, 30): (0.8842966917779722, 1.0),
    (0.95, 0, 1): (0.0, 0.975),
    (0.95, 1, 1): (0.025000000000000022, 1.0),
    (0.95, 3, 30): (0.021117137029722573, 0.26528845047420807),
    (0.95, 14, 30): (0.2834180791835371, 0.6567447618392658),
    (0.95, 1, 10000): (2.531777593474689e-06, 0.0005570369979470473),
    (0.99, 0, 10): (0.0, 0.4112959813475253),
    (0.99, 1, 30): (0.0001670707695757959, 0.22275106502443373),
    (0.99, 15, 30): (0.26484683198381537, 0.7351531680161847),
    (0.99, 30, 30): (0.8381060971932603, 1.0),
    (0.99, 0, 1): (0.0, 0.995),
    (0.99, 1, 1): (0.0050000000000000044, 1.0),
    (0.99, 3, 30): (0.01158781166650271, 0.3203142212855164),
    (0.99, 1, 10000): (5.01254056726572e-07, 0.0007427741123960361),
}

# (holds_a, n_a, holds_b, n_b): the exact two-sided p-value, from the definition in fractions.
FISHER = {
    (3, 30, 14, 30): Fraction(38716, 11316613),
    (14, 30, 3, 30): Fraction(38716, 11316613),
    (0, 5, 5, 5): Fraction(1, 126),
    (10, 30, 10, 30): Fraction(1),
    (12, 30, 10, 30): Fraction(204479047, 259106347),
    (2, 10, 9, 20): Fraction(74801, 303485),
    (12, 30, 2, 20): Fraction(260806837, 9872059540),
    (1, 7, 6, 8): Fraction(29, 715),
    (0, 40, 3, 12): Fraction(11, 1105),
}

METHOD = st.sampled_from(["wilson", "clopper-pearson"])
CONFIDENCE = st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.999])


@st.composite
def counts(draw, max_n: int = 60):
    n = draw(st.integers(1, max_n))
    return draw(st.integers(0, n)), n


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


# -- intervals against references ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("confidence", "successes", "n"), sorted(WILSON))
def test_wilson_matches_the_reference(confidence, successes, n):
    low, high = binomial_interval(successes, n, confidence=confidence, method="wilson")
    assert (low, high) == pytest.approx(WILSON[confidence, successes, n], rel=1e-13, abs=0)


@pytest.mark.parametrize(("confidence", "successes", "n"), sorted(CLOPPER_PEARSON))
def test_clopper_pearson_matches_the_reference(confidence, successes, n):
    low, high = binomial_interval(successes, n, confidence=confidence, method="clopper-pearson")
    assert (low, high) == pytest.approx(CLOPPER_PEARSON[confidence, successes, n], rel=1e-13, abs=0)


def test_clopper_pearson_at_ten_thousand_trials_matches_the_reference():
    # mpmath at 40 digits: 120 bisection steps on the binomial tails, each summed over all 10,001 terms by the
    # recurrence pmf(k + 1) = pmf(k) (n - k) / (k + 1) p / (1 - p) (for 1 of 10,000 this gives the betainc value
    # above to the last digit).  scipy: (0.4901513805899749, 0.509848619410025), (0.002606439007958165,
    # 0.005096391252834182), off by up to 1e-10.
    assert binomial_interval(5000, 10000, method="clopper-pearson") == pytest.approx(
        (0.4901513805899805, 0.5098486194100195), rel=1e-13, abs=0
    )
    assert binomial_interval(37, 10000, method="clopper-pearson") == pytest.approx(
        (0.002606439007710963, 0.005096391253158692), rel=1e-13, abs=0
    )


def test_intervals_agree_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    for confidence in (0.9, 0.95, 0.99):
        for n in (1, 2, 3, 7, 10, 30):
            for successes in range(n + 1):
                ci = stats.binomtest(successes, n).proportion_ci(confidence, "wilson")
                assert binomial_interval(successes, n, confidence=confidence) == pytest.approx(
                    (ci.low, ci.high), rel=1e-12, abs=1e-15
                )
                ci = stats.binomtest(successes, n).proportion_ci(confidence, "exact")
                assert binomial_interval(successes, n, confidence=confidence, method="clopper-pearson") == pytest.approx(
                    (ci.low, ci.high), rel=1e-8, abs=1e-15
                )


# -- intervals: edge cases ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
def test_no_trials_give_the_whole_range(method):
    assert binomial_interval(0, 0, method=method) == (0.0, 1.0)


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
@pytest.mark.parametrize("n", [1, 2, 30, 10000])
def test_zero_and_all_successes_reach_the_ends_exactly(method, n):
    assert binomial_interval(0, n, method=method)[0] == 0.0
    assert binomial_interval(n, n, method=method)[1] == 1.0
    assert 0.0 < binomial_interval(0, n, method=method)[1] < 1.0
    assert 0.0 < binomial_interval(n, n, method=method)[0] < 1.0


@pytest.mark.parametrize("n", [1, 2, 10, 30, 1000, 10000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.999999])
def test_clopper_pearson_closed_forms_at_the_ends(n, confidence):
    # x = 0: P(X <= 0) = (1 - p)^n = alpha/2; x = n: P(X >= n) = p^n = alpha/2.
    half_alpha = (1 - confidence) / 2
    assert binomial_interval(0, n, confidence=confidence, method="clopper-pearson")[1] == pytest.approx(
        -math.expm1(math.log(half_alpha) / n), rel=1e-13
    )
    assert binomial_interval(n, n, confidence=confidence, method="clopper-pearson")[0] == pytest.approx(
        half_alpha ** (1 / n), rel=1e-13
    )


def test_clopper_pearson_does_not_always_contain_wilson():
    # Checked before asserting any inclusion: for 0 of 46 at 95% (and e.g. 1 of 97) Wilson's upper bound is
    # above Clopper-Pearson's (0.077074 > 0.077062), so "Clopper-Pearson contains Wilson" is not a property.
    assert binomial_interval(0, 46)[1] > binomial_interval(0, 46, method="clopper-pearson")[1]
    assert binomial_interval(1, 97)[1] > binomial_interval(1, 97, method="clopper-pearson")[1]  # 0.056105 > 0.056104


def test_ten_thousand_trials_are_fast():
    start = time.perf_counter()
    for successes in (1, 37, 2500, 5000, 9999):
        binomial_interval(successes, 10000, method="clopper-pearson")
    assert time.perf_counter() - start < 5.0  # about 0.02 s; generous for a loaded CI machine


# -- intervals: properties ------------------------------------------------------------------------------------------------


@given(counts(), METHOD, CONFIDENCE)
def test_interval_is_ordered_in_range_and_contains_the_point_estimate(count, method, confidence):
    successes, n = count
    low, high = binomial_interval(successes, n, confidence=confidence, method=method)
    assert 0.0 <= low <= successes / n <= high <= 1.0
    assert low < high


@given(counts(), METHOD, CONFIDENCE, CONFIDENCE)
def test_interval_widens_with_confidence(count, method, first, second):
    successes, n = count
    less, more = sorted((first, second))
    narrow = binomial_interval(successes, n, confidence=less, method=method)
    wide = binomial_interval(successes, n, confidence=more, method=method)
    assert wide[0] <= narrow[0] and narrow[1] <= wide[1]


@given(counts(), METHOD, CONFIDENCE)
def test_interval_is_symmetric_in_successes_and_failures(count, method, confidence):
    successes, n = count
    low, high = binomial_interval(successes, n, confidence=confidence, method=method)
    mirror_low, mirror_high = binomial_interval(n - successes, n, confidence=confidence, method=method)
    assert (low, high) == pytest.approx((1 - mirror_high, 1 - mirror_low), rel=1e-12, abs=1e-14)


@given(counts(), METHOD, CONFIDENCE)
def test_interval_moves_up_with_successes(count, method, confidence):
    successes, n = count
    assume(successes < n)
    low, high = binomial_interval(successes, n, confidence=confidence, method=method)
    next_low, next_high = binomial_interval(successes + 1, n, confidence=confidence, method=method)
    assert low < next_low and high < next_high


@given(counts(max_n=30), CONFIDENCE)
def test_clopper_pearson_bounds_put_alpha_over_two_in_each_tail(count, confidence):
    # The bounds' defining equations, checked in exact rational arithmetic at the returned float bounds.
    successes, n = count
    low, high = binomial_interval(successes, n, confidence=confidence, method="clopper-pearson")
    half_alpha = (1 - confidence) / 2

    def pmf(k: int, p: float) -> Fraction:
        q = Fraction(p)
        return math.comb(n, k) * q**k * (1 - q) ** (n - k)

    if successes > 0:
        assert float(sum(pmf(k, low) for k in range(successes, n + 1))) == pytest.approx(half_alpha, rel=1e-12)
    if successes < n:
        assert float(sum(pmf(k, high) for k in range(successes + 1))) == pytest.approx(half_alpha, rel=1e-12)


@given(st.integers(1, 25), st.floats(0.001, 0.999), CONFIDENCE)
def test_clopper_pearson_covers_every_rate_at_least_at_the_confidence(n, rate, confidence):
    coverage = 0.0
    for successes in range(n + 1):
        low, high = binomial_interval(successes, n, confidence=confidence, method="clopper-pearson")
        if low <= rate <= high:
            coverage += math.comb(n, successes) * rate**successes * (1 - rate) ** (n - successes)
    assert coverage >= confidence - 1e-12


@given(counts(max_n=200), CONFIDENCE, METHOD)
def test_interval_at_an_integer_rate_is_the_interval(count, confidence, method):
    # Two implementations for Clopper-Pearson: binomial tail sums (integers) and the incomplete beta (reals).
    successes, n = count
    expected = binomial_interval(successes, n, confidence=confidence, method=method)
    assert interval_at_rate(successes / n, n, confidence=confidence, method=method) == pytest.approx(
        expected, rel=1e-9, abs=1e-15
    )


# -- Fisher's exact test ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", sorted(FISHER))
def test_fisher_matches_the_exact_reference(table):
    assert fisher_exact(*table) == float(FISHER[table])  # exact rational, rounded once


@pytest.mark.parametrize("table", sorted(FISHER))
def test_fisher_agrees_with_scipy(table):
    stats = pytest.importorskip("scipy.stats")
    holds_a, n_a, holds_b, n_b = table
    expected = stats.fisher_exact([[holds_a, n_a - holds_a], [holds_b, n_b - holds_b]]).pvalue
    assert fisher_exact(*table) == pytest.approx(expected, rel=1e-12)


def _fisher_by_definition(holds_a: int, n_a: int, holds_b: int, n_b: int) -> Fraction:
    total = holds_a + holds_b
    probability = {
        k: Fraction(math.comb(n_a, k) * math.comb(n_b, total - k), math.comb(n_a + n_b, total))
        for k in range(max(0, total - n_b), min(n_a, total) + 1)
    }
    return sum((p for p in probability.values() if p <= probability[holds_a]), Fraction(0))


@st.composite
def tables(draw, max_n: int = 25):
    holds_a, n_a = draw(counts(max_n))
    holds_b, n_b = draw(counts(max_n))
    return holds_a, n_a, holds_b, n_b


@given(tables())
def test_fisher_is_the_definition(table):
    assert fisher_exact(*table) == float(_fisher_by_definition(*table))


@given(tables(max_n=60))
def test_fisher_does_not_depend_on_labels(table):
    holds_a, n_a, holds_b, n_b = table
    p = fisher_exact(*table)
    assert 0.0 < p <= 1.0
    assert fisher_exact(holds_b, n_b, holds_a, n_a) == p
    assert fisher_exact(n_a - holds_a, n_a, n_b - holds_b, n_b) == p


@given(tables(max_n=60))
def test_fisher_float_path_agrees_with_the_exact_path(table):
    assert statistics._fisher_exact_floats(*table) == pytest.approx(fisher_exact(*table), rel=1e-9)


def test_fisher_large_tables_use_floats_and_agree_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    for holds_a, n_a, holds_b, n_b in [(25000, 100000, 25400, 100000), (2, 100000, 40, 100000), (3, 30000, 0, 5)]:
        expected = stats.fisher_exact([[holds_a, n_a - holds_a], [holds_b, n_b - holds_b]]).pvalue
        assert fisher_exact(holds_a, n_a, holds_b, n_b) == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("table", [(0, 0, 3, 5), (0, 3, 0, 4), (3, 3, 4, 4), (0, 0, 0, 0)])
def test_fisher_tables_with_one_possible_arrangement_give_one(table):
    assert fisher_exact(*table) == 1.0


# -- the gate ---------------------------------------------------------------------------------------------------------------


def test_gate_passes():
    decision = gate(1, 30, 0.2)
    assert decision == GateDecision("pass", 1, 30, 0.2, 0.95, "wilson", decision.interval, None)
    assert decision.interval == pytest.approx(WILSON[0.95, 1, 30], rel=1e-13)
    assert decision.passed
    assert decision.message == "pass: failure rate 1/30 = 3.3%, 95% interval 0.6%–16.7% (Wilson), below 20%"
    assert str(decision) == decision.message


def test_gate_fails():
    decision = gate(12, 30, 0.2)
    assert decision.outcome == "fail" and decision.more_seeds is None and not decision.passed
    assert decision.message == "fail: failure rate 12/30 = 40.0%, 95% interval 24.6%–57.7% (Wilson), above 20%"


def test_gate_undecided_says_how_many_more_seeds():
    decision = gate(3, 30, 0.2)
    assert decision.outcome == "undecided"
    # Wilson: t is outside the interval once (n + N)(p - t)^2 > z^2 t (1 - t), i.e. n + N > 61.46: N = 32.
    assert math.floor(_z(0.95) ** 2 * 0.2 * 0.8 / (0.1 - 0.2) ** 2) + 1 - 30 == 32
    assert decision.more_seeds == 32
    assert decision.message == (
        "undecided: failure rate 3/30 = 10.0%, 95% interval 3.5%–25.6% (Wilson), straddles 20%; "
        "about 32 more seeds needed if the rate holds"
    )


def test_gate_with_clopper_pearson():
    decision = gate(3, 30, 0.2, method="clopper-pearson")
    assert decision.interval == pytest.approx(CLOPPER_PEARSON[0.95, 3, 30], rel=1e-13)
    assert decision.more_seeds == 35
    assert decision.message == (
        "undecided: failure rate 3/30 = 10.0%, 95% interval 2.1%–26.5% (Clopper-Pearson), straddles 20%; "
        "about 35 more seeds needed if the rate holds"
    )
    assert gate(0, 30, 0.2, method="clopper-pearson").message == (
        "pass: failure rate 0/30 = 0.0%, 95% interval 0.0%–11.6% (Clopper-Pearson), below 20%"
    )


def test_gate_projection_agrees_with_scipy_beta_quantiles():
    stats = pytest.importorskip("scipy.stats")
    # 3/30 held on 30 + N seeds: count 0.1 (30 + N); the upper bound is beta.ppf(0.975, count + 1, total - count).
    def upper(total):
        return stats.beta.ppf(0.975, 0.1 * total + 1, 0.9 * total)

    assert upper(30 + 34) > 0.2 > upper(30 + 35)


def test_gate_cannot_be_settled_at_the_threshold_rate():
    decision = gate(3, 30, 0.1)  # 3/30 is 10%: at that rate the interval always contains 10%
    assert decision.outcome == "undecided" and decision.more_seeds is None
    assert decision.message == (
        "undecided: failure rate 3/30 = 10.0%, 95% interval 3.5%–25.6% (Wilson), straddles 10%; "
        "more seeds cannot settle it at this rate, which equals the threshold"
    )


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
def test_gate_too_close_to_the_threshold_to_settle_in_practice(method):
    start = time.perf_counter()
    decision = gate(1, 10, 0.1000001, method=method)  # about 3.5e13 seeds would be needed
    assert time.perf_counter() - start < 3.0  # milliseconds: the search stops at MAX_MORE_SEEDS
    assert decision.outcome == "undecided" and decision.more_seeds is None
    assert decision.message.endswith(
        "straddles 10.00001%; more seeds cannot settle it in practice: over 1,000,000,000 more would be needed at this rate"
    )


def test_gate_one_more_seed_is_singular():
    decision = gate(0, 10, 0.26)
    assert decision.more_seeds == 1
    assert decision.message.endswith("about 1 more seed needed if the rate holds")


def _decides(failures, n, threshold, extra, confidence, method):
    low, high = interval_at_rate(failures / n, n + extra, confidence=confidence, method=method)
    return high < threshold or low > threshold


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
@pytest.mark.parametrize(("failures", "n", "threshold"), [(3, 30, 0.2), (0, 10, 0.2), (10, 30, 0.2), (29, 30, 0.99), (1, 3, 0.1)])
def test_more_seeds_is_the_first_number_that_decides(method, failures, n, threshold):
    decision = gate(failures, n, threshold, method=method)
    assert decision.outcome == "undecided"
    more = decision.more_seeds
    assert _decides(failures, n, threshold, more, 0.95, method)
    assert not any(_decides(failures, n, threshold, extra, 0.95, method) for extra in range(more))


@settings(max_examples=40)
@given(counts(max_n=40), st.sampled_from([0.05, 0.1, 0.2, 0.25, 0.5, 0.9]), st.sampled_from([0.9, 0.95, 0.99]), METHOD)
def test_gate_outcome_follows_the_interval_and_more_seeds_is_minimal(count, threshold, confidence, method):
    failures, n = count
    decision = gate(failures, n, threshold, confidence=confidence, method=method)
    low, high = decision.interval
    assert decision.interval == binomial_interval(failures, n, confidence=confidence, method=method)
    assert decision.outcome == ("pass" if high < threshold else "fail" if low > threshold else "undecided")
    assert decision.message.startswith(decision.outcome + ": ")
    if decision.outcome != "undecided" or failures / n == threshold:
        assert decision.more_seeds is None
        return
    more = decision.more_seeds
    assert more is not None and more >= 1
    assert _decides(failures, n, threshold, more, confidence, method)
    assert not _decides(failures, n, threshold, more - 1, confidence, method)
    if method == "wilson":  # cheap enough to check every smaller number
        assert not any(_decides(failures, n, threshold, extra, confidence, method) for extra in range(more))


# -- the comparison sentence -----------------------------------------------------------------------------------------------------


def test_comparison_says_a_real_difference_and_its_direction():
    assert comparison_sentence("fixed-window:dropout=0.15", 14, 30, "fixed-window", 3, 30) == (
        "fixed-window:dropout=0.15 holds on 14/30 seeds against 3/30 for fixed-window (p=0.0034, Fisher's exact test): "
        "a real difference at 30 seeds, fixed-window:dropout=0.15 holds more often"
    )
    assert comparison_sentence("a", 3, 30, "b", 14, 30) == (
        "a holds on 3/30 seeds against 14/30 for b (p=0.0034, Fisher's exact test): a real difference at 30 seeds, b holds more often"
    )


def test_comparison_says_not_distinguishable_without_a_direction():
    assert comparison_sentence("a", 12, 30, "b", 10, 30) == (
        "a holds on 12/30 seeds against 10/30 for b (p=0.79, Fisher's exact test): not distinguishable at 30 seeds"
    )


def test_comparison_with_unequal_seed_counts_and_a_stricter_level():
    # p = 0.026: a difference at the 5% level, not at the 1% level.
    assert comparison_sentence("a", 12, 30, "b", 2, 20) == (
        "a holds on 12/30 seeds against 2/20 for b (p=0.026, Fisher's exact test): a real difference at 30 and 20 seeds, a holds more often"
    )
    assert comparison_sentence("a", 12, 30, "b", 2, 20, alpha=0.01).endswith("not distinguishable at 30 and 20 seeds")


@given(tables(max_n=40))
def test_comparison_claims_a_direction_only_when_significant(table):
    holds_a, n_a, holds_b, n_b = table
    sentence = comparison_sentence("a", holds_a, n_a, "b", holds_b, n_b)
    significant = fisher_exact(*table) < 0.05
    assert ("holds more often" in sentence) == significant
    assert sentence.endswith("not distinguishable at " + (f"{n_a} seeds" if n_a == n_b else f"{n_a} and {n_b} seeds")) == (
        not significant
    )


# -- argument errors ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: binomial_interval(31, 30), "successes=31"),
        (lambda: binomial_interval(-1, 30), "successes=-1"),
        (lambda: binomial_interval(1.5, 30), "successes=1.5"),
        (lambda: binomial_interval(True, 30), "successes=True"),
        (lambda: binomial_interval(1, -3), "n=-3"),
        (lambda: binomial_interval(1, 30, confidence=1.0), "confidence=1.0"),
        (lambda: binomial_interval(1, 30, confidence=float("nan")), "confidence=nan"),
        (lambda: binomial_interval(1, 30, confidence="0.95"), "confidence='0.95'"),
        (lambda: binomial_interval(1, 30, method="wald"), "method='wald'"),
        (lambda: interval_at_rate(1.2, 10), "rate=1.2"),
        (lambda: interval_at_rate(0.5, 0), "n=0"),
        (lambda: fisher_exact(3, 2, 1, 1), "holds_a=3"),
        (lambda: fisher_exact(0, 2, "1", 1), "holds_b='1'"),
        (lambda: gate(1, 0, 0.2), "n=0"),
        (lambda: gate(5, 4, 0.2), "failures=5"),
        (lambda: gate(1, 10, 1.2), "max_failure_rate=1.2"),
        (lambda: gate(1, 10, 0.0), "max_failure_rate=0.0"),
        (lambda: gate(1, 10, 0.2, method="exact"), "method='exact'"),
        (lambda: comparison_sentence("a", 1, 0, "b", 1, 1), "n_a=0"),
        (lambda: comparison_sentence("a", 1, 2, "b", 1, 1, alpha=0), "alpha=0"),
    ],
)
def test_bad_arguments_are_refused_in_one_line_naming_the_value(call, named):
    with pytest.raises(InvalidArgument) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(named + ": expected ")
    assert isinstance(raised.value, ValueError)


def test_numpy_integers_are_counts():
    np = pytest.importorskip("numpy")
    assert binomial_interval(np.int64(1), np.int64(30)) == binomial_interval(1, 30)
    assert gate(np.int64(1), np.int64(30), 0.2).outcome == "pass"
