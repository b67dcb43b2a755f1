"""The model under test as seqcheck sees it: windows of symbols in, next-symbol probabilities out.

Every adapter (a Keras model, a plain Python callable) turns its framework's calling convention into
one method, :meth:`ModelUnderTest.predict_proba`, which takes a batch of windows as an integer array
of shape ``(B, L)`` and returns an array of shape ``(B, k)``: the probability of each symbol of the
alphabet ``{0..k-1}`` being the window's target.

Input encodings (what the model is fed):

- ``"scalar"``  -- one float feature per step, ``(B, L, 1)``: the seed's set-up.
- ``"onehot"``  -- one-hot vectors, ``(B, L, k)``.
- ``"tokens"``  -- integer symbols, ``(B, L)``.

Outputs understood: ``(B,)`` or ``(B, 1)`` (binary: the probability, logit or log-probability of
symbol 1), ``(B, k)`` (probabilities, logits or log-probabilities), and per-step outputs
``(B, L, 1)`` / ``(B, L, k)`` whose last step predicts the target.

The output kind is decided once per model, never per batch: from what the user says (``output=``),
else from the model (a Keras model's last activation), else from the values of the first batch the
model returns, which :meth:`ModelUnderTest.warm_up` makes a probe of random windows (see
:func:`infer_output_kind`).  A kind inferred from values is stated in the report's notes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np

from seqcheck.errors import ModelError, invalid
from seqcheck.spelling import spell

Encoding = Literal["scalar", "onehot", "tokens"]
OutputKind = Literal["auto", "probabilities", "logits", "log-probabilities"]
ENCODINGS: tuple[str, ...] = ("scalar", "onehot", "tokens")
#: ``engine=`` values for Keras models: ``"auto"`` uses a NumPy translation when it exists and agrees with the model.
ENGINES: tuple[str, ...] = ("auto", "numpy", "keras")
OUTPUT_KINDS: tuple[str, ...] = ("auto", "probabilities", "logits", "log-probabilities")
#: ``causal=`` values: ``"auto"`` shares prefixes where the adapter proves the model causal, ``"yes"`` is the user's
#: word that it is (its per-step outputs are the predictions of every prefix), ``"no"`` evaluates window by window.
CAUSAL_CHOICES: tuple[str, ...] = ("auto", "yes", "no")


def check_encoding(encoding: str) -> str:
    if encoding not in ENCODINGS:
        raise invalid("encoding", encoding, f"one of {', '.join(ENCODINGS)}", "pick the input layout your model takes")
    return encoding


#: Windows whose two most probable classes are closer than this are decided by the model itself on the whole window
#: wherever a faster evaluation (a translation, a prefix pass) computed them: it makes a flipped decision rarer; it
#: cannot rule one out, and every verdict a report shows is confirmed (:mod:`seqcheck.search.confirmation`).
DECISION_MARGIN = 1e-4


def near_ties(probs: np.ndarray) -> np.ndarray:
    """Which rows of probabilities ``(B, k)`` are too close to call (:data:`DECISION_MARGIN`) or not finite."""
    finite = np.isfinite(probs).all(axis=1)
    top = np.sort(np.where(finite[:, None], probs, 0.0), axis=1)[:, -2:]
    return ~finite | (top[:, 1] - top[:, 0] < DECISION_MARGIN)


def resolve_encoding(label: str, shape: tuple, encoding: str | None, alphabet_size: int) -> str:
    """The input layout that a model's declared input ``shape`` ``(batch, time[, features])`` takes: ``encoding`` if given
    (checked against the shape), else read from the shape: ``(B, L)`` tokens, ``(B, L, 1)`` scalars, ``(B, L, k)``
    one-hot.  ``label`` names the model in errors (``"model m.onnx"``)."""
    rank = len(shape)
    if encoding is None:
        if rank == 2:
            encoding = "tokens"
        elif rank == 3 and shape[-1] == 1:
            encoding = "scalar"
        elif rank == 3 and shape[-1] == alphabet_size:
            encoding = "onehot"
        else:
            raise ModelError(
                f"{label}: input shape={shape}: expected (batch, time) integer tokens, (batch, time, 1) scalars"
                f" or (batch, time, {alphabet_size}) one-hot vectors; pass {spell('encoding', 'tokens')}, {spell('encoding', 'scalar')} or {spell('encoding', 'onehot')}"
                f" or check alphabet_size"
            )
    else:
        expected = {"tokens": (2, None), "scalar": (3, 1), "onehot": (3, alphabet_size)}[encoding]
        fits = rank == expected[0] and (expected[1] is None or shape[-1] in (None, expected[1]))
        if not fits:
            want = {"tokens": "(batch, time)", "scalar": "(batch, time, 1)", "onehot": f"(batch, time, {alphabet_size})"}[encoding]
            raise ModelError(
                f"{label}: input shape={shape} does not fit encoding={encoding!r}, expected {want};"
                f" pass the encoding that matches the model's input or leave encoding=None to detect it"
            )
    return encoding


def check_alphabet_size(alphabet_size: object) -> int:
    """``alphabet_size`` as an int, or a one-line error unless it is an integer of at least 2."""
    if isinstance(alphabet_size, bool) or not isinstance(alphabet_size, (int, np.integer)) or alphabet_size < 2:
        raise invalid("alphabet_size", alphabet_size, "an integer >= 2", "pass the number of symbols of the pattern's alphabet")
    return int(alphabet_size)


#: Why a model declared causal by its user is treated so (for the report).
DECLARED_CAUSAL = "declared causal: its per-step outputs are read as the predictions of every prefix"


def check_causal(causal: str) -> str:
    if causal not in CAUSAL_CHOICES:
        raise invalid(
            "causal", causal, f"one of {', '.join(CAUSAL_CHOICES)}",
            "leave it auto, say yes for a model whose per-step outputs predict every prefix, or no to evaluate window by window",
        )
    return causal


def check_output_kind(output: str) -> str:
    if output not in OUTPUT_KINDS:
        raise invalid("output", output, f"one of {', '.join(OUTPUT_KINDS)}", "say how to read the model's last layer")
    return output


def encode(windows: np.ndarray, encoding: str, alphabet_size: int) -> np.ndarray:
    """Turn integer windows ``(B, L)`` into the array the model is fed."""
    if encoding == "tokens":
        return windows.astype(np.int32, copy=False)
    if encoding == "scalar":
        return windows.astype(np.float32)[..., None]
    return np.eye(alphabet_size, dtype=np.float32)[windows]


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in the dtype of ``z``."""
    z = z - np.max(z, axis=-1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=-1, keepdims=True)


def _as_rows(raw: object, batch_size: int, classes: int, meaning: str = "") -> np.ndarray:
    """A model's raw output as float64 rows ``(B, 1)`` or ``(B, classes)``: the last step of per-step outputs.

    ``meaning`` says what a column is, for errors; by default a symbol of the pattern's alphabet."""
    out = np.asarray(raw, dtype=np.float64)
    if out.ndim == 3:  # per-step outputs: the last step predicts the target
        out = out[:, -1, :]
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != batch_size:
        raise ModelError(
            f"model output shape={tuple(np.shape(raw))}: expected ({batch_size}, 1) or ({batch_size}, {classes})"
            f" for a batch of {batch_size} windows; return one row per window"
        )
    width = out.shape[1]
    if width not in (1, classes) or (width == 1 and classes != 2):
        raise ModelError(f"model {output_width_error(width, classes, meaning)}")
    return out


def output_width_error(width: int, classes: int, meaning: str = "") -> str:
    """Why an output of ``width`` columns cannot be read as ``classes`` classes, and the fix, in one line."""
    if meaning:  # a task's classes
        return (
            f"output width={width}: expected {classes} (one per {meaning}){' or 1 (binary)' if classes == 2 else ''};"
            f" give the model an output per class of the task, or check the task it was trained on"
        )
    if width == 1:
        return (
            f"output width=1 fits a binary alphabet, but the pattern has alphabet_size={classes};"
            f" give the model a softmax over {classes} symbols or check a binary pattern"
        )
    return (
        f"output width={width}: expected {classes} (one per symbol of the pattern's alphabet)"
        f" or 1 (binary); pass {spell('alphabet_size', width)} if the model's alphabet is larger than the pattern's"
    )


def infer_output_kind(raw: object, batch_size: int, classes: int, meaning: str = "") -> tuple[str, str]:
    """The output kind that the values of one batch show, and the evidence, in words.

    - every value in ``[0, 1]`` (and, for ``k`` columns, every row summing to 1): probabilities;
    - ``k`` columns, every value at most 0 and every row's ``exp`` summing to 1: log-probabilities;
    - anything else: logits.  One column of values at most 0 is read as logits too: the values
      cannot tell a log-probability from a logit there, so say ``output="log-probabilities"``.
    """
    out = _as_rows(raw, batch_size, classes, meaning)
    finite = out[np.isfinite(out).all(axis=1)]
    if finite.size == 0:
        return "probabilities", "no finite output on the probe; read as probabilities"
    low, high = float(finite.min()), float(finite.max())
    if finite.shape[1] == 1:
        if low >= 0 and high <= 1:
            return "probabilities", "every probe output lay in [0, 1]"
        return "logits", f"probe outputs ranged over [{low:.3g}, {high:.3g}], outside [0, 1]"
    if low >= 0 and high <= 1 and np.allclose(finite.sum(axis=1), 1.0, atol=1e-3):
        return "probabilities", "every probe row lay in [0, 1] and summed to 1"
    if high <= 0 and np.allclose(np.exp(finite).sum(axis=1), 1.0, atol=1e-3):
        return "log-probabilities", "every probe row was at most 0 and its exp summed to 1"
    return "logits", "probe rows were not probability distributions"


def decode(raw: object, batch_size: int, classes: int, output: str, meaning: str = "") -> np.ndarray:
    """Turn a model's raw output into next-symbol probabilities of shape ``(B, k)`` (float64).

    ``output`` is the model's resolved output kind (never ``"auto"``).  Rows holding NaN or
    infinity stay non-finite: the checks report them as violations.
    """
    if output not in OUTPUT_KINDS or output == "auto":
        raise ValueError(f"decode needs a resolved output kind, not {output!r}")
    out = _as_rows(raw, batch_size, classes, meaning)
    if out.shape[1] == 1:
        p1 = out[:, 0]
        with np.errstate(over="ignore"):
            if output == "logits":
                p1 = 1.0 / (1.0 + np.exp(-p1))
            elif output == "log-probabilities":
                p1 = np.exp(p1)
        return np.stack([1.0 - p1, p1], axis=1)
    if output == "logits":
        return softmax(out)
    if output == "log-probabilities":
        with np.errstate(over="ignore"):
            return np.exp(out)
    return out


def pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """``x`` with copies of its last row appended up to ``rows`` rows: a batch filled to a size a model needs (a
    compiled shape, a fixed batch dimension); the outputs of the copies are dropped by the caller."""
    missing = rows - len(x)
    return x if missing <= 0 else np.concatenate([x, np.repeat(x[-1:], missing, axis=0)])


def in_batches_of(size: int | None, x: np.ndarray, run) -> np.ndarray:
    """``run`` (one model call) on ``x`` fed in batches of exactly ``size`` rows, the last one filled by
    :func:`pad_rows` and its padded outputs dropped; ``x`` in one call when ``size`` is ``None`` or ``len(x)``."""
    if size is None or len(x) == size:
        return run(x)
    parts = []
    for start in range(0, len(x), size):
        chunk = x[start : start + size]
        parts.append(run(pad_rows(chunk, size))[: len(chunk)])
    return np.concatenate(parts)


class ModelUnderTest(ABC):
    """A trained model wrapped so that every check calls it the same way.

    Subclasses implement :meth:`_call` on the encoded batch; :meth:`predict_proba` encodes the
    windows, calls the model once (in chunks when the batch is very large) and decodes the output.

    ``alphabet_size`` is the number of input symbols; ``classes`` the number of outputs (by default the
    same: a stream task predicts a symbol; a sequence task's classes are its own, and ``class_meaning``
    then names them in errors).
    """

    #: Short human description, e.g. ``"Keras, LSTM"``.
    description: str = "model"

    #: How to name the model in a report and a reproduce line (a path, or a Python repr).
    name: str = "model"

    #: The only window length the model accepts (a length-rigid model), or None for any length.
    fixed_length: int | None = None
    #: How to make a length-rigid model take any length, in its framework's words (for errors).
    free_length_fix: str = "rebuild it with a free time dimension"

    #: How windows are evaluated: ``"native"``, by the model itself; a Keras model says ``"numpy"`` (translated
    #: to NumPy, verified against the model) or ``"keras"`` (its compiled function).
    engine: str = "native"

    #: What the adapter did to make the model checkable (e.g. rebuilt with a free time dimension).
    notes: tuple[str, ...] | list[str] = ()

    #: Environment variables that chose how the model ran (Keras's backend, when not TensorFlow): a reproduce line
    #: sets them again.
    environment: dict[str, str] = {}

    #: Why the engine was chosen, or why it fell back to the model's framework (for the report); ``None`` if there was
    #: no choice (a callable is its own engine).
    engine_reason: str | None = None

    #: Whether windows are evaluated by a translation of the model rather than by its framework: then every
    #: verdict is confirmed with ``predict_proba(native=True)`` (:mod:`seqcheck.search.confirmation`).
    translated: bool = False

    #: Whether the model is causal: its output on the first ``t`` steps of an input does not depend on the steps after,
    #: so one pass over a long input, read out at every step (:meth:`predict_prefix_proba`), predicts every prefix of it.
    causal: bool = False
    #: Why the model is or is not treated as causal, in words (for the report).
    causal_reason: str = "the model's adapter cannot read a prediction at every step"

    def __init__(
        self, *, alphabet_size: int, encoding: str, output: str = "auto", max_batch_symbols: int = 1 << 21,
        classes: int | None = None, class_meaning: str = "",
    ):
        self.alphabet_size = alphabet_size
        self.classes = alphabet_size if classes is None else classes
        self.class_meaning = class_meaning
        self.encoding = check_encoding(encoding)
        #: How the output is read: ``"auto"`` until the first batch decides it (:meth:`resolve_output`).
        self.output = check_output_kind(output)
        #: Why the output is read so, when the first batch's values decided it; ``None`` when it was known.
        self.output_evidence: str | None = None
        self.max_batch_symbols = max_batch_symbols
        self.calls = 0
        #: The longest input length a call of the model in its framework has taken: a failure on longer inputs says so.
        self.longest_run = 0

    def check_length(self, length: int) -> None:
        """Refuse, in one line, to call a length-rigid model (:attr:`fixed_length`) on inputs of another ``length``."""
        fixed = self.fixed_length
        if fixed is not None and length != fixed:
            raise ModelError(
                f"model {self.name} is length-rigid: it accepts only windows of length {fixed}, not {length}; check it"
                f" with {spell('min_length', fixed)} {spell('max_length', fixed)}, or {self.free_length_fix}"
            )

    def ran(self, length: int) -> None:
        """Note that a call of the model on inputs of ``length`` succeeded (:attr:`longest_run`)."""
        self.longest_run = max(self.longest_run, length)

    def failure_fix(self, length: int, otherwise: str, *, longer: str = "a length it accepts") -> str:
        """The fix a one-line error points to when the model raised on inputs of ``length``: if it ran on shorter ones, a
        length it cannot take (positional embeddings, say: pass the longest it took, or ``longer``); else ``otherwise``
        (its input layout, typically)."""
        if 0 < self.longest_run < length:
            return (
                f"it ran on length {self.longest_run}, so it may take nothing longer: pass"
                f" {spell('max_length', self.longest_run)} or {longer}"
            )
        return otherwise

    @abstractmethod
    def _call(self, x: np.ndarray) -> object:
        """Run the model on one encoded batch and return its raw output."""

    def _call_native(self, x: np.ndarray) -> object:
        """Run the model on one encoded batch in its own framework, batched exactly as given."""
        return self._call(x)

    def resolve_output(self, raw: object, batch_size: int) -> str:
        """Fix the output kind, once: an ``"auto"`` kind is inferred from ``raw`` (:func:`infer_output_kind`)."""
        if self.output == "auto":
            self.output, evidence = infer_output_kind(raw, batch_size, self.classes, self.class_meaning)
            self.output_evidence = f"outputs read as {self.output}: {evidence}; pass {spell('output')} to say otherwise"
        return self.output

    def decode(self, raw: object, batch_size: int) -> np.ndarray:
        """Probabilities ``(B, k)`` from one raw batch, read as the model's one output kind."""
        return decode(raw, batch_size, self.classes, self.resolve_output(raw, batch_size), self.class_meaning)

    def _call_prefix(self, x: np.ndarray) -> object:
        """Run a causal model on one encoded batch and return its raw per-step outputs ``(B, L, width)``."""
        raise NotImplementedError(f"{type(self).__name__} has no per-step readout")

    def _call_prefix_native(self, x: np.ndarray) -> object:
        """:meth:`_call_prefix` in the model's own framework."""
        return self._call_prefix(x)

    def take_causal_word(self, causal: str, kind: str) -> None:
        """Causal on the user's word alone (an adapter that cannot prove it): ``causal="yes"`` makes the model causal,
        its per-step outputs read as the predictions of every prefix; ``kind`` names such models in the reason given
        for ``"auto"`` (``"a PyTorch model"``)."""
        self.causal = check_causal(causal) == "yes"
        self.causal_reason = (
            DECLARED_CAUSAL if self.causal
            else f"{kind} shares prefixes only when declared causal ({spell('causal', 'yes')})" if causal == "auto"
            else f"{spell('causal', 'no')} given"
        )

    def stop_prefix_sharing(self, reason: str) -> None:
        """Evaluate every window whole from now on (prefix passes disagreed with whole windows, say)."""
        self.causal = False
        self.causal_reason = f"prefix sharing turned off: {reason}"

    def predict_prefix_proba(self, rows: np.ndarray, *, native: bool = False) -> np.ndarray:
        """Probabilities ``(B, L, classes)`` of every prefix of integer inputs ``(B, L)`` from one pass over each: row
        ``[:, t]`` is what :meth:`predict_proba` gives for ``rows[:, :t + 1]``, for a :attr:`causal` model only.

        The output kind must be resolved already (:meth:`warm_up` does it on whole windows).
        """
        if not self.causal:
            raise ModelError(f"model {self.name} is not causal ({self.causal_reason}); evaluate it window by window")
        rows = np.asarray(rows)
        batch, length = rows.shape
        self.calls += 1
        encoded = encode(rows, self.encoding, self.alphabet_size)
        raw = self._call_prefix_native(encoded) if native else self._call_prefix(encoded)
        out = np.asarray(raw, dtype=np.float64)
        if out.ndim == 2 and length == 1:
            out = out[:, None, :]
        if out.ndim != 3 or out.shape[:2] != (batch, length):
            raise ModelError(
                f"model {self.name} is declared causal but returned shape={tuple(out.shape)} for {batch} inputs of length"
                f" {length}: expected ({batch}, {length}, width), one output per step; return per-step outputs or pass"
                f" {spell('causal', 'no')}"
            )
        flat = decode(out.reshape(batch * length, out.shape[2]), batch * length, self.classes, self.resolve_output(out, batch), self.class_meaning)
        return flat.reshape(batch, length, -1)

    def expect_native_steps(self, steps: int) -> None:
        """A hint before a run of ``native=True`` calls feeding about ``steps`` time steps in all, so that an adapter
        can choose how to make them (a Keras model: eagerly for a few, compiled for many)."""

    def predict_proba(self, windows: np.ndarray, *, native: bool = False) -> np.ndarray:
        """Probabilities ``(B, classes)`` (next symbols, or a task's classes) for integer windows ``(B, L)`` of one length.

        ``native=True`` runs the batch in the model's own framework even where an adapter has a faster
        equivalent path (a Keras model translated to NumPy): for every verdict a report shows, and for
        properties of the framework's batched execution itself, such as batch invariance.
        """
        windows = np.asarray(windows)
        batch, length = windows.shape
        if batch == 0:
            return np.empty((0, self.classes))
        rows = max(1, self.max_batch_symbols // max(1, length))
        parts = []
        for start in range(0, batch, rows):
            chunk = windows[start : start + rows]
            self.calls += 1
            encoded = encode(chunk, self.encoding, self.alphabet_size)
            raw = self._call_native(encoded) if native else self._call(encoded)
            parts.append(self.decode(raw, len(chunk)))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    #: Windows of the probe that :meth:`warm_up` sends first: enough to show the output kind.
    PROBE_WINDOWS = 64

    def warm_up(self, length: int, probe: np.ndarray | None = None) -> None:
        """Call the model once on a probe (by default :data:`PROBE_WINDOWS` random windows of ``length``, seeded; a
        sequence task gives inputs of its own): compilation happens before the search, and an ``"auto"`` output kind
        is decided on varied inputs rather than on the search's first."""
        if probe is None:
            probe = np.random.default_rng(0).integers(0, self.alphabet_size, size=(self.PROBE_WINDOWS, length))
        self.predict_proba(probe)
