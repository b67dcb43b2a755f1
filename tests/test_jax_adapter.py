"""JAX models checked like any other: jitted functions, bound Flax linen modules and Flax NNX modules.

The jitted rules here are the hand-made rules of ``tests/handmade.py`` written again in JAX, from the pattern's own
definitions: checked through :class:`JaxModel`, each must give the very report its NumPy twin gives as a callable.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("jax")
pytest.importorskip("flax")

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import nnx  # noqa: E402

import seqcheck  # noqa: E402
from seqcheck import Pattern  # noqa: E402
from seqcheck.errors import ModelError  # noqa: E402
from seqcheck.models import as_model  # noqa: E402
from seqcheck.models.jax_model import JaxModel, batch_bucket, is_jax_model  # noqa: E402
from tests.handmade import ExactRule, StartAnchored  # noqa: E402

PATTERN, N = "11000", 10
STREAM = Pattern.parse(PATTERN)
LENGTHS = range(3, 41)  # the check's default lengths for this pattern: min context 3 to max(4 N, 40)
#: The Flax lookup modules answer symbol 1 with this logit, symbol 0 with its negative.
LOGIT = 4.0


# -- models ----------------------------------------------------------------------------------------


def lookup_table(context: int, answer, default: int) -> np.ndarray:
    """The symbol a rule answers for every content of ``context`` symbols (base-k index, most significant first):
    ``answer(phase)`` for the window of the stream at that phase, ``default`` for contents the stream never shows."""
    k = STREAM.alphabet_size
    table = np.full(k**context, default, dtype=np.int32)
    for phase in range(STREAM.period):
        table[int(np.ravel_multi_index(tuple(STREAM.window(phase, context)), (k,) * context))] = answer(phase)
    return table


def exact_table() -> tuple[np.ndarray, int]:
    """ExactRule: the symbol after the last min-context symbols (an unknown end reads as phase 0)."""
    c = STREAM.min_context
    return lookup_table(c, lambda phase: STREAM.target(phase, c), default=STREAM.symbols[0]), c


def anchored_table() -> tuple[np.ndarray, int]:
    """StartAnchored: ``s[phase + N]`` for the phase that the first symbols show (an unknown start reads as phase 0)."""
    c = ExactRule(PATTERN).context
    return lookup_table(c, lambda phase: STREAM.target(phase, N), default=STREAM.target(0, N)), c


def context_index(x, context: int, *, from_start: bool):
    """Each row's base-k index of its first or last ``context`` symbols (tokens ``(B, L)``)."""
    part = x[:, :context] if from_start else x[:, -context:]
    weights = STREAM.alphabet_size ** jnp.arange(context - 1, -1, -1, dtype=jnp.int32)
    return part @ weights


def jitted_rule(table: np.ndarray, context: int, *, from_start: bool):
    """A jitted function predicting ``table`` at each window's index, with the hand-made rules' outputs (0.98 / 0.02)."""
    symbols = jnp.asarray(table)

    def rule(x):
        predicted = symbols[context_index(x, context, from_start=from_start)]
        return jnp.where(predicted == 1, 0.98, 0.02)[:, None]

    return jax.jit(rule)


def logits_of(table: np.ndarray) -> np.ndarray:
    return np.where(table == 1, LOGIT, -LOGIT).astype(np.float32)[:, None]


class LinenLookup(nn.Module):
    """A logit per content of the window's first or last ``context`` symbols, from an ``nn.Embed`` table."""

    size: int
    context: int
    from_start: bool

    @nn.compact
    def __call__(self, x):
        return nn.Embed(self.size, 1)(context_index(x, self.context, from_start=self.from_start))


class NnxLookup(nnx.Module):
    """The same in NNX, followed by a Dropout left in training mode: the check must run it in evaluation mode."""

    def __init__(self, logits: np.ndarray, context: int, *, from_start: bool):
        rngs = nnx.Rngs(0)
        self.context, self.from_start = context, from_start
        self.table = nnx.Embed(len(logits), 1, rngs=rngs)
        self.table.embedding[...] = jnp.asarray(logits)
        self.drop = nnx.Dropout(0.5, rngs=rngs)

    def __call__(self, x):
        return self.drop(self.table(context_index(x, self.context, from_start=self.from_start)))


def bound_linen_lookup(table: np.ndarray, context: int, *, from_start: bool):
    module = LinenLookup(len(table), context, from_start)
    variables = {"params": {"Embed_0": {"embedding": jnp.asarray(logits_of(table))}}}
    return module.bind(variables), variables


# -- helpers ---------------------------------------------------------------------------------------


def seeded_variables(module: nn.Module, x) -> dict:
    """Variables for a linen module, drawn from a seeded NumPy generator in the shapes its ``init`` gives (traced
    abstractly: ``init`` itself runs for seconds on a recurrent module)."""
    rng = np.random.default_rng(0)
    shapes = jax.eval_shape(module.init, jax.random.key(0), x)
    return jax.tree.map(lambda leaf: rng.normal(0.0, 0.5, leaf.shape).astype(np.float32), shapes)


@contextlib.contextmanager
def backend_compilations():
    """Count XLA compilations while the block runs (JAX's own monitoring events)."""
    count = [0]

    def listener(event: str, duration: float, **kwargs) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            count[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield count
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


def run(model, **options):
    return seqcheck.check(model, pattern=PATTERN, train_length=N, max_examples=20, **options)


def assert_same_data(ours, theirs, path: str = "report") -> None:
    """Two reports' data are equal, floats to the last of the report's six decimals: JAX computes in float32 (and XLA's
    float32 results move in their last bits with the batch's shape), the NumPy rules in float64."""
    if isinstance(ours, float) or isinstance(theirs, float):
        assert ours == pytest.approx(theirs, abs=2e-6), path
    elif isinstance(ours, dict) and isinstance(theirs, dict):
        assert ours.keys() == theirs.keys(), path
        for key in ours:
            assert_same_data(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(ours, list) and isinstance(theirs, list):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same_data(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs, path


def host_values(tree) -> list[np.ndarray]:
    """Copies of a pytree's leaves on the host (random keys as their raw data)."""
    return [
        np.array(jax.random.key_data(leaf) if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key) else leaf)
        for leaf in jax.tree.leaves(tree)
    ]


def without_model(report) -> dict:
    """A report's data, less the model's name, description and evaluation."""
    data = report.to_dict()
    del data["model"]
    return data


def assert_start_anchored_minimum(report, *, predicted_p: float, lengths: range = LENGTHS) -> None:
    """The minimal counterexamples of the start-anchored rule, computed by hand.

    The rule predicts ``s[phase + 10] = s[phase]``; the window of length L at a phase has target ``s[phase + L]``.
    Same end, start +1: the window (L+1, phase) predicts s[phase], the window (L, phase+1) predicts s[phase+1]; they
    differ where s changes, after phases 1 and 4 of 1 1 0 0 0.  The length nearest 10 comes first: 10, phase 1.
    Alone, windows of length 10 are all right; 11 (before 9 on the tie) is wrong where s[phase] != s[phase + 1].
    """
    shift = report["phase-shift invariance"].counterexample
    assert shift.form == "label-free"
    assert (shift.length, shift.phase, shift.window.length, shift.other.length, shift.other.phase) == (10, 1, 11, 10, 2)
    assert shift.window.symbols == (1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1)
    assert (shift.window.predicted, shift.other.predicted, shift.other.expected) == (1, 0, 0)
    general = report["length generalization"]
    cx = general.counterexample
    assert (cx.length, cx.phase, cx.expected, cx.predicted) == (11, 1, 0, 1)
    assert cx.window.confidence == pytest.approx(predicted_p, abs=1e-6)
    by_residue = {0: 1.0, 1: 0.6, 2: 0.2, 3: 0.2, 4: 0.6}
    assert general.accuracy_by_length == {length: by_residue[length % 5] for length in lengths}
    assert not report.passed


# -- recognising models ----------------------------------------------------------------------------


def test_jitted_functions_and_flax_modules_are_jax_models_and_nothing_else():
    table, c = exact_table()
    bound, _ = bound_linen_lookup(table, c, from_start=False)
    assert is_jax_model(jitted_rule(table, c, from_start=False))
    assert is_jax_model(bound) and is_jax_model(LinenLookup(len(table), c, False))
    assert is_jax_model(NnxLookup(logits_of(table), c, from_start=False))
    assert is_jax_model(nnx.jit(lambda x: x))
    for other in (lambda x: x, ExactRule(PATTERN), np.zeros(3), jnp.zeros(3), "model.onnx"):
        assert not is_jax_model(other)


def test_as_model_wraps_jax_models_through_the_registry():
    table, c = exact_table()
    rule = jitted_rule(table, c, from_start=False)
    model = as_model(rule, alphabet_size=2)
    assert isinstance(model, JaxModel) and model.description == "JAX, jitted function jitted_rule.<locals>.rule"
    assert isinstance(as_model(NnxLookup(logits_of(table), c, from_start=False), alphabet_size=2), JaxModel)
    assert not isinstance(as_model(lambda x: x, alphabet_size=2), JaxModel)  # a plain function stays a callable
    with pytest.raises(ModelError, match=r"^model LinenLookup: is an unbound Flax linen module"):
        as_model(LinenLookup(len(table), c, False), alphabet_size=2)


# -- jitted functions: the same reports as their NumPy twins ----------------------------------------


@pytest.fixture(scope="module")
def anchored_run():
    """The jitted start-anchored rule checked once over lengths 3..40, counting compilations as it runs."""
    model = JaxModel(jitted_rule(*anchored_table(), from_start=True), alphabet_size=2, name="StartAnchored")
    with backend_compilations() as compiled:
        report = run(model)
    return model, report, compiled[0]


@pytest.mark.slow
def test_a_jitted_start_anchored_rule_fails_at_the_hand_computed_minimum(anchored_run):
    _, report, _ = anchored_run
    assert_start_anchored_minimum(report, predicted_p=0.98)
    assert report.to_dict()["model"]["description"] == "JAX, jitted function StartAnchored"


@pytest.mark.slow
def test_a_jitted_rule_gives_the_report_of_its_numpy_twin(anchored_run):
    _, report, _ = anchored_run
    assert_same_data(without_model(report), without_model(run(StartAnchored(PATTERN, N))))


@pytest.mark.slow
def test_the_jitted_exact_rule_passes_with_the_report_of_its_numpy_twin():
    report = run(JaxModel(jitted_rule(*exact_table(), from_start=False), alphabet_size=2), max_length=20)
    assert report.passed, report.render()
    assert_same_data(without_model(report), without_model(run(ExactRule(PATTERN), max_length=20)))


@pytest.mark.slow
def test_a_whole_check_compiles_a_few_functions_per_length_not_one_per_batch_size(anchored_run):
    model, _, compiled = anchored_run
    # One bucket per length for the sweeps, the probe's, and the exact batches batch invariance draws (max_examples=20).
    assert model.compile_count <= 2 * len(LENGTHS)
    assert compiled == model.compile_count  # XLA's own count


def test_batches_are_padded_to_power_of_two_buckets_and_native_calls_are_not():
    model = JaxModel(jitted_rule(*exact_table(), from_start=False), alphabet_size=2)
    windows = np.tile(STREAM.windows(7), (8, 1))  # 40 windows
    with backend_compilations() as compiled:
        padded = [model.predict_proba(windows[:size]) for size in range(1, 41)]
    assert [batch_bucket(size) for size in (1, 5, 8, 9, 17, 33, 64, 65)] == [8, 8, 8, 16, 32, 64, 64, 128]
    assert model.compile_count == compiled[0] == 4  # batches of 8, 16, 32 and 64 windows
    with backend_compilations() as compiled:
        native = [model.predict_proba(windows[:size], native=True) for size in range(1, 6)]
    assert compiled[0] == 5 and model.compile_count == 9  # one per exact batch size
    for size, (a, b) in enumerate(zip(padded, native), start=1):
        assert a.shape == b.shape == (size, 2)
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_padding_does_not_change_a_report(monkeypatch):
    """A model computing floats in earnest (embedding, dense layer, mean over time): padded and exact batches give the
    same report (probabilities to float32 precision)."""

    class Averaged(nn.Module):
        @nn.compact
        def __call__(self, x):
            h = jnp.tanh(nn.Dense(8)(nn.Embed(2, 8)(x)))
            return nn.Dense(1)(h.mean(axis=1))

    module = Averaged()
    variables = seeded_variables(module, jnp.zeros((1, 5), jnp.int32))
    padded = JaxModel(module.bind(variables), alphabet_size=2)
    exact = JaxModel(module.bind(variables), alphabet_size=2)
    monkeypatch.setattr(exact, "_call", exact._call_native)
    options = dict(max_length=12, invariants=[seqcheck.length_generalization, seqcheck.phase_shift_invariance])
    assert_same_data(run(padded, **options).to_dict(), run(exact, **options).to_dict())


# -- Flax modules -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_bound_linen_module_is_checked_and_its_variables_are_untouched():
    table, c = exact_table()
    bound, variables = bound_linen_lookup(table, c, from_start=False)
    before = jax.tree.leaves(variables)
    copies = [np.array(leaf) for leaf in before]
    model = JaxModel(bound, alphabet_size=2)
    assert (model.name, model.description, model.encoding) == ("LinenLookup", "Flax, LinenLookup", "tokens")
    report = run(model, max_length=20)
    assert report.passed, report.render()
    assert "outputs read as logits" in " ".join(report.notes)
    after = jax.tree.leaves(variables)
    assert all(a is b for a, b in zip(before, after, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(copies, after))
    assert bound.variables["params"]["Embed_0"]["embedding"] is before[0]


@pytest.mark.slow
def test_an_nnx_module_is_checked_in_evaluation_mode_and_left_as_it_was():
    table, c = anchored_table()
    module = NnxLookup(logits_of(table), c, from_start=True)
    before = host_values(nnx.state(module))
    model = JaxModel(module, alphabet_size=2)
    assert model.notes == [
        "model NnxLookup holds Dropout in training mode; seqcheck calls a copy in evaluation mode (Module.eval()),"
        " the module itself is untouched"
    ]
    report = run(model, max_length=20)
    assert_start_anchored_minimum(report, predicted_p=float(1 / (1 + np.exp(-LOGIT))), lengths=range(3, 21))
    assert module.drop.deterministic is False
    after = host_values(nnx.state(module))  # its random stream's key and counter included
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_an_unbound_linen_module_is_a_one_line_error_saying_how_to_bind_it():
    table, c = exact_table()
    with pytest.raises(ModelError) as info:
        JaxModel(LinenLookup(len(table), c, False), alphabet_size=2)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("model LinenLookup: is an unbound Flax linen module")
    assert "module.bind(variables)" in message and "functools.partial(module.apply, variables)" in message


class Recurrent(nn.Module):
    """LSTM(4) over the window, then a sigmoid: the seed network's shape, on whatever inputs its kernels take."""

    @nn.compact
    def __call__(self, x):
        return nn.sigmoid(nn.Dense(1)(nn.RNN(nn.LSTMCell(4))(x)[:, -1]))


class NnxDense(nnx.Module):
    def __init__(self, features: int):
        self.dense = nnx.Linear(features, 1, rngs=nnx.Rngs(0))

    def __call__(self, x):
        return self.dense(x).mean(axis=1)


def test_a_modules_input_layout_is_the_one_it_can_be_traced_with():
    table, c = exact_table()
    bound, _ = bound_linen_lookup(table, c, from_start=False)
    assert JaxModel(bound, alphabet_size=2).encoding == "tokens"
    scalar = Recurrent().bind(seeded_variables(Recurrent(), jnp.zeros((1, 4, 1))))
    model = JaxModel(scalar, alphabet_size=2)
    assert model.encoding == "scalar"
    assert model.notes == [
        "input layout scalar (batch, time, 1) float32: the only layout that model Recurrent can be traced with;"
        " pass encoding= to say otherwise"
    ]
    assert model.predict_proba(STREAM.windows(6)).shape == (5, 2)
    assert JaxModel(NnxDense(3), alphabet_size=3).encoding == "onehot"
    assert JaxModel(NnxDense(1), alphabet_size=3).encoding == "scalar"
    assert JaxModel(NnxDense(3), alphabet_size=3, encoding="scalar").encoding == "scalar"  # the user's word wins
    assert JaxModel(jax.jit(lambda x: x[:, -1:]), alphabet_size=2).encoding == "tokens"  # a function: tokens


def test_a_module_that_takes_no_layout_is_a_one_line_error():
    with pytest.raises(ModelError) as info:
        JaxModel(NnxDense(7), alphabet_size=2)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        "model NnxDense: takes none of the input layouts seqcheck feeds (with tokens (batch, time) int32 it raised"
    )
    assert message.endswith("pass encoding= to see the error of the layout it should take")


# -- errors, causality ------------------------------------------------------------------------------


def test_a_function_that_raises_or_returns_a_tuple_is_a_one_line_error():
    windows = STREAM.windows(6)
    with pytest.raises(ModelError) as info:
        JaxModel(jax.jit(lambda x: x @ jnp.ones((3, 1))), alphabet_size=2, name="wide").predict_proba(windows)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("model wide raised TypeError: dot_general requires contracting dimensions")
    assert message.endswith("on a batch of shape (8, 6); fix the model or pass encoding= to feed it the layout it expects")
    with pytest.raises(ModelError, match=r"^model pair returned a tuple for a batch of shape \(8, 6\), expected one"):
        JaxModel(jax.jit(lambda x: (x[:, -1:], x)), alphabet_size=2, name="pair").predict_proba(windows)


@pytest.mark.slow
def test_a_jax_model_shares_prefixes_only_on_the_users_word():
    table, c = exact_table()
    symbols = jnp.asarray(table)

    @jax.jit
    def per_step(x):
        """The exact rule read out at every step: (B, L, 1)."""
        padded = jnp.pad(x, ((0, 0), (c - 1, 0)))
        length = x.shape[1]
        index = sum(padded[:, j : j + length] * STREAM.alphabet_size ** (c - 1 - j) for j in range(c))
        return jnp.where(symbols[index] == 1, 0.98, 0.02)[..., None]

    assert "only when declared causal (causal='yes')" in JaxModel(per_step, alphabet_size=2).causal_reason
    report = run(JaxModel(per_step, alphabet_size=2, causal="yes"), max_length=20)
    assert report.passed, report.render()
    assert report.evaluation["prefix_sharing"] is True
    assert report.evaluation["prefix_reason"].startswith("declared causal")


def test_importing_seqcheck_imports_no_jax_or_flax():
    code = (
        "import sys, numpy as np, seqcheck\n"
        "seqcheck.check(lambda x: np.full((len(x), 1), 0.5), pattern='11000', train_length=10, max_examples=2)\n"
        "print(sorted(m for m in ('jax', 'flax', 'jaxlib') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "[]"
