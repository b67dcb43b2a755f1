"""Is a training recipe reliable across seeds?  Intervals, a two-group test and a CI gate, in pure Python.

A recipe trained on ``n`` seeds gives a count: the seeds whose model holds an invariant (or fails it).
This module says what such counts support:

- :func:`binomial_interval`: the two-sided confidence interval of a rate from ``successes`` of ``n``
  (Wilson score, Clopper-Pearson exact, or an anytime-valid confidence sequence that a run may look at after
  every seed and stop on); :func:`interval_at_rate`, the same at a given proportion;
- :func:`fisher_exact`: the two-sided p-value of Fisher's exact test, two recipes' counts against each other;
- :func:`gate`: pass / fail / undecided for CI, from the failure-rate interval and a maximum failure rate,
  with how many more seeds an undecided gate needs (:class:`GateDecision`);
- :func:`comparison_sentence`: one sentence saying what two recipes' counts support, and no more.

Only the standard library: exact integers and fractions where they are cheap, floats in log space otherwise.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from statistics import NormalDist

from seqcheck.errors import invalid

#: The interval methods :func:`binomial_interval` knows, with the name a message gives them.
METHODS = {"wilson": "Wilson", "clopper-pearson": "Clopper-Pearson", "anytime": "anytime-valid"}

#: :func:`gate` projects at most this many more seeds; beyond, more seeds cannot settle it in practice.
MAX_MORE_SEEDS = 10**9

#: Up to this many trials, ``log C(n, k)`` is the logarithm of the exact integer ``math.comb(n, k)``;
#: beyond, it is ``lgamma``'s (relative error about 1e-16 times ``n log n``), where ``math.comb`` gets slow.
_EXACT_COMB_LIMIT = 20_000

#: Fisher's test sums exact integer hypergeometric weights up to this many trials in all; beyond, floats in log space.
_EXACT_FISHER_LIMIT = 20_000

#: The float path of Fisher's test counts a table as "as extreme" when its probability is at most the observed
#: one times 1 + 1e-7 (R's ``fisher.test`` tolerance; scipy uses 1e-14), so rounding cannot drop a tie.
_FISHER_RELATIVE_TOLERANCE = 1e-7

_NORMAL = NormalDist()


# -- argument checks ------------------------------------------------------------------------------------------------


def _count(name: str, value: object, *, low: int = 0, high: int | None = None, fix: str) -> int:
    """``value`` as an int in ``[low, high]`` (bool refused; NumPy integers accepted), else a one-line error."""
    expected = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
    if isinstance(value, bool):
        raise invalid(name, value, expected, fix)
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise invalid(name, value, expected, fix) from None
    if number < low or (high is not None and number > high):
        raise invalid(name, value, expected, fix)
    return number


def _open_unit(name: str, value: object, fix: str) -> float:
    """``value`` as a float strictly between 0 and 1, else a one-line error."""
    expected = "a number strictly between 0 and 1"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # a string "0.95" is refused too
        raise invalid(name, value, expected, fix)
    number = float(value)
    if not 0.0 < number < 1.0:  # also refuses NaN
        raise invalid(name, value, expected, fix)
    return number


def _method(value: object) -> str:
    if not isinstance(value, str) or value not in METHODS:
        expected = f"one of {', '.join(repr(m) for m in METHODS)}"
        raise invalid("method", value, expected, "use 'wilson' or 'clopper-pearson'")
    return value


def _confidence(value: object) -> float:
    return _open_unit("confidence", value, "give the interval's coverage, like 0.95")


# -- the normal quantile and Wilson ---------------------------------------------------------------------------------


def _z(confidence: float) -> float:
    """The two-sided normal quantile ``z = Phi^-1(1 - alpha/2)``, ``alpha = 1 - confidence``."""
    return -_NORMAL.inv_cdf((1.0 - confidence) / 2.0)


def _wilson(rate: float, n: float, z: float) -> tuple[float, float]:
    """Wilson's bounds at proportion ``rate`` of ``n`` trials (``n > 0``); exactly 0 at rate 0, 1 at rate 1.

    The bounds are the roots of ``(n + z^2) r^2 - (2 n p + z^2) r + n p^2 = 0``.  The root away from 0 or 1
    is ``center + half`` (below one half) and the other is the product of the roots over it, so neither
    is a difference of nearly equal numbers.
    """
    if rate > 0.5:
        low, high = _wilson(1.0 - rate, n, z)
        return 1.0 - high, 1.0 - low
    z2 = z * z
    denominator = 2.0 * (n + z2)
    center = (2.0 * n * rate + z2) / denominator
    half = z / denominator * math.sqrt(4.0 * n * rate * (1.0 - rate) + z2)
    high = min(1.0, center + half)
    low = n * rate * rate / ((n + z2) * high) if rate > 0.0 else 0.0
    return low, high


# -- Clopper-Pearson from binomial tail sums (integer counts) --------------------------------------------------------


@lru_cache(maxsize=1024)
def _log_comb(n: int, k: int) -> float:
    """``log C(n, k)``: exact up to :data:`_EXACT_COMB_LIMIT` trials, ``lgamma`` beyond."""
    if n <= _EXACT_COMB_LIMIT:
        return math.log(math.comb(n, k))
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _log_binomial_sum(n: int, p: float, first: int, last: int) -> float:
    """``log P(first <= X <= last)`` for ``X ~ Binomial(n, p)``, ``0 < p < 1``, ``0 <= first <= last <= n``.

    The sum starts at its largest term (the binomial mode ``floor((n + 1) p)``, clipped into the range), whose
    logarithm is exact up to rounding (``log C(n, k) + k log p + (n - k) log(1 - p)``), and walks outward with
    the term ratios ``(n - k) / (k + 1) * p / (1 - p)``, every term relative to the largest (no overflow, no
    underflow of the sum).  A walk stops when the terms left are below 1e-17 of the sum: past the mode the
    ratios only shrink, so the rest is at most ``term * r / (1 - r)``.  About ``sqrt(n)`` terms, not ``n``.
    """
    odds = p / (1.0 - p)
    top = min(max(int((n + 1) * p), first), last)
    total = 1.0
    term, k = 1.0, top
    while k < last:
        ratio = (n - k) / (k + 1) * odds
        term *= ratio
        k += 1
        total += term
        if term == 0.0 or (ratio < 1.0 and term * ratio / (1.0 - ratio) <= 1e-17 * total):
            break
    term, k = 1.0, top
    while k > first:
        ratio = k / (n - k + 1) / odds
        term *= ratio
        k -= 1
        total += term
        if term == 0.0 or (ratio < 1.0 and term * ratio / (1.0 - ratio) <= 1e-17 * total):
            break
    log_top = _log_comb(n, top) + top * math.log(p) + (n - top) * math.log1p(-p)
    return log_top + math.log(total)


def _bisect(increasing: Callable[[float], bool], low: float, high: float) -> float:
    """The point in ``[low, high]`` where the monotone predicate turns true, to the last bit of a float."""
    for _ in range(2000):  # halving [0, 1] reaches adjacent floats in at most ~1100 steps
        middle = (low + high) / 2.0
        if middle <= low or middle >= high:
            break
        if increasing(middle):
            high = middle
        else:
            low = middle
    return (low + high) / 2.0


def _clopper_pearson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    log_tail = math.log(tail)
    if successes == 0:
        low = 0.0
    else:  # P(X >= x | p) grows with p; the bound is where it reaches alpha/2, and it lies below x/n
        low = _bisect(lambda p: _log_binomial_sum(n, p, successes, n) >= log_tail, 0.0, successes / n)
    if successes == n:
        high = 1.0
    else:  # P(X <= x | p) shrinks as p grows; the bound is where it falls to alpha/2, above x/n
        high = _bisect(lambda p: _log_binomial_sum(n, p, 0, successes) <= log_tail, successes / n, 1.0)
    return low, high


# -- the regularized incomplete beta function (real parameters) -----------------------------------------------------


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of ``I_x(a, b)`` (modified Lentz), for ``x < (a + 1) / (a + b + 2)``; it needs
    about ``sqrt(max(a, b))`` steps."""
    tiny = 1e-300
    limit = 1000 + 20 * int(math.sqrt(max(a, b)))
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, limit + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((a - 1.0 + m2) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            step = c * d
            h *= step
        if abs(step - 1.0) < 1e-15:
            return h
    raise ArithmeticError(f"the incomplete beta continued fraction did not converge for a={a}, b={b}, x={x}")


def _incomplete_beta(a: float, b: float, x: float) -> tuple[float, float]:
    """``(I_x(a, b), 1 - I_x(a, b))``, each accurate relative to itself (the smaller one is computed directly).

    ``I_x(a, b) = B(x; a, b) / B(a, b)``, the Beta(a, b) distribution function, for real ``a, b > 0``:
    ``x^a (1 - x)^b / (a B(a, b))`` times a continued fraction, and ``1 - I_{1 - x}(b, a)`` when
    ``x > (a + 1) / (a + b + 2)``, where that fraction would converge slowly.
    """
    if x <= 0.0:
        return 0.0, 1.0
    if x >= 1.0:
        return 1.0, 0.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        value = math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
        return value, 1.0 - value
    complement = math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b
    return 1.0 - complement, complement


def _beta_clopper_pearson(count: float, n: float, confidence: float) -> tuple[float, float]:
    """Clopper-Pearson's bounds from beta quantiles at a count that need not be an integer."""
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if count <= 0.0 else _bisect(lambda p: _incomplete_beta(count, n - count + 1.0, p)[0] >= tail, 0.0, 1.0)
    high = 1.0 if count >= n else _bisect(lambda p: _incomplete_beta(count + 1.0, n - count, p)[1] <= tail, 0.0, 1.0)
    return low, high


def _confidence_sequence(count: float, n: float, confidence: float) -> tuple[float, float]:
    """The beta-binomial mixture confidence sequence at ``count`` of ``n`` (a real count is allowed)."""
    log_level = math.log(1.0 / (1.0 - confidence))
    log_mixture = math.lgamma(count + 1.0) + math.lgamma(n - count + 1.0) - math.lgamma(n + 2.0)

    def log_martingale(p: float) -> float:
        return log_mixture - (count * math.log(p) if count else 0.0) - ((n - count) * math.log1p(-p) if n - count else 0.0)

    centre = count / n
    low = 0.0 if count <= 0.0 else _bisect(lambda p: log_martingale(p) < log_level, 0.0, centre)
    high = 1.0 if count >= n else _bisect(lambda p: log_martingale(p) >= log_level, centre, 1.0)
    return low, high


# -- intervals --------------------------------------------------------------------------------------------------------


def binomial_interval(
    successes: int, n: int, *, confidence: float = 0.95, method: str = "wilson"
) -> tuple[float, float]:
    """The two-sided ``confidence`` interval ``(low, high)`` of a rate observed as ``successes`` of ``n``.

    With ``p = x / n`` (``x`` successes), ``alpha = 1 - confidence`` and ``z = Phi^-1(1 - alpha / 2)``:

    - ``"wilson"`` (Wilson score interval): the rates ``r`` with ``n (p - r)^2 <= z^2 r (1 - r)``, that is
      ``(p + z^2/(2n) -+ z sqrt(p (1 - p) / n + z^2 / (4 n^2))) / (1 + z^2 / n)``; ``low`` is exactly 0 when
      ``x = 0`` and ``high`` exactly 1 when ``x = n``.
    - ``"clopper-pearson"`` (exact): ``low = B^-1(alpha/2; x, n - x + 1)`` (0 when ``x = 0``) and
      ``high = B^-1(1 - alpha/2; x + 1, n - x)`` (1 when ``x = n``), the beta quantiles; equivalently ``low``
      is the rate at which ``P(X >= x) = alpha/2`` and ``high`` the rate at which ``P(X <= x) = alpha/2``,
      ``X ~ Binomial(n, rate)``.  Computed so: bisection to the last bit on those binomial tail sums, each
      summed in log space from its largest term (:func:`_log_binomial_sum`); fast up to n of 10,000 and beyond.
    - ``"anytime"`` (a confidence sequence: Robbins's beta-binomial mixture with a uniform prior): the rates
      ``r`` with ``M(r) = B(x + 1, n - x + 1) / (r^x (1 - r)^(n - x)) < 1 / alpha``.  ``M(r)``, seen seed after
      seed, is a nonnegative martingale of mean 1 at the true rate, so by Ville's inequality the true rate
      leaves the interval at *some* n with probability at most ``alpha``: the interval may be looked at after
      every seed and a run stopped once it decides, which a fixed-n interval does not allow.  It is wider than
      the others at any one n.  ``low`` is 0 when ``x = 0`` and ``high`` 1 when ``x = n``.

    ``n = 0`` is defined: no trials say nothing, and the interval is the whole range ``(0.0, 1.0)``.
    """
    method = _method(method)
    confidence = _confidence(confidence)
    n = _count("n", n, fix="give the number of seeds (trials)")
    successes = _count("successes", successes, high=n, fix=f"count at most n={n} successes")
    if n == 0:
        return 0.0, 1.0
    if method == "wilson":
        return _wilson(successes / n, n, _z(confidence))
    if method == "anytime":
        return _confidence_sequence(float(successes), float(n), confidence)
    return _clopper_pearson(successes, n, confidence)


def interval_at_rate(rate: float, n: int, *, confidence: float = 0.95, method: str = "wilson") -> tuple[float, float]:
    """The interval :func:`binomial_interval` would give if ``n`` trials showed exactly the proportion ``rate``.

    The count ``rate * n`` need not be an integer: Wilson's interval is a function of the proportion and
    ``n`` alone, and Clopper-Pearson's beta quantiles take real parameters (computed here from the
    regularized incomplete beta function, a continued fraction, by bisection).  At an integer count it is
    :func:`binomial_interval`'s interval, up to rounding.  :func:`gate` projects with it.
    """
    method = _method(method)
    confidence = _confidence(confidence)
    n = _count("n", n, low=1, fix="give at least one trial")
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= float(rate) <= 1.0:
        raise invalid("rate", rate, "a proportion from 0 to 1", "give the observed rate, like 3/30")
    rate = float(rate)
    if method == "wilson":
        return _wilson(rate, n, _z(confidence))
    if method == "anytime":
        return _confidence_sequence(rate * n, float(n), confidence)
    return _beta_clopper_pearson(rate * n, float(n), confidence)


# -- Fisher's exact test ----------------------------------------------------------------------------------------------


def fisher_exact(holds_a: int, n_a: int, holds_b: int, n_b: int) -> float:
    """The two-sided p-value of Fisher's exact test on the 2x2 table ``[[holds_a, n_a - holds_a], [holds_b,
    n_b - holds_b]]``.

    Given the margins (``n_a``, ``n_b`` and ``K = holds_a + holds_b`` holds in all, ``N = n_a + n_b``), the
    count of group A has the hypergeometric law ``P(k) = C(n_a, k) C(n_b, K - k) / C(N, K)``; the p-value is
    the sum of ``P(k)`` over every ``k`` with ``P(k) <= P(holds_a)``.  Up to N = 20,000 it is computed
    exactly, with integer weights and one fraction (ties are exact, no tolerance is needed), and rounded once
    to a float.  Beyond, in floats in log space, a table counting as a tie when its probability is within a
    relative 1e-7 of the observed one (R's tolerance; scipy's is 1e-14).  A table whose margins allow only
    itself (a group with no trials, or no holds / all holds in all) gives 1.0.
    """
    n_a = _count("n_a", n_a, fix="give the number of seeds of the first recipe")
    holds_a = _count("holds_a", holds_a, high=n_a, fix=f"count at most n_a={n_a} seeds")
    n_b = _count("n_b", n_b, fix="give the number of seeds of the second recipe")
    holds_b = _count("holds_b", holds_b, high=n_b, fix=f"count at most n_b={n_b} seeds")
    if n_a + n_b <= _EXACT_FISHER_LIMIT:
        return _fisher_exact_integers(holds_a, n_a, holds_b, n_b)
    return _fisher_exact_floats(holds_a, n_a, holds_b, n_b)


def _fisher_exact_integers(holds_a: int, n_a: int, holds_b: int, n_b: int) -> float:
    total = holds_a + holds_b
    first, last = max(0, total - n_b), min(n_a, total)
    weights = []
    weight = math.comb(n_a, first) * math.comb(n_b, total - first)
    for k in range(first, last + 1):
        weights.append(weight)
        # C(n_a, k + 1) C(n_b, K - k - 1) from C(n_a, k) C(n_b, K - k): an exact integer division.
        weight = weight * (n_a - k) * (total - k) // ((k + 1) * (n_b - total + k + 1)) if k < last else 0
    observed = weights[holds_a - first]
    return float(Fraction(sum(w for w in weights if w <= observed), sum(weights)))


def _fisher_exact_floats(holds_a: int, n_a: int, holds_b: int, n_b: int) -> float:
    """The same p-value in floats: the weights ``w(k) = C(n_a, k) C(n_b, K - k)`` are log-concave, so the
    tables as extreme as the observed one are two tails ``[first, k1]`` and ``[k2, last]`` on either side of
    the mode, found by bisection on ``log w``; each tail, and the whole, is summed from its largest term
    outward with the ratios ``w(k + 1) / w(k)`` until the rest is below 1e-17 of the sum (the ratios only
    shrink away from the mode)."""
    total = holds_a + holds_b
    first, last = max(0, total - n_b), min(n_a, total)

    def log_weight(k: int) -> float:
        return _log_comb(n_a, k) + _log_comb(n_b, total - k)

    def ratio(k: int) -> float:  # w(k + 1) / w(k)
        return (n_a - k) * (total - k) / ((k + 1) * (n_b - total + k + 1))

    def walk(start: int, step: int, end: int) -> float:  # sum of w(k) / w(start) from start to end
        result, term, k = 1.0, 1.0, start
        while k != end:
            r = ratio(k) if step > 0 else 1.0 / ratio(k - 1)
            term *= r
            k += step
            result += term
            if term == 0.0 or (r < 1.0 and term * r / (1.0 - r) <= 1e-17 * result):
                break
        return result

    mode = min(max(int((n_a + 1) * (total + 1) / (n_a + n_b + 2)), first), last)
    while mode < last and ratio(mode) > 1.0:  # the formula's mode, confirmed against the ratios
        mode += 1
    while mode > first and ratio(mode - 1) < 1.0:
        mode -= 1
    cut = log_weight(holds_a) + math.log1p(_FISHER_RELATIVE_TOLERANCE)
    log_top = log_weight(mode)
    if log_top <= cut:
        return 1.0
    p = 0.0
    everything = walk(mode, 1, last) + walk(mode, -1, first) - 1.0
    if log_weight(first) <= cut:  # the lower tail [first, k1]: the last k below the mode with w(k) <= cut
        low, high = first, mode  # log_weight(low) <= cut < log_weight(high)
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if log_weight(middle) <= cut else (low, middle)
        p += math.exp(log_weight(low) - log_top) * walk(low, -1, first)
    if log_weight(last) <= cut:  # the upper tail [k2, last]
        low, high = mode, last  # log_weight(low) > cut >= log_weight(high)
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if log_weight(middle) <= cut else (middle, high)
        p += math.exp(log_weight(high) - log_top) * walk(high, 1, last)
    return min(1.0, p / everything)


# -- the CI gate ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateDecision:
    """What :func:`gate` decided from ``failures`` of ``n`` seeds against ``max_failure_rate``.

    ``outcome`` is ``"pass"``, ``"fail"`` or ``"undecided"``; ``interval`` the failure rate's interval;
    ``more_seeds`` (undecided only, else None) how many more seeds would decide if the observed rate held,
    or None when no number would (the rate equals the threshold, or more than :data:`MAX_MORE_SEEDS` would
    be needed).
    """

    outcome: str
    failures: int
    n: int
    max_failure_rate: float
    confidence: float
    method: str
    interval: tuple[float, float]
    more_seeds: int | None = None

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    @property
    def message(self) -> str:
        """One sentence, like ``pass: failure rate 1/30 = 3.3%, 95% interval 0.6%–16.7% (Wilson), below 20%``."""
        low, high = self.interval
        threshold = _percent_threshold(self.max_failure_rate)
        head = (
            f"{self.outcome}: failure rate {self.failures}/{self.n} = {_percent(self.failures / self.n)}, "
            f"{self.confidence * 100:g}% interval {_percent(low)}–{_percent(high)} ({METHODS[self.method]})"
        )
        if self.outcome == "pass":
            return f"{head}, below {threshold}"
        if self.outcome == "fail":
            return f"{head}, above {threshold}"
        if self.more_seeds is not None:
            seeds = "seed" if self.more_seeds == 1 else "seeds"
            return f"{head}, straddles {threshold}; about {self.more_seeds:,} more {seeds} needed if the rate holds"
        if self.failures / self.n == self.max_failure_rate:
            return (
                f"{head}, straddles {threshold}; more seeds cannot settle it at this rate, which equals the threshold"
            )
        return (
            f"{head}, straddles {threshold}; more seeds cannot settle it in practice: "
            f"over {MAX_MORE_SEEDS:,} more would be needed at this rate"
        )

    def __str__(self) -> str:
        return self.message


def _percent(value: float) -> str:
    """A rate as a percentage with one decimal, more where one would show a nonzero rate as 0.0% or a rate
    below one as 100.0%."""
    text = f"{value * 100:.1f}%"
    if text == "0.0%" and value > 0.0:
        return f"{value * 100:.2g}%"
    digits = 1
    while value < 1.0 and float(text[:-1]) == 100.0 and digits < 12:
        digits += 1
        text = f"{value * 100:.{digits}f}%"
    return text


def _percent_threshold(value: float) -> str:
    """The threshold as the user wrote it, in percent: 0.2 is 20%, 0.1000001 is 10.00001% (not 10%)."""
    return f"{value * 100:.12g}%"


def gate(
    failures: int,
    n: int,
    max_failure_rate: float,
    *,
    confidence: float = 0.95,
    method: str = "wilson",
) -> GateDecision:
    """Decide whether ``failures`` of ``n`` seeds show a failure rate below ``max_failure_rate``.

    With ``(low, high)`` the failure rate's two-sided ``confidence`` interval (:func:`binomial_interval`):
    **pass** when ``high < max_failure_rate``, **fail** when ``low > max_failure_rate``, otherwise
    **undecided**.

    An undecided gate says how many more seeds would settle it: ``more_seeds`` is the smallest ``N >= 1``
    such that, were the observed rate ``p = failures / n`` to hold exactly on ``n + N`` seeds, the interval
    would lie wholly on one side of the threshold (below it when ``p`` is below it, above when above).
    "Exactly" means no rounding: the projected count ``p (n + N)`` may be fractional, as both methods allow
    (:func:`interval_at_rate`); rounding it to an integer would favour one side and make the answer jump
    back and forth as ``N`` grows.  At a fixed ``p`` the interval narrows as ``N`` grows (for Wilson, ``t``
    is outside it exactly when ``(n + N)(p - t)^2 > z^2 t (1 - t)``), so the first such ``N`` is found by a
    doubling then a bisection search, started at Wilson's closed form.  When ``p`` equals the threshold no
    number of seeds at that rate settles it: ``more_seeds`` is None and the message says so; likewise (and
    said differently) when more than :data:`MAX_MORE_SEEDS` seeds would be needed.

    ``n = 0`` is refused: a gate needs at least one seed.
    """
    method = _method(method)
    confidence = _confidence(confidence)
    n = _count("n", n, low=1, fix="run the recipe on at least one seed before gating it")
    failures = _count("failures", failures, high=n, fix=f"count at most n={n} failing seeds")
    threshold = _open_unit("max_failure_rate", max_failure_rate, "give the highest acceptable failure rate, like 0.2")
    low, high = binomial_interval(failures, n, confidence=confidence, method=method)
    if high < threshold:
        outcome = "pass"
    elif low > threshold:
        outcome = "fail"
    else:
        outcome = "undecided"
    more = _more_seeds(failures, n, threshold, confidence, method) if outcome == "undecided" else None
    return GateDecision(outcome, failures, n, threshold, confidence, method, (low, high), more)


def _projection_decides(
    failures: int, n: int, threshold: float, confidence: float, method: str
) -> Callable[[int], bool]:
    """Whether the interval at rate ``failures / n`` on ``n + extra`` seeds lies wholly on the rate's side of
    the threshold, as a predicate of ``extra``."""
    rate = failures / n
    below = rate < threshold
    if method == "wilson":
        z = _z(confidence)

        def decides(extra: int) -> bool:
            low, high = _wilson(rate, n + extra, z)
            return high < threshold if below else low > threshold

        return decides
    if method == "anytime":

        def decides_anytime(extra: int) -> bool:
            low, high = _confidence_sequence(rate * (n + extra), float(n + extra), confidence)
            return high < threshold if below else low > threshold

        return decides_anytime
    tail = (1.0 - confidence) / 2.0

    def decides_exact(extra: int) -> bool:
        total = float(n + extra)
        count = failures * total / n
        if below:  # high < t  <=>  1 - I_t(x + 1, n - x) < alpha/2  (1 - I_p decreases in p; it is alpha/2 at high)
            return _incomplete_beta(count + 1.0, total - count, threshold)[1] < tail
        # low > t  <=>  I_t(x, n - x + 1) < alpha/2  (I_p increases in p; it is alpha/2 at low)
        return _incomplete_beta(count, total - count + 1.0, threshold)[0] < tail

    return decides_exact


def _more_seeds(failures: int, n: int, threshold: float, confidence: float, method: str) -> int | None:
    rate = failures / n
    if rate == threshold:
        return None
    decides = _projection_decides(failures, n, threshold, confidence, method)
    # Wilson's closed form: t leaves the interval once (n + N)(p - t)^2 > z^2 t (1 - t).
    z = _z(confidence)
    needed = z * z * threshold * (1.0 - threshold) / (rate - threshold) ** 2 - n
    guess = int(min(max(needed, 1.0), float(MAX_MORE_SEEDS)))
    return _first_true(decides, guess, MAX_MORE_SEEDS)


def _first_true(decides: Callable[[int], bool], guess: int, limit: int) -> int | None:
    """The smallest ``m`` in ``[1, limit]`` with ``decides(m)``, for a predicate false at 0 that stays true once
    true; None when it is false at ``limit``.  Doubling away from ``guess``, then bisection."""
    high = min(max(guess, 1), limit)
    if decides(high):
        low = high // 2
        while low > 0 and decides(low):
            high, low = low, low // 2
    else:
        low = high
        while True:
            if high >= limit:
                return None
            high = min(2 * high, limit)
            if decides(high):
                break
            low = high
    # decides(low) is false (or low == 0), decides(high) is true
    while high - low > 1:
        middle = (low + high) // 2
        if decides(middle):
            high = middle
        else:
            low = middle
    return high


# -- comparing two recipes ------------------------------------------------------------------------------------------


def comparison_sentence(
    name_a: str, holds_a: int, n_a: int, name_b: str, holds_b: int, n_b: int, *, alpha: float = 0.05
) -> str:
    """One sentence saying what ``holds_a`` of ``n_a`` seeds against ``holds_b`` of ``n_b`` supports.

    The counts and the two-sided p-value of :func:`fisher_exact` are always given.  When ``p < alpha`` the
    sentence calls it a real difference at these numbers of seeds and says which recipe holds more often;
    otherwise it says the two are not distinguishable at these numbers of seeds, and gives no direction (a
    non-significant test is not evidence that they are the same, and the sentence does not say they are).
    """
    alpha = _open_unit("alpha", alpha, "give the test's significance level, like 0.05")
    n_a = _count("n_a", n_a, low=1, fix=f"give the number of seeds {name_a} was trained on")
    holds_a = _count("holds_a", holds_a, high=n_a, fix=f"count at most n_a={n_a} seeds")
    n_b = _count("n_b", n_b, low=1, fix=f"give the number of seeds {name_b} was trained on")
    holds_b = _count("holds_b", holds_b, high=n_b, fix=f"count at most n_b={n_b} seeds")
    p = fisher_exact(holds_a, n_a, holds_b, n_b)
    seeds = f"{n_a} seeds" if n_a == n_b else f"{n_a} and {n_b} seeds"
    head = (
        f"{name_a} holds on {holds_a}/{n_a} seeds against {holds_b}/{n_b} for {name_b} "
        f"(p={p:.2g}, Fisher's exact test)"
    )
    rate_a, rate_b = Fraction(holds_a, n_a), Fraction(holds_b, n_b)
    if p < alpha and rate_a != rate_b:
        more = name_a if rate_a > rate_b else name_b
        return f"{head}: a real difference at {seeds}, {more} holds more often"
    return f"{head}: not distinguishable at {seeds}"
