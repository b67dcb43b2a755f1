"""The ONNX adapter: an exported model gives the Keras model's verdicts, input layouts and shapes are read from the
graph, and untrusted .onnx files are screened before onnxruntime opens them (external data outside the model's folder,
oversized, empty, corrupt files: one-line refusals)."""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import seqcheck  # noqa: E402
from seqcheck.errors import InvalidArgument, ModelError  # noqa: E402
from seqcheck.models.model_files import MAX_UNPACKED_ENV  # noqa: E402
from seqcheck.models.onnx_model import OnnxModel, is_onnx_model, load_onnx_file  # noqa: E402

K = 2  # alphabet size of the tiny models
#: A fixed embedding / weight matrix: symbol i's logits are row i.
WEIGHTS = np.array([[2.0, -1.0], [-0.5, 1.5]], dtype=np.float32)


def random_windows(count: int, length: int) -> np.ndarray:
    """``count`` windows of ``length`` symbols, the same in every run and in any test order."""
    return np.random.default_rng(0).integers(0, K, size=(count, length))


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def tiny_model(
    *, layout: str = "onehot", last: str | None = "Softmax", per_step: bool = False, dims: tuple = ("batch", "time"),
    token_type: int = TensorProto.INT64,
) -> onnx.ModelProto:
    """A model whose prediction is ``last(WEIGHTS[last symbol])``: tokens ``(B, L)`` look the row up (Gather), one-hot
    ``(B, L, 2)`` multiply by it (MatMul); per-step outputs keep every step, else the last step is taken."""
    weights = numpy_helper.from_array(WEIGHTS, "W")
    initializers = [weights]
    if layout == "tokens":
        x = helper.make_tensor_value_info("x", token_type, list(dims))
        nodes = [helper.make_node("Gather", ["W", "x"], ["h"], axis=0)]
    else:
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [*dims, K])
        nodes = [helper.make_node("MatMul", ["x", "W"], ["h"])]
    out = "h"
    if not per_step:
        last_step = numpy_helper.from_array(np.array(-1, dtype=np.int64))
        nodes.append(helper.make_node("Constant", [], ["last_step"], value=last_step))  # not an initializer: W is the
        nodes.append(helper.make_node("Gather", ["h", "last_step"], ["h_last"], axis=1))  # one tensor to go external
        out = "h_last"
    if last is not None:
        nodes.append(helper.make_node(last, [out], ["y"], axis=-1))
    else:
        nodes.append(helper.make_node("Identity", [out], ["y"]))
    shape = [dims[0], dims[1], K] if per_step else [dims[0], K]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)
    graph = helper.make_graph(nodes, "tiny", [x], [y], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def expected_probs(windows: np.ndarray) -> np.ndarray:
    z = WEIGHTS[windows[:, -1]].astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def save_with_external_data(model: onnx.ModelProto, folder):
    """``model`` saved as ``folder/m.onnx`` with its weights in ``w.bin`` beside it; returns the path."""
    folder.mkdir(exist_ok=True)
    path = folder / "m.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, location="w.bin", size_threshold=0)
    return path


def relocate(path, location: str, **entries: str) -> None:
    """Point every external tensor of the model at ``path`` to ``location`` (and set other entries), in place."""
    model = onnx.load(str(path), load_external_data=False)
    for tensor in model.graph.initializer:
        if tensor.data_location == TensorProto.EXTERNAL:
            info = {e.key: e.value for e in tensor.external_data} | {"location": location} | entries
            del tensor.external_data[:]
            for key, value in info.items():
                tensor.external_data.add(key=key, value=value)
    path.write_bytes(model.SerializeToString())


# -- agreement with Keras on the seed model ------------------------------------------------------


@pytest.fixture(scope="session")
def seed_network(seed_model_path):
    """The seed's trained network in PyTorch (weights copied from the Keras model)."""
    keras = pytest.importorskip("keras")
    pytest.importorskip("torch")
    from torch_models import seed_network_from_keras

    return seed_network_from_keras(keras.saving.load_model(seed_model_path, compile=False))


def torch_export(network, path, dynamic_axes: dict):
    from torch_models import export_onnx

    return export_onnx(network, path, dynamic_axes)


@pytest.fixture(scope="session")
def seed_onnx_path(seed_network, tmp_path_factory):
    """The seed's network exported to ONNX with free batch and time axes."""
    path = tmp_path_factory.mktemp("onnx") / "seed.onnx"
    return torch_export(seed_network, path, {"x": {0: "batch", 1: "time"}})


def decisions(report) -> list[dict]:
    """What a report decided, invariant by invariant: verdicts, every form's counterexample (its windows, expected
    and predicted symbols), the accuracy tables; probabilities left out (frameworks round differently)."""

    def without_confidence(value):
        if isinstance(value, dict):
            return {k: without_confidence(v) for k, v in value.items() if k != "confidence"}
        if isinstance(value, list):
            return [without_confidence(v) for v in value]
        return value

    return [
        {
            "name": inv["name"], "status": inv["status"], "counterexample": without_confidence(inv["counterexample"]),
            "forms": [
                {"form": f["form"], "passed": f["passed"], "counterexample": without_confidence(f["counterexample"])}
                for f in inv["forms"]
            ],
            "accuracy_by_length": inv["accuracy_by_length"], "correct_by_length": inv["correct_by_length"],
        }
        for inv in report.to_dict()["invariants"]
    ]


def confidences(value) -> list[float]:
    """Every probability a report shows, in order."""
    if isinstance(value, dict):
        return [c for k, v in value.items() for c in ([v] if k == "confidence" else confidences(v))]
    if isinstance(value, list):
        return [c for v in value for c in confidences(v)]
    return []


@pytest.mark.slow
def test_onnx_export_of_the_seed_gives_the_keras_models_verdicts(seed_model_path, seed_onnx_path):
    options = dict(pattern="11000", train_length=10, max_examples=20)
    model = load_onnx_file(seed_onnx_path, alphabet_size=2)
    assert (model.description, model.name, model.encoding, model.output) == (
        "ONNX, LSTM, Gemm, Sigmoid", os.fspath(seed_onnx_path), "scalar", "probabilities",
    )
    via_onnx = seqcheck.check(model, **options)
    via_keras = seqcheck.check(seed_model_path, **options)
    ours, theirs = decisions(via_onnx), decisions(via_keras)
    if ours != theirs:
        diff = difflib.unified_diff(
            json.dumps(theirs, indent=1).splitlines(), json.dumps(ours, indent=1).splitlines(), "keras", "onnx", lineterm="",
        )
        pytest.fail("the ONNX export's report decides otherwise than the Keras model's:\n" + "\n".join(diff))
    assert not via_onnx.passed  # the seed's failures, found through ONNX too
    assert via_onnx.diagnosis == via_keras.diagnosis
    np.testing.assert_allclose(
        confidences(via_onnx.to_dict()["invariants"]), confidences(via_keras.to_dict()["invariants"]), atol=1e-3,
    )


@pytest.mark.slow
def test_fixed_time_axis_makes_a_length_rigid_model(seed_network, seed_onnx_path, tmp_path):
    path = torch_export(seed_network, tmp_path / "rigid.onnx", {"x": {0: "batch"}})
    rigid, free = load_onnx_file(path, alphabet_size=2), load_onnx_file(seed_onnx_path, alphabet_size=2)
    assert rigid.fixed_length == 10 and free.fixed_length is None
    assert rigid.description.endswith("; length-rigid, length 10 only")
    assert any("length-rigid" in note and "only length 10 can be checked" in note for note in rigid.notes)
    windows = random_windows(7, 10)
    np.testing.assert_allclose(rigid.predict_proba(windows), free.predict_proba(windows), atol=1e-6)
    with pytest.raises(ModelError, match=r"length-rigid: it accepts only windows of length 10, not 11; check it with "
                                         r"min_length=10 max_length=10") as exc:
        rigid.predict_proba(np.zeros((2, 11), dtype=int))
    one_line(exc)
    report = seqcheck.check(rigid, pattern="11000", train_length=10, max_examples=10)
    assert (report.space.min_length, report.space.max_length) == (10, 10)
    assert report["length generalization"].accuracy_by_length == {10: 1.0}


def test_fixed_batch_axis_is_fed_whole_batches():
    fixed, free = OnnxModel(tiny_model(dims=(4, "time")), alphabet_size=K), OnnxModel(tiny_model(), alphabet_size=K)
    assert fixed.fixed_batch == 4 and fixed.fixed_length is None and free.fixed_batch is None
    assert any("batches of 4 windows only" in note and "padding the last" in note for note in fixed.notes)
    for count in (1, 4, 9):  # less than, exactly, more than a batch
        windows = random_windows(count, 6)
        np.testing.assert_allclose(fixed.predict_proba(windows), expected_probs(windows), atol=1e-6)


# -- layouts, outputs, causality -----------------------------------------------------------------


@pytest.mark.parametrize("token_type", [TensorProto.INT64, TensorProto.INT32])
def test_tokens_are_fed_in_the_declared_integer_type(token_type):
    model = OnnxModel(tiny_model(layout="tokens", token_type=token_type), alphabet_size=K)
    assert (model.encoding, model.output, model.description) == ("tokens", "probabilities", "ONNX, Gather, Softmax")
    windows = random_windows(6, 5)
    np.testing.assert_allclose(model.predict_proba(windows), expected_probs(windows), atol=1e-6)


def test_one_hot_layout_is_read_from_the_last_axis():
    session = ort.InferenceSession(tiny_model(layout="onehot").SerializeToString(), providers=["CPUExecutionProvider"])
    model = OnnxModel(session, alphabet_size=K)
    assert (model.encoding, model.output, model.name) == ("onehot", "probabilities", "onnx model")
    assert model.description == "ONNX, MatMul, Softmax"  # the session's graph read back
    windows = random_windows(6, 4)
    np.testing.assert_allclose(model.predict_proba(windows), expected_probs(windows), atol=1e-6)
    with pytest.raises(ModelError, match=r"does not fit encoding='tokens'") as exc:
        OnnxModel(session, alphabet_size=K, encoding="tokens")
    one_line(exc)
    with pytest.raises(ModelError, match=r"input shape=\(None, None, 2\): expected .* pass encoding='tokens'") as exc:
        OnnxModel(session, alphabet_size=3)
    one_line(exc)


@pytest.mark.parametrize(
    ("last", "kind"), [("Softmax", "probabilities"), ("LogSoftmax", "log-probabilities"), (None, "logits")],
)
def test_output_kind_comes_from_the_last_operator_else_from_the_probe(last, kind):
    model = OnnxModel(tiny_model(last=last), alphabet_size=K)
    assert model.output == (kind if last else "auto")
    windows = random_windows(64, 4)
    np.testing.assert_allclose(model.predict_proba(windows), expected_probs(windows), atol=1e-6)
    assert model.output == kind
    assert (model.output_evidence is None) == (last is not None)  # a kind the probe inferred is stated


def test_softmax_over_another_axis_is_not_taken_for_probabilities():
    model = tiny_model(per_step=True, last="Softmax")
    next(a for a in model.graph.node[-1].attribute if a.name == "axis").i = 1  # over the time axis
    assert OnnxModel(model, alphabet_size=K).output == "auto"


def test_per_step_outputs_are_read_at_the_last_step_and_shared_as_prefixes_only_on_the_users_word():
    graph = tiny_model(per_step=True)
    windows = random_windows(5, 6)
    plain = OnnxModel(graph, alphabet_size=K)
    assert not plain.causal and "causal='yes'" in plain.causal_reason
    np.testing.assert_allclose(plain.predict_proba(windows), expected_probs(windows), atol=1e-6)
    declared = OnnxModel(graph, alphabet_size=K, causal="yes")
    assert declared.causal and declared.causal_reason.startswith("declared causal")
    prefixes = declared.predict_prefix_proba(windows)
    for t in range(windows.shape[1]):
        np.testing.assert_allclose(prefixes[:, t], expected_probs(windows[:, : t + 1]), atol=1e-6)
    with pytest.raises(ModelError, match=r"declared causal, but it returns one output per window .* causal='no'") as exc:
        OnnxModel(tiny_model(per_step=False), alphabet_size=K, causal="yes")
    one_line(exc)


def test_a_runtime_failure_is_one_line_naming_the_length_it_last_ran_at():
    """A graph that reshapes to a fixed length despite a free time axis: it runs at length 3 only."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "time", 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])
    shape = numpy_helper.from_array(np.array([-1, 3], dtype=np.int64), "shape")
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["flat"]),
        helper.make_node("ReduceMax", ["flat"], ["m"], axes=[1], keepdims=1),
        helper.make_node("Sigmoid", ["m"], ["y"]),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], [shape]), opset_imports=[helper.make_opsetid("", 17)])
    adapter = OnnxModel(model, alphabet_size=2)
    adapter.predict_proba(np.zeros((2, 3), dtype=int))
    with pytest.raises(ModelError, match=r"raised \w+: .* on a batch of shape \(2, 5, 1\); it ran on length 3, so it may"
                                         r" take nothing longer: pass max_length=3") as exc:
        adapter.predict_proba(np.zeros((2, 5), dtype=int))
    assert "[ONNXRuntimeError]" not in one_line(exc)


def test_two_inputs_or_outputs_are_refused(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "time", 1])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", "time", 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "time", 1])
    two_in = helper.make_model(helper.make_graph([helper.make_node("Add", ["x", "z"], ["y"])], "g", [x, z], [y]))
    path = tmp_path / "two.onnx"
    onnx.save_model(two_in, str(path))
    with pytest.raises(ModelError, match=r"has 2 inputs \('x', 'z'\), expected exactly 1; export a model that") as exc:
        load_onnx_file(path, alphabet_size=2)
    one_line(exc)
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, ["batch", "time", 1])
    nodes = [helper.make_node("Identity", ["x"], ["y"]), helper.make_node("Identity", ["x"], ["w"])]
    two_out = helper.make_model(helper.make_graph(nodes, "g", [x], [y, w]))
    with pytest.raises(ModelError, match=r"has 2 outputs \('y', 'w'\), expected exactly 1"):
        OnnxModel(two_out, alphabet_size=2)


def test_custom_operators_onnxruntime_lacks_are_one_line(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "time", 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])
    graph = helper.make_graph([helper.make_node("Mystery", ["x"], ["y"], domain="acme.ops")], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("acme.ops", 1)])
    path = tmp_path / "custom.onnx"
    onnx.save_model(model, str(path))
    with pytest.raises(ModelError, match=r"onnxruntime could not open it .*Mystery.*; it uses custom operators \(domain"
                                         r" 'acme.ops'\) .*register_custom_ops_library") as exc:
        load_onnx_file(path, alphabet_size=2)
    assert one_line(exc).startswith(f"model path={os.fspath(path)!r}:")


def test_recognises_sessions_and_protos_only():
    proto = tiny_model()
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    assert is_onnx_model(proto) and is_onnx_model(session)
    assert not is_onnx_model(proto.graph) and not is_onnx_model(lambda x: x) and not is_onnx_model("m.onnx")
    with pytest.raises(InvalidArgument, match=r"model='GraphProto': expected an onnxruntime.InferenceSession or an onnx"):
        OnnxModel(proto.graph, alphabet_size=K)


def test_allow_unsafe_changes_nothing_and_says_so(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save_model(tiny_model(), str(path))
    assert load_onnx_file(path, alphabet_size=K).notes == []
    noted = load_onnx_file(path, alphabet_size=K, allow_unsafe=True).notes
    assert len(noted) == 1 and noted[0].startswith("allow_unsafe=True changes nothing for an ONNX file")


# -- screening files ---------------------------------------------------------------------------------


def test_external_data_inside_the_folder_is_loaded(tmp_path):
    path = save_with_external_data(tiny_model(), tmp_path / "model")
    assert (tmp_path / "model" / "w.bin").stat().st_size == WEIGHTS.nbytes
    windows = random_windows(4, 3)
    np.testing.assert_allclose(load_onnx_file(path, alphabet_size=K).predict_proba(windows), expected_probs(windows), atol=1e-6)


def test_a_symlinked_model_may_read_data_beside_its_real_file(tmp_path):
    """A cache of content-addressed files: the model and its data are symlinks into one folder of blobs."""
    blobs = save_with_external_data(tiny_model(), tmp_path / "blobs").parent
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "m.onnx").symlink_to(blobs / "m.onnx")
    (snapshot / "w.bin").symlink_to(blobs / "w.bin")
    windows = random_windows(4, 3)
    model = load_onnx_file(snapshot / "m.onnx", alphabet_size=K)
    np.testing.assert_allclose(model.predict_proba(windows), expected_probs(windows), atol=1e-6)


@pytest.fixture
def secret(tmp_path):
    """A file outside the model's folder, as long as the weights, that a crafted model would like to read."""
    outside = tmp_path / "outside"
    outside.mkdir()
    path = outside / "secret.bin"
    path.write_bytes(b"s" * WEIGHTS.nbytes)
    return path


@pytest.mark.parametrize("how", ["absolute", "dotdot", "nested dotdot", "symlink", "symlinked folder"])
def test_external_data_outside_the_models_folder_is_refused(tmp_path, secret, how):
    path = save_with_external_data(tiny_model(), tmp_path / "model")
    folder = path.parent
    if how == "symlink":
        (folder / "link.bin").symlink_to(secret)
    if how == "symlinked folder":
        (folder / "sub").symlink_to(secret.parent)
    location = {
        "absolute": str(secret), "dotdot": "../outside/secret.bin", "nested dotdot": "sub/../../outside/secret.bin",
        "symlink": "link.bin", "symlinked folder": "sub/secret.bin",
    }[how]
    relocate(path, location)
    said = {"absolute": "an absolute path", "dotdot": "through '..'", "nested dotdot": "through '..'",
            "symlink": "a symlink to", "symlinked folder": "a symlink to"}[how]
    with pytest.raises(ModelError, match=rf"tensor 'W' keeps its data in .*{said}.* only from inside its own folder") as exc:
        load_onnx_file(path, alphabet_size=K)
    assert one_line(exc).startswith(f"model path={os.fspath(path)!r}:")


@pytest.mark.parametrize("where", ["sparse initializer", "node attribute", "subgraph"])
def test_external_data_is_screened_wherever_a_tensor_sits(tmp_path, secret, where):
    """Not only initializers: sparse tensors, constants in attributes and subgraphs (of If, Loop, Scan) hold tensors too."""
    model = tiny_model()
    escaping = helper.make_tensor("escaping", TensorProto.FLOAT, [4], vals=np.zeros(4, dtype=np.float32))
    escaping.data_location = TensorProto.EXTERNAL
    escaping.ClearField("float_data")
    escaping.external_data.add(key="location", value="../outside/secret.bin")
    if where == "sparse initializer":
        indices = numpy_helper.from_array(np.arange(4, dtype=np.int64), "indices")
        model.graph.sparse_initializer.append(helper.make_sparse_tensor(escaping, indices, [8]))
    else:
        constant = helper.make_node("Constant", [], ["c"], value=escaping)
        if where == "node attribute":
            model.graph.node.append(constant)
        else:
            branch = helper.make_graph([constant], "branch", [], [helper.make_tensor_value_info("c", TensorProto.FLOAT, [4])])
            model.graph.node.append(helper.make_node("If", ["flag"], ["c_out"], then_branch=branch, else_branch=branch))
    path = tmp_path / "model" / "m.onnx"
    path.parent.mkdir()
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelError, match=r"tensor 'escaping' keeps its data in '../outside/secret.bin', a path that leaves"):
        load_onnx_file(path, alphabet_size=K)


@pytest.mark.parametrize(("entries", "match"), [
    ({"location": "gone.bin"}, r"keeps its data in 'gone.bin', which cannot be read next to the model \(FileNotFoundError"),
    ({"length": "4096"}, r"reads bytes 0..4096 of 'w.bin', which holds 16 bytes; the external data file is truncated"),
    ({"offset": "64"}, r"reads bytes 64..80 of 'w.bin'"),
    ({"offset": "-1"}, r"has external data offset='-1', expected a whole number of bytes"),
    ({"location": "*/_ORT_MEM_ADDR_/*", "offset": "4096"}, r"onnxruntime's marker for an address in memory"),
    ({"location": "."}, r"keeps its data in '.', which is not a regular file"),
])
def test_bad_external_data_is_refused(tmp_path, entries, match):
    path = save_with_external_data(tiny_model(), tmp_path / "model")
    relocate(path, entries.pop("location", "w.bin"), **entries)
    with pytest.raises(ModelError, match=match) as exc:
        load_onnx_file(path, alphabet_size=K)
    one_line(exc)


def test_hard_linked_external_data_is_refused(tmp_path, secret):
    path = save_with_external_data(tiny_model(), tmp_path / "model")
    os.link(secret, path.parent / "linked.bin")
    relocate(path, "linked.bin")
    with pytest.raises(ModelError, match=r"'linked.bin', a file with 2 hard links, expected a file of its own"):
        load_onnx_file(path, alphabet_size=K)


def test_external_data_of_a_model_in_memory_is_refused(tmp_path):
    path = save_with_external_data(tiny_model(), tmp_path / "model")
    with pytest.raises(ModelError, match=r"tensor 'W' keeps its data in an external file, which a model in memory cannot"):
        OnnxModel(onnx.load(str(path), load_external_data=False), alphabet_size=K)
    OnnxModel(onnx.load(str(path)), alphabet_size=K)  # with its data read into memory


def test_files_larger_than_the_bound_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(MAX_UNPACKED_ENV, "1")
    big = tiny_model()
    big.graph.initializer.append(numpy_helper.from_array(np.zeros(300_000, dtype=np.float32), "unused"))
    path = tmp_path / "big.onnx"
    onnx.save_model(big, str(path))
    with pytest.raises(ModelError, match=r"holds 1,2\d\d,\d{3} bytes, more than 1 MiB, expected a model of reasonable size; .*"
                                         r"set SEQCHECK_MAX_UNPACKED_MIB above 1") as exc:
        load_onnx_file(path, alphabet_size=K)
    one_line(exc)
    # A small model file whose external data file is large (sparse: no disk used) counts the data file too.
    small = save_with_external_data(tiny_model(), tmp_path / "model")
    os.truncate(small.parent / "w.bin", 2 << 20)
    with pytest.raises(ModelError, match=r"holds 2,\d{3},\d{3} bytes with its external data, more than 1 MiB"):
        load_onnx_file(small, alphabet_size=K)


@pytest.mark.parametrize(("content", "match"), [
    (b"", r"the file is empty, expected an ONNX model; export it again with torch.onnx.export"),
    (b"not a model at all, just text\n", r"is not an ONNX model \(DecodeError: .*\); the file is truncated, corrupt or"),
    (b"PK\x03\x04" + bytes(60), r"is not an ONNX model"),
    ("truncated", r"is not an ONNX model \(DecodeError"),
    (b"\x08\x07", r"holds no ONNX graph"),  # a ModelProto with ir_version 7 and nothing else
])
def test_empty_garbage_and_truncated_files_are_one_line(tmp_path, content, match):
    path = tmp_path / "m.onnx"
    if content == "truncated":
        onnx.save_model(tiny_model(), str(path))
        content = path.read_bytes()[: len(path.read_bytes()) // 2]
    path.write_bytes(content)
    with pytest.raises(ModelError, match=match) as exc:
        load_onnx_file(path, alphabet_size=K)
    assert one_line(exc).startswith(f"model path={os.fspath(path)!r}:")


def test_missing_paths_folders_and_fifos_are_one_line(tmp_path):
    with pytest.raises(ModelError, match=r"no such file; check the path"):
        load_onnx_file(tmp_path / "missing.onnx", alphabet_size=K)
    with pytest.raises(ModelError, match=r"is a folder, expected an .onnx file"):
        load_onnx_file(tmp_path, alphabet_size=K)
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match=r"is not a regular file \(a FIFO"):
        load_onnx_file(fifo, alphabet_size=K)


@pytest.mark.parametrize("module", ["onnx", "onnxruntime"])
def test_a_missing_package_is_one_line(tmp_path, monkeypatch, module):
    path = tmp_path / "m.onnx"
    onnx.save_model(tiny_model(), str(path))
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(ModelError, match=rf"^{module} is not installed: .* pip install 'seqcheck\[onnx\]'$"):
        load_onnx_file(path, alphabet_size=K)


def test_importing_seqcheck_imports_neither_onnx_nor_onnxruntime():
    code = (
        "import sys, seqcheck, seqcheck.models.onnx_model as m\n"
        "assert not m.is_onnx_model(object())\n"
        "print(sorted(name for name in ('onnx', 'onnxruntime') if name in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
