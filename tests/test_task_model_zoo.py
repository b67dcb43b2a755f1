"""A zoo of Keras models and callables seqcheck has never seen, checked on sequence tasks against a ground truth.

Every model here is untrained (seeded) or has hand-set weights.  The ground truth is computed independently of
seqcheck: the model is called on *every* input of each length of the range (eagerly, in Keras's own framework),
its arg-max compared with the task's oracle.  A check must agree with it: the verdict, the minimal
counterexample (the first wrong input in shortlex order, when the report says it is confirmed minimal), and the
accuracy at every length whose inputs are all evaluated.  Models seqcheck cannot check must be refused with one
line, a :class:`~seqcheck.errors.SeqcheckError`, never another exception's traceback.

Hand-set models count symbols exactly: an ``Embedding(k, 1)`` holding each symbol's value feeds a linear
``SimpleRNN(1)`` whose kernel and recurrent weight are 1, so its state is the running sum; a ``Dense`` ReLU layer
then builds one triangular bump per sum value ``v`` of a chosen range (``relu(s-v+1) - 2 relu(s-v) + relu(s-v-1)``
is 1 at ``s = v`` and 0 at every other integer), and the head maps each bump to ``v``'s class.  Beyond the range no
bump fires, so the model is right exactly where the range covers the sum: the first wrong input is known.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import seqcheck  # noqa: E402
from seqcheck.errors import ModelError, SeqcheckError  # noqa: E402
from seqcheck.search.evaluation import INVALID  # noqa: E402
from seqcheck.tasks import SequenceTask, resolve_task  # noqa: E402

layers = keras.layers
LG = "length_generalization"


# -- the ground truth ------------------------------------------------------------------------------


def keras_outputs(model, encoding: str = "tokens", symbols: int = 2):
    """The model's own outputs for an int batch ``(B, L)``, called eagerly (``model.predict`` mis-runs TimeDistributed)."""

    def call(batch: np.ndarray) -> np.ndarray:
        x = batch.astype(np.int32) if encoding == "tokens" else np.eye(symbols, dtype=np.float32)[batch]
        return np.concatenate([
            np.asarray(keras.ops.convert_to_numpy(model(x[i : i + 4096], training=False)), dtype=np.float64)
            for i in range(0, len(x), 4096)
        ])

    return call


def ground_truth(outputs, task, lengths, *, kind: str = "probabilities"):
    """``(first wrong input in shortlex order or None, accuracy by length)`` of every input of ``lengths``.

    ``outputs`` maps a batch to the model's raw output; ``kind`` says how a one-column output reads (a probability
    or a logit of class 1).  A row holding NaN or infinity is wrong."""
    first, accuracy = None, {}
    for length in lengths:
        if not task.valid_length(length):
            continue
        inputs = np.concatenate(list(task.enumerate(length)))
        out = np.asarray(outputs(inputs), dtype=np.float64)
        if out.ndim == 3:  # per-step outputs: the last step counts
            out = out[:, -1]
        if out.ndim == 1:
            out = out[:, None]
        if out.shape[1] == 1:
            predicted = (out[:, 0] > (0.5 if kind == "probabilities" else 0.0)).astype(np.int64)
        else:
            predicted = np.argmax(out, axis=1)
        bad = ~np.isfinite(out).all(axis=1) | (predicted != task.targets(inputs))
        accuracy[length] = 1.0 - float(bad.mean())
        if first is None and bad.any():
            first = tuple(int(s) for s in inputs[int(np.argmax(bad))])
    return first, accuracy


def assert_agrees(report, outputs, task, lengths, *, kind: str = "probabilities"):
    """The report's length generalization agrees with the ground truth: verdict, confirmed-minimal counterexample,
    and the accuracy at every length whose inputs are all in the accuracy table."""
    first, accuracy = ground_truth(outputs, task, lengths, kind=kind)
    result = report[LG]
    assert result.status == ("pass" if first is None else "fail")
    if first is not None:
        form = result.failing_form
        assert form.minimal_confirmed and form.length_confirmed
        assert form.counterexample.window.symbols == first
        assert form.counterexample.window.expected == task.target(first)
    else:
        assert all(form.exhaustive_through == max(accuracy) for form in result.forms)
    for length, value in result.accuracy_by_length.items():
        if task.count(length) <= 128:  # evaluated whole, not sampled
            assert value == pytest.approx(accuracy[length], abs=1e-12), length
    return first


# -- models ----------------------------------------------------------------------------------------


def chain(*stack, shape=(None,), dtype="int32", seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape, dtype=dtype)
    x = inputs
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x)


def counter(values):
    """``(inputs, s)``: ``s`` the sum of each symbol's value in ``values`` over the input, exactly."""
    inputs = keras.Input((None,), dtype="int32")
    embedding, rnn = layers.Embedding(len(values), 1), layers.SimpleRNN(1, activation="linear")
    s = rnn(embedding(inputs))
    embedding.set_weights([np.asarray(values, dtype=np.float32)[:, None]])
    rnn.set_weights([np.ones((1, 1), np.float32), np.ones((1, 1), np.float32), np.zeros(1, np.float32)])
    return inputs, s


def bump_head(s, points, column_weight, width: int, activation: str, bias: np.ndarray):
    """A Dense(3 * len(points), relu) -> Dense(width, activation) head: bump ``v`` adds ``column_weight(v)`` (a row of
    ``width``) to the logits when ``s == v``."""
    points = list(points)
    hidden, out = layers.Dense(3 * len(points), activation="relu"), layers.Dense(width, activation=activation)
    y = out(hidden(s))
    w, b = np.ones((1, 3 * len(points)), np.float32), np.zeros(3 * len(points), np.float32)
    kernel = np.zeros((3 * len(points), width), np.float32)
    for j, v in enumerate(points):
        for k, (offset, coefficient) in enumerate([(1 - v, 1.0), (-v, -2.0), (-1 - v, 1.0)]):
            b[3 * j + k] = offset
            kernel[3 * j + k] = coefficient * np.asarray(column_weight(v), dtype=np.float32)
    hidden.set_weights([w, b])
    out.set_weights([kernel, bias.astype(np.float32)])
    return y


def cycle_model(low: int, high: int, activation: str = "softmax"):
    """Cycle navigation, right while the position sum lies in ``low..high``; beyond it, class 0."""
    inputs, s = counter([-1, 0, 1])
    bias = np.zeros(5)
    bias[0] = 0.1
    return keras.Model(inputs, bump_head(s, range(low, high + 1), lambda v: 10.0 * np.eye(5)[v % 5], 5, activation, bias))


def parity_model(highest: int, head: str):
    """Parity, right while the number of 1s is at most ``highest``; ``head`` "sigmoid" or "linear" is a Dense(1) head
    (the probability or the logit of odd), anything else a Dense(2, head)."""
    inputs, s = counter([0, 1])
    points = range(highest + 1)
    if head in ("sigmoid", "linear"):
        y = bump_head(s, points, lambda v: [10.0 if v % 2 else -10.0], 1, head, np.array([-0.1]))
    else:
        y = bump_head(s, points, lambda v: 10.0 * np.eye(2)[v % 2], 2, head, np.array([0.1, 0.0]))
    return keras.Model(inputs, y)


# -- untrained architectures on modular arithmetic --------------------------------------------------

MODULAR = resolve_task("modular-arithmetic")

ARCHITECTURES = {
    "embedding-gru-softmax": lambda: (layers.Embedding(8, 8), layers.GRU(8), layers.Dense(5, activation="softmax")),
    "embedding-simplernn-logits": lambda: (layers.Embedding(8, 8), layers.SimpleRNN(8), layers.Dense(5)),
    "embedding-lstm-log-softmax": lambda: (layers.Embedding(8, 8), layers.LSTM(8), layers.Dense(5, activation="log_softmax")),
    "stacked-gru-lstm": lambda: (
        layers.Embedding(8, 8), layers.GRU(8, return_sequences=True), layers.LSTM(8), layers.Dense(5, activation="softmax"),
    ),
    "bidirectional-gru": lambda: (layers.Embedding(8, 8), layers.Bidirectional(layers.GRU(4)), layers.Dense(5, activation="softmax")),
    "conv1d-global-max-pooling": lambda: (
        layers.Embedding(8, 8), layers.Conv1D(8, 3, padding="same"), layers.GlobalMaxPooling1D(), layers.Dense(5, activation="softmax"),
    ),
    "per-step-time-distributed": lambda: (
        layers.Embedding(8, 8), layers.LSTM(8, return_sequences=True), layers.TimeDistributed(layers.Dense(5, activation="softmax")),
    ),
    "per-step-dense": lambda: (layers.Embedding(8, 8), layers.GRU(8, return_sequences=True), layers.Dense(5)),
    "masking-after-embedding": lambda: (layers.Embedding(8, 4), layers.Masking(0.0), layers.GRU(4), layers.Dense(5, activation="softmax")),
    "embedding-mask-zero-lstm": lambda: (layers.Embedding(8, 4, mask_zero=True), layers.LSTM(4), layers.Dense(5, activation="softmax")),
}


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_untrained_architectures_on_modular_arithmetic_agree_with_the_ground_truth(architecture):
    """Each untrained architecture's verdict, minimal counterexample and accuracy equal those of every input of
    lengths 1, 3, 5 evaluated in Keras, whichever engine (NumPy translation or Keras) the check used."""
    model = chain(*ARCHITECTURES[architecture](), seed=3)
    report = seqcheck.check(model, task="modular-arithmetic", max_length=5, invariants=[LG])
    assert report.model_engine in ("numpy", "keras")
    assert sorted(report[LG].accuracy_by_length) == [1, 3, 5]  # odd lengths only
    kind = "logits" if architecture in ("embedding-simplernn-logits", "per-step-dense") else "probabilities"
    assert_agrees(report, keras_outputs(model), MODULAR, range(1, 6), kind=kind)


def test_translated_models_are_checked_by_the_numpy_engine():
    """The chains of supported layers are translated (and verified); the others run through Keras."""
    engines = {}
    for architecture in ("embedding-gru-softmax", "per-step-time-distributed", "bidirectional-gru", "masking-after-embedding"):
        model = chain(*ARCHITECTURES[architecture](), seed=3)
        engines[architecture] = seqcheck.check(model, task="modular-arithmetic", max_length=1, invariants=[LG]).model_engine
    assert engines == {
        "embedding-gru-softmax": "numpy", "per-step-time-distributed": "numpy", "bidirectional-gru": "keras",
        "masking-after-embedding": "keras",
    }


# -- hand-set models: known first wrong inputs -----------------------------------------------------


@pytest.mark.slow
def test_hand_set_cycle_navigation_full_battery():
    """Right while the position lies in -6..3: the first wrong input is ``+1 +1 +1 +1`` (position 4, the last input
    of length 4); the model sums its moves, so it is permutation invariant and a stay changes nothing: the
    metamorphic relations hold while the oracle fails."""
    task = resolve_task("cycle-navigation")
    model = cycle_model(-6, 3)
    report = seqcheck.check(model, task="cycle-navigation", max_length=8)
    assert report.model_engine == "numpy"
    first = assert_agrees(report, keras_outputs(model), task, range(1, 9))
    assert first == (2, 2, 2, 2)
    assert report[LG].accuracy_by_length[4] == pytest.approx(80 / 81)
    assert {r.name: r.status for r in report.results} == {
        "phase_shift_invariance": "not applicable", "length_generalization": "fail", "periodic_consistency": "not applicable",
        "batch_invariance": "pass", "metamorphic_relations": "pass",
    }
    metamorphic = report["metamorphic_relations"].forms
    assert metamorphic and all(form.exhaustive_through is not None for form in metamorphic)
    assert "input +1 +1 +1 +1   (length 4)  -> predicted 0" in report.render()


@pytest.mark.parametrize("activation", ["log_softmax", "linear"])
def test_hand_set_cycle_navigation_other_heads(activation):
    """A log-softmax head and a logits head give the same verdicts as the softmax one."""
    task = resolve_task("cycle-navigation")
    model = cycle_model(-6, 3, activation)
    report = seqcheck.check(model, task="cycle-navigation", max_length=6, invariants=[LG])
    assert assert_agrees(report, keras_outputs(model), task, range(1, 7)) == (2, 2, 2, 2)


@pytest.mark.parametrize("head, kind", [("sigmoid", "probabilities"), ("linear", "logits")])
def test_hand_set_parity_binary_head(head, kind):
    """A Dense(1) head (a sigmoid probability, or a logit) on parity: right while at most five 1s, so the first wrong
    input is seven 1s (six 1s are even, and beyond the range the model says even)."""
    task = resolve_task("parity")
    model = parity_model(5, head)
    report = seqcheck.check(model, task="parity", max_length=10, invariants=[LG])
    assert assert_agrees(report, keras_outputs(model), task, range(1, 11), kind=kind) == (1,) * 7


def test_hand_set_exact_parity_passes_exhaustively():
    """Exact through 20 ones: every input of lengths 1..12 is right, and the report says so exhaustively."""
    task = resolve_task("parity")
    model = parity_model(20, "softmax")
    report = seqcheck.check(model, task="parity", max_length=12, invariants=[LG])
    assert assert_agrees(report, keras_outputs(model), task, range(1, 13)) is None
    assert report.passed


# -- lengths: a fixed input length, a positional embedding ------------------------------------------


def test_a_length_rigid_model_is_checked_at_its_length_only():
    """``keras.Input((12, 2))`` -> Flatten: one-hot inputs of length 12 only; every one of the 4096 is checked."""
    task = resolve_task("parity")
    model = chain(layers.Flatten(), layers.Dense(2, activation="softmax"), shape=(12, 2), dtype="float32", seed=5)
    report = seqcheck.check(model, task="parity", max_length=12, invariants=[LG])
    assert list(report[LG].accuracy_by_length) == [12]
    assert any("length-rigid" in note and "length 12" in note for note in report.notes)
    first, accuracy = ground_truth(keras_outputs(model, "onehot"), task, [12])
    result = report[LG]
    assert result.status == ("pass" if first is None else "fail")
    assert result.failing_form.counterexample.window.symbols == first and result.failing_form.minimal_confirmed


def test_a_length_rigid_model_outside_the_range_is_one_line():
    model = chain(layers.Flatten(), layers.Dense(2, activation="softmax"), shape=(12, 2), dtype="float32")
    with pytest.raises(ModelError) as caught:
        seqcheck.check(model, task="parity", max_length=10)
    message = str(caught.value)
    assert "\n" not in message
    assert "length-rigid" in message and "inputs of length 12" in message and "1..10 of task parity" in message


def test_a_fixed_time_dimension_with_a_recurrent_layer_is_rebuilt_for_every_length():
    task = resolve_task("parity")
    model = chain(layers.GRU(4), layers.Dense(2, activation="softmax"), shape=(12, 2), dtype="float32", seed=6)
    report = seqcheck.check(model, task="parity", max_length=6, invariants=[LG])
    assert any("rebuilt with a free time dimension" in note for note in report.notes)
    free = chain(layers.GRU(4), layers.Dense(2, activation="softmax"), shape=(None, 2), dtype="float32", seed=7)
    free.set_weights(model.get_weights())
    assert_agrees(report, keras_outputs(free, "onehot"), task, range(1, 7))


def positional_model(positions: int = 20):
    """Token plus position embeddings (positions from a cumulative sum of ones: stock layers and ops only)."""
    keras.utils.set_random_seed(8)
    inputs = keras.Input((None,), dtype="int32")
    position = keras.ops.cumsum(keras.ops.ones_like(inputs), axis=1) - 1
    x = layers.Embedding(8, 4)(inputs) + layers.Embedding(positions, 4)(position)
    y = layers.Dense(5, activation="softmax")(layers.GlobalAveragePooling1D()(x))
    return keras.Model(inputs, y)


def test_a_positional_embedding_within_its_positions_agrees_with_the_ground_truth():
    model = positional_model()
    report = seqcheck.check(model, task="modular-arithmetic", max_length=5, invariants=[LG])
    assert_agrees(report, keras_outputs(model), MODULAR, range(1, 6))


def test_a_positional_embedding_beyond_its_positions_is_a_one_line_model_error():
    """Length 21 indexes position 20 of a 20-row table: TensorFlow refuses, and seqcheck says so in one line, with
    the longest length it ran on and the fix."""
    with pytest.raises(ModelError) as caught:
        seqcheck.check(positional_model(), task="modular-arithmetic", max_length=23, invariants=[LG])
    message = str(caught.value)
    assert "\n" not in message and "function_node" not in message
    assert "raised InvalidArgumentError" in message and "is not in [0, 20)" in message and ", 21)" in message
    assert message.endswith("it ran on length 19, so it may take nothing longer: pass max_length=19 or a length it accepts")


# -- outputs seqcheck cannot read ------------------------------------------------------------------


def test_two_outputs_are_one_line():
    keras.utils.set_random_seed(9)
    inputs = keras.Input((None,), dtype="int32")
    h = layers.GRU(4)(layers.Embedding(8, 4)(inputs))
    for outputs in ([layers.Dense(5, activation="softmax")(h), layers.Dense(5)(h)], {"a": layers.Dense(5)(h), "b": layers.Dense(5)(h)}):
        with pytest.raises(ModelError) as caught:
            seqcheck.check(keras.Model(inputs, outputs), task="modular-arithmetic", max_length=5)
        assert "\n" not in str(caught.value) and "has 2 outputs, expected exactly 1" in str(caught.value)


@pytest.mark.parametrize("width", [1, 3, 8])
def test_an_output_width_that_is_not_the_tasks_classes_is_one_line(width):
    model = chain(layers.Embedding(8, 4), layers.GRU(4), layers.Dense(width, activation="softmax" if width > 1 else "sigmoid"))
    with pytest.raises(ModelError) as caught:
        seqcheck.check(model, task="modular-arithmetic", max_length=5)
    message = str(caught.value)
    assert "\n" not in message
    assert f"output width={width}: expected 5 (one per class of task modular-arithmetic)" in message


def test_a_per_step_output_of_the_wrong_width_is_one_line():
    model = chain(layers.Embedding(3, 4), layers.LSTM(4, return_sequences=True), layers.TimeDistributed(layers.Dense(3)))
    with pytest.raises(ModelError) as caught:
        seqcheck.check(model, task="cycle-navigation", max_length=5)
    assert "output width=3: expected 5 (one per class of task cycle-navigation)" in str(caught.value)


# -- callables -------------------------------------------------------------------------------------


def nan_when_first_is_one(batch):
    """Exact parity, except NaN for inputs of length 3 or more that start with a 1."""
    out = np.eye(2)[batch.sum(axis=1) % 2]
    out[(batch[:, 0] == 1) & (batch.shape[1] >= 3)] = np.nan
    return out


def test_a_callable_returning_nan_fails_at_the_first_nan_input():
    task = resolve_task("parity")
    report = seqcheck.check(nan_when_first_is_one, task="parity", max_length=8, invariants=[LG])
    assert assert_agrees(report, nan_when_first_is_one, task, range(1, 9)) == (1, 0, 0)
    window = report[LG].failing_form.counterexample.window
    assert window.predicted == INVALID
    assert "input 1 0 0   (length 3)  -> predicted nothing (non-finite output); expected odd" in report.render()


def test_a_one_dimensional_binary_callable():
    """Outputs ``(B,)``: the probability of class 1, wrong from length 6 on where the input ends in a 1."""
    task = resolve_task("parity")

    def binary(batch):
        return (batch.sum(axis=1) % 2) * 0.8 + 0.1 - (batch.shape[1] > 5) * (batch[:, -1] == 1) * 0.8

    report = seqcheck.check(binary, task="parity", max_length=8, invariants=[LG])
    assert assert_agrees(report, binary, task, range(1, 9)) == (0, 0, 0, 0, 0, 1)


@pytest.mark.parametrize("error", [RuntimeError("too long\nsecond line"), KeyError("k")])
def test_a_callable_raising_on_long_inputs_is_one_line(error):
    def model(batch):
        if batch.shape[1] > 6:
            raise error
        return np.eye(2)[batch.sum(axis=1) % 2]

    with pytest.raises(ModelError) as caught:
        seqcheck.check(model, task="parity", max_length=8)
    message = str(caught.value)
    assert "\n" not in message
    assert f"raised {type(error).__name__}" in message and ", 7)" in message and "second line" not in message


# -- a user's task with constraints on its inputs ---------------------------------------------------


def _first_symbol_then_any(length):
    from hypothesis import strategies as st

    head = st.sampled_from([0, 1]).map(lambda s: [s])
    return head.flatmap(lambda h: st.lists(st.integers(0, 2), min_size=length - 1, max_size=length - 1).map(lambda t: h + t))


#: Symbols a b c; the first is a or b; even lengths only; the class is the number of c's mod 3.
TWOS = SequenceTask(
    "twos", symbols=["a", "b", "c"], classes=["0", "1", "2"], target=lambda seq: seq.count(2) % 3,
    alphabet_at=lambda position, length: (0, 1) if position == 0 else (0, 1, 2),
    valid_length=lambda length: length % 2 == 0, inputs=_first_symbol_then_any,
)


def twos_model(batch):
    """Right while at most three c's (then it says 0), and wrong from length 6 on for inputs b ... a."""
    count = (batch == 2).sum(axis=1)
    predicted = np.where(count <= 3, count % 3, 0)
    predicted = np.where((batch[:, 0] == 1) & (batch.shape[1] >= 6) & (batch[:, -1] == 0), (predicted + 1) % 3, predicted)
    return np.eye(3)[predicted]


def test_a_users_constrained_task_agrees_with_the_ground_truth():
    """Only valid inputs are fed (first symbol a or b, even lengths), and the minimum is the shortlex-first wrong one."""
    seen = []

    def recording(batch):
        seen.append(np.array(batch))
        return twos_model(batch)

    report = seqcheck.check(recording, task=TWOS, max_length=8)
    assert sorted(report[LG].accuracy_by_length) == [2, 4, 6, 8]
    assert assert_agrees(report, twos_model, TWOS, range(1, 9)) == (0, 0, 2, 2, 2, 2)
    assert "input a a c c c c   (length 6)  -> predicted 0 (p=1.00); expected 1" in report.render()
    # Every call but the first (the adapter's warm-up probe of random tokens) holds inputs of the task only.
    assert all(batch.shape[1] % 2 == 0 and (batch[:, 0] != 2).all() for batch in seen[1:])


def test_every_error_of_the_zoo_is_a_seqcheck_error():
    """The refusals above are :class:`SeqcheckError` s (the CLI prints them in one line, exit 2)."""
    assert issubclass(ModelError, SeqcheckError)
