"""The PyTorch adapter: modules and torch.export programs in memory, .pt2 and .pt files, and the model left untouched.

Every model here is small and seeded; the programs are exported once for the file.  The cross-framework test checks
the seed's Keras model and the same network in PyTorch (weights copied) and compares every decision of the reports.
"""

from __future__ import annotations

import difflib
import json
import os
import pickle
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import seqcheck  # noqa: E402
from seqcheck.errors import ModelError  # noqa: E402
from seqcheck.models.base import encode, softmax  # noqa: E402
from seqcheck.models.pytorch import TorchModel, is_torch_module, load_torch_file  # noqa: E402
from tests.torch_models import SeedNetwork, seed_network_from_keras  # noqa: E402

WINDOWS = np.random.default_rng(0).integers(0, 2, size=(7, 10))
OPT_IN = "allow_unsafe=True"


def seeded(cls, *args, **kwargs):
    torch.manual_seed(0)
    return cls(*args, **kwargs).eval()


def run(module, windows, dtype=torch.float32, encoding="scalar"):
    """What ``module`` returns on ``windows`` called directly, as NumPy."""
    with torch.no_grad():
        return module(torch.from_numpy(encode(windows, encoding, 2)).to(dtype)).numpy()


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message, message
    return message


class TokenGRU(nn.Module):
    """Embedding -> GRU -> Linear: logits of the next symbol from tokens."""

    def __init__(self, k: int = 3):
        super().__init__()
        self.embedding = nn.Embedding(k, 4)
        self.gru = nn.GRU(4, 6, batch_first=True)
        self.head = nn.Linear(6, k)

    def forward(self, x):
        steps, _ = self.gru(self.embedding(x))
        return self.head(steps[:, -1])


class OneHotLSTM(nn.Module):
    """LSTM over one-hot vectors -> softmax."""

    def __init__(self, k: int = 3):
        super().__init__()
        self.lstm = nn.LSTM(k, 5, batch_first=True)
        self.head = nn.Linear(5, k)

    def forward(self, x):
        steps, _ = self.lstm(x)
        return torch.softmax(self.head(steps[:, -1]), dim=-1)


class PerStep(nn.Module):
    """LSTM over scalars -> per-step logits of 2 symbols, batch first or time first as its LSTM says."""

    def __init__(self, batch_first: bool):
        super().__init__()
        self.lstm = nn.LSTM(1, 3, batch_first=batch_first)
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.lstm(x)[0])


class CausalConv(nn.Module):
    """A causal convolution over scalars -> sigmoid: exports with a dynamic batch and time dimension."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 4, 3, padding=2)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        features = torch.relu(self.conv(x.transpose(1, 2))[..., : x.shape[1]]).transpose(1, 2)
        return torch.sigmoid(self.head(features[:, -1]))


class Fragile(nn.Module):
    """BatchNorm and Dropout, which change outputs and buffers in train mode; raises after ``fail_after`` calls."""

    def __init__(self, fail_after: int | None = None, error: type[BaseException] = ValueError):
        super().__init__()
        self.lstm = nn.LSTM(1, 4, batch_first=True)
        self.norm = nn.BatchNorm1d(4)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(4, 1)
        self.fail_after, self.error, self.seen = fail_after, error, 0

    def forward(self, x):
        self.seen += 1
        if self.fail_after is not None and self.seen > self.fail_after:
            raise self.error("the module gave up")
        return torch.sigmoid(self.head(self.drop(self.norm(self.lstm(x)[0][:, -1]))))


# -- the cross-framework agreement ---------------------------------------------------------------


#: Report fields that are not decisions: a raw probability (framework-dependent in its last digits) and how many
#: cases and windows an evaluation strategy happened to feed.
NOT_DECISIONS = frozenset({"confidence", "cases", "windows"})


def _decided(node):
    """A report dict without the fields of :data:`NOT_DECISIONS`."""
    if isinstance(node, dict):
        return {key: _decided(value) for key, value in node.items() if key not in NOT_DECISIONS}
    if isinstance(node, list):
        return [_decided(value) for value in node]
    return node


def decisions(report) -> dict:
    """What a report decides: verdicts, counterexamples (windows, predicted symbols), accuracy, diagnosis."""
    return _decided(
        {"passed": report.passed, "invariants": report.to_dict()["invariants"], "diagnosis": report.diagnosis, "hints": report.hints}
    )


@pytest.mark.slow
def test_the_seed_network_in_pytorch_gets_the_keras_models_decisions(seed_model_path):
    keras = pytest.importorskip("keras")
    network = seed_network_from_keras(keras.saving.load_model(seed_model_path, compile=False))
    options = dict(pattern="11000", train_length=10, max_examples=20)
    ours = decisions(seqcheck.check(TorchModel(network, alphabet_size=2), **options))
    theirs = decisions(seqcheck.check(seed_model_path, **options))
    diff = "\n".join(difflib.unified_diff(
        json.dumps(theirs, indent=1, sort_keys=True).splitlines(), json.dumps(ours, indent=1, sort_keys=True).splitlines(),
        "keras", "pytorch", lineterm="",
    ))
    assert ours == theirs, f"the PyTorch network's report decides otherwise than the Keras model's:\n{diff}"
    assert not ours["passed"]  # the seed model is start-anchored: the comparison compares counterexamples


# -- layouts -------------------------------------------------------------------------------------


def test_an_embedding_first_means_tokens():
    module = seeded(TokenGRU)
    model = TorchModel(module, alphabet_size=3)
    assert (model.encoding, model.batch_first, model.description, model.name) == (
        "tokens", True, "PyTorch, Embedding, GRU, Linear", "TokenGRU",
    )
    windows = WINDOWS + (WINDOWS[:, ::-1] > 0)  # symbols 0..2
    model.warm_up(4)
    assert model.output == "logits"
    np.testing.assert_allclose(model.predict_proba(windows), softmax(run(module, windows, torch.long, "tokens").astype(np.float64)), atol=1e-6)


def test_a_first_layer_of_alphabet_size_inputs_means_one_hot():
    module = seeded(OneHotLSTM)
    model = TorchModel(module, alphabet_size=3)
    assert model.encoding == "onehot"
    windows = WINDOWS % 3
    with torch.no_grad():
        direct = module(torch.from_numpy(encode(windows, "onehot", 3))).numpy()
    np.testing.assert_allclose(model.predict_proba(windows), direct, atol=1e-6)


def test_a_first_layer_of_one_input_means_scalars_and_names_the_layers():
    module = seeded(SeedNetwork)
    model = TorchModel(module, alphabet_size=2)
    assert (model.encoding, model.description, model.name, model.engine) == ("scalar", "PyTorch, LSTM, Linear", "SeedNetwork", "native")
    p1 = run(module, WINDOWS)[:, 0]
    np.testing.assert_allclose(model.predict_proba(WINDOWS), np.stack([1 - p1, p1], axis=1), atol=1e-6)


def test_an_unreadable_layout_asks_for_encoding_and_a_given_encoding_wins():
    class Table(nn.Module):
        def __init__(self):
            super().__init__()
            self.logits = nn.Parameter(torch.tensor([[2.0, 0.0], [0.0, 2.0]]))

        def forward(self, x):
            return self.logits[x[:, -1]]

    with pytest.raises(ModelError) as exc:
        TorchModel(Table(), alphabet_size=2)
    assert "encoding='tokens'" in one_line(exc)
    model = TorchModel(Table(), alphabet_size=2, encoding="tokens", output="logits")
    assert model.predict_proba(np.array([[0, 1], [1, 0]])).argmax(axis=1).tolist() == [1, 0]


def test_a_first_layer_of_another_size_is_a_one_line_error():
    with pytest.raises(ModelError) as exc:
        TorchModel(nn.Sequential(nn.Linear(5, 2)), alphabet_size=2)
    message = one_line(exc)
    assert "in_features=5" in message and "encoding='onehot'" in message


@pytest.mark.parametrize(("last", "kind"), [(nn.Sigmoid(), "probabilities"), (nn.Softmax(dim=-1), "probabilities"),
                                            (nn.LogSoftmax(dim=-1), "log-probabilities"), (nn.Identity(), "auto")])
def test_the_last_layer_of_a_sequential_says_how_its_output_reads(last, kind):
    module = nn.Sequential(nn.Flatten(), nn.Linear(1, 2), last)  # windows of length 1 only: enough to read the kind
    assert TorchModel(module, alphabet_size=2).output == kind


def test_time_first_modules_are_fed_and_read_time_first():
    time_first, batch_first = seeded(PerStep, batch_first=False), seeded(PerStep, batch_first=True)
    batch_first.load_state_dict(time_first.state_dict())
    model = TorchModel(time_first, alphabet_size=2, output="logits", causal="yes")
    reference = TorchModel(batch_first, alphabet_size=2, output="logits", causal="yes")
    assert (model.batch_first, reference.batch_first) == (False, True)
    np.testing.assert_allclose(model.predict_proba(WINDOWS), reference.predict_proba(WINDOWS), atol=1e-6)
    per_prefix = model.predict_prefix_proba(WINDOWS)
    for t in (0, 4, 9):
        np.testing.assert_allclose(per_prefix[:, t], model.predict_proba(WINDOWS[:, : t + 1]), atol=1e-6)


def test_submodules_that_disagree_on_batch_first_are_a_one_line_error():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = nn.LSTM(1, 3, batch_first=True)
            self.second = nn.GRU(3, 2, batch_first=False)

        def forward(self, x):
            return self.second(self.first(x)[0].transpose(0, 1))[0][-1]

    with pytest.raises(ModelError) as exc:
        TorchModel(Mixed(), alphabet_size=2)
    assert "TorchModel(module, batch_first=...)" in one_line(exc)
    assert TorchModel(Mixed(), alphabet_size=2, batch_first=True).predict_proba(WINDOWS).shape == (7, 2)


def test_time_first_outputs_of_a_module_assumed_batch_first_say_to_pass_batch_first():
    class TimeFirstOut(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(1, 2)

        def forward(self, x):
            return self.head(x).transpose(0, 1)

    with pytest.raises(ModelError) as exc:
        TorchModel(TimeFirstOut(), alphabet_size=2).predict_proba(WINDOWS)
    assert "batch_first=False" in one_line(exc)


def test_an_rnns_output_and_state_is_read_as_its_output_and_other_tuples_are_refused():
    lstm = seeded(nn.LSTM, 1, 2, batch_first=True)
    model = TorchModel(lstm, alphabet_size=2, output="logits")
    with torch.no_grad():
        last = lstm(torch.from_numpy(encode(WINDOWS, "scalar", 2)))[0][:, -1].numpy()
    np.testing.assert_allclose(model.predict_proba(WINDOWS), softmax(last.astype(np.float64)), atol=1e-6)

    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(1, 2)

        def forward(self, x):
            return self.head(x[:, -1]), self.head(x[:, 0])

    with pytest.raises(ModelError) as exc:
        TorchModel(TwoHeads(), alphabet_size=2).predict_proba(WINDOWS)
    assert "returned a tuple of 2 outputs" in one_line(exc)


def test_causal_yes_needs_per_step_outputs():
    with pytest.raises(ModelError) as exc:
        TorchModel(seeded(SeedNetwork), alphabet_size=2, causal="yes")
    assert "causal='no'" in one_line(exc)


def test_what_a_module_raises_is_a_one_line_error_naming_it():
    with pytest.raises(ModelError) as exc:
        TorchModel(Fragile(fail_after=0), alphabet_size=2).predict_proba(WINDOWS)
    message = one_line(exc)
    assert message.startswith("model Fragile raised ValueError: the module gave up on an input of shape (7, 10, 1)")


# -- the model untouched -------------------------------------------------------------------------


def snapshot(module: nn.Module) -> dict:
    return {
        "flags": {name: sub.training for name, sub in module.named_modules()},
        "tensors": {name: (tensor, tensor.detach().clone()) for name, tensor in module.state_dict(keep_vars=True).items()},
    }


def assert_untouched(module: nn.Module, before: dict) -> None:
    after = module.state_dict(keep_vars=True)
    assert {name: sub.training for name, sub in module.named_modules()} == before["flags"]
    assert set(after) == set(before["tensors"])
    for name, (tensor, value) in before["tensors"].items():
        assert after[name] is tensor, f"{name} was replaced"
        assert torch.equal(tensor, value), f"{name} changed"


def test_a_module_in_train_mode_is_checked_in_eval_mode_and_left_as_it_was():
    module = seeded(Fragile).train()
    module.head.eval()  # mixed flags come back as they were, not all True
    before, threads = snapshot(module), torch.get_num_threads()
    model = TorchModel(module, alphabet_size=2)
    np.testing.assert_array_equal(model.predict_proba(WINDOWS), model.predict_proba(WINDOWS))  # no dropout ran
    seqcheck.check(model, pattern="11000", train_length=10, max_examples=5)
    assert_untouched(module, before)
    assert torch.get_num_threads() == threads


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
def test_a_module_that_raises_midway_is_left_as_it_was(error):
    module = seeded(Fragile, fail_after=3, error=error).train()
    before = snapshot(module)
    with pytest.raises(ModelError if error is ValueError else KeyboardInterrupt):
        seqcheck.check(TorchModel(module, alphabet_size=2), pattern="11000", train_length=10, max_examples=5)
    assert module.seen > 3  # it raised (Hypothesis may replay the failing call)
    assert_untouched(module, before)


# -- .pt2 files ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Exported programs and the modules they came from: a causal convolution with dynamic batch and time, an LSTM
    whose time dimension torch.export fixes, and the LSTM with its batch fixed too."""
    folder = tmp_path_factory.mktemp("exported")
    x = torch.zeros(3, 10, 1)
    batch, time = torch.export.Dim("batch"), torch.export.Dim("time")
    made = {}
    for name, module, dims in (
        ("conv", seeded(CausalConv), {0: batch, 1: time}),
        ("fixed_time", seeded(SeedNetwork), {0: batch}),
        ("fixed_batch", seeded(SeedNetwork), None),
    ):
        with warnings.catch_warnings():  # torch.export's advice to the module's author, not to seqcheck
            warnings.simplefilter("ignore")
            program = torch.export.export(module, (x,), dynamic_shapes=None if dims is None else (dims,))
        path = folder / f"{name}.pt2"
        torch.export.save(program, path)
        made[name] = (path, module, program)
    return made


def test_a_pt2_program_with_dynamic_batch_and_time_loads_and_agrees_with_its_module(exported):
    path, module, program = exported["conv"]
    model = load_torch_file(path, alphabet_size=2)
    assert (model.name, model.description, model.encoding, model.fixed_length, model.notes) == (
        str(path), "PyTorch export, Conv1d, Linear", "scalar", None, [],
    )
    assert model.output == "probabilities"  # its graph ends with aten.sigmoid
    for windows in (WINDOWS, WINDOWS[:1, :3]):
        p1 = run(module, windows)[:, 0]
        np.testing.assert_allclose(model.predict_proba(windows), np.stack([1 - p1, p1], axis=1), atol=1e-6)
    assert is_torch_module(program) and TorchModel(program, alphabet_size=2).encoding == "scalar"
    report = seqcheck.check(str(path), pattern="11000", train_length=10, max_examples=5)
    assert (report.model, report.model_description) == (str(path), model.description)


def test_a_pt2_program_with_a_fixed_time_dimension_is_length_rigid(exported):
    path, module, _ = exported["fixed_time"]
    model = load_torch_file(path, alphabet_size=2)
    assert model.fixed_length == 10 and "length-rigid" in model.notes[0]
    with pytest.raises(ModelError) as exc:
        model.predict_proba(WINDOWS[:, :9])
    assert "is length-rigid: it accepts only windows of length 10, not 9" in one_line(exc)
    assert "min_length=10 max_length=10" in str(exc.value)
    report = seqcheck.check(model, pattern="11000", train_length=10, max_examples=5)
    assert (report.space.min_length, report.space.max_length) == (10, 10)
    assert any("length-rigid" in note for note in report.notes)


def test_a_pt2_program_with_a_fixed_batch_is_fed_whole_batches(exported):
    path, module, _ = exported["fixed_batch"]
    model = load_torch_file(path, alphabet_size=2)
    assert model.fixed_batch == 3 and any("batches of 3 windows" in note for note in model.notes)
    p1 = run(module, WINDOWS)[:, 0]
    np.testing.assert_allclose(model.predict_proba(WINDOWS), np.stack([1 - p1, p1], axis=1), atol=1e-6)


def rewritten(source, target, edit=lambda name, data: data, extra=()):
    """A copy of the zip ``source`` with every member passed through ``edit(name, data)``, plus ``extra`` members."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, edit(info.filename, zin.read(info.filename)))
        for name, data, compression in extra:
            zout.writestr(name, data, compress_type=compression)
    return target


def edit_program(change):
    """An ``edit`` for :func:`rewritten` applying ``change(document)`` to the program's JSON."""
    def edit(name, data):
        if not name.endswith("models/model.json"):
            return data
        document = json.loads(data)
        change(document)
        return json.dumps(document).encode()
    return edit


def test_a_pt2_that_unpacks_beyond_the_bound_is_refused(exported, tmp_path, monkeypatch):
    bomb = rewritten(exported["conv"][0], tmp_path / "bomb.pt2", extra=[("conv/extra/padding", b"\0" * (3 << 20), zipfile.ZIP_DEFLATED)])
    assert os.path.getsize(bomb) < 1 << 20
    monkeypatch.setenv("SEQCHECK_MAX_UNPACKED_MIB", "1")
    with pytest.raises(ModelError) as exc:
        load_torch_file(bomb, alphabet_size=2)
    assert "unpacks to more than 1 MiB" in one_line(exc)


class MakesFolder:
    """A pickle that makes a folder when unpickled in full."""

    def __init__(self, folder):
        self.folder = str(folder)

    def __reduce__(self):
        return os.mkdir, (self.folder,)


def _sympy_payload(marker):
    def change(document):
        sizes = document["graph_module"]["graph"]["tensor_values"]["x"]["sizes"]
        sizes[0]["as_expr"]["expr_str"] += f" + 0*len(__import__('os').mkdir({str(marker)!r}) or [])"
    return edit_program(change)


def _first_node_target(target):
    def change(document):
        document["graph_module"]["graph"]["nodes"][0]["target"] = target
    return edit_program(change)


HOSTILE_PT2 = {
    "sympy-eval": (_sympy_payload, "symbolic shape expression"),
    "pickled-sample-inputs": (
        lambda marker: lambda name, data: pickle.dumps(MakesFolder(marker)) if name.endswith("sample_inputs/model.pt") else data,
        "sample inputs that the weights-only unpickler refuses",
    ),
    "pickled-weights": (
        lambda marker: lambda name, data: data.replace(b'"use_pickle": false', b'"use_pickle": true', 1)
        if name.endswith("model_weights_config.json") else data,
        "pickled weight",
    ),
    "operator-importing-a-module": (  # torch.export's verifier admits it; it imports a module by name when run
        lambda marker: _first_node_target("torch.export.custom_ops._call_custom_autograd_function_in_pre_dispatch"),
        "not a torch operator",
    ),
    "guard-code": (lambda marker: edit_program(lambda document: document.update(guards_code=["True"])), "guard code"),
    "treespec-importing-a-module": (
        lambda marker: edit_program(lambda document: document["graph_module"]["module_call_graph"][0]["signature"].update(
            out_spec=json.dumps([1, {"type": "collections.defaultdict", "context": "null", "children_spec": []}]))),
        "a tree spec of type 'collections.defaultdict'",
    ),
    "treespec-naming-an-enum": (
        lambda marker: edit_program(lambda document: document["graph_module"]["module_call_graph"][0]["signature"].update(
            out_spec=json.dumps([1, {"type": "builtins.dict", "children_spec": [],
                                     "context": json.dumps([{"__enum__": True, "fqn": "antigravity:Enum", "name": "x"}])}]))),
        "context holds objects",
    ),
}


@pytest.mark.parametrize("case", HOSTILE_PT2)
def test_a_pt2_carrying_code_is_refused_before_torch_runs_it(exported, tmp_path, case):
    make, said = HOSTILE_PT2[case]
    marker = tmp_path / "ran"
    hostile = rewritten(exported["conv"][0], tmp_path / "hostile.pt2", make(marker))
    with pytest.raises(ModelError) as exc:
        load_torch_file(hostile, alphabet_size=2)
    message = one_line(exc)
    assert said in message and OPT_IN in message, message
    assert not marker.exists()


def test_a_pt2_packaging_compiled_code_or_ambiguous_members_is_refused(exported, tmp_path):
    source = exported["conv"][0]
    for name, said in (("conv/data/aotinductor/model/model.so", "AOTInductor"), ("conv/Models/model.json", "differ only in case")):
        with pytest.raises(ModelError) as exc:
            load_torch_file(rewritten(source, tmp_path / "x.pt2", extra=[(name, b"x", zipfile.ZIP_STORED)]), alphabet_size=2)
        assert said in one_line(exc)


def test_a_pt2_declaring_a_tensor_beyond_the_bound_is_refused(exported, tmp_path):
    def huge(name, data):
        if not name.endswith("model_weights_config.json"):
            return data
        document = json.loads(data)
        next(iter(document["config"].values()))["tensor_meta"]["sizes"] = [{"as_int": 1 << 20}, {"as_int": 1 << 20}]
        return json.dumps(document).encode()

    with pytest.raises(ModelError) as exc:
        load_torch_file(rewritten(exported["conv"][0], tmp_path / "huge.pt2", huge), alphabet_size=2)
    assert "unpacks to more than 1024 MiB" in one_line(exc)


@pytest.mark.parametrize(("make", "said"), [
    (lambda path: path.mkdir(), "is a folder"),
    (lambda path: None, "no such file"),
    (lambda path: path.write_bytes(b""), "the file is empty"),
    (lambda path: path.write_bytes(b"not a zip archive"), "is not a zip archive"),
    (lambda path: path.write_bytes(b"PK\x03\x04" + b"\0" * 64), "is not a valid zip archive"),
])
def test_unusable_pt2_paths_are_one_line_errors(tmp_path, make, said):
    path = tmp_path / "m.pt2"
    make(path)
    with pytest.raises(ModelError) as exc:
        load_torch_file(path, alphabet_size=2)
    assert said in one_line(exc)


def test_a_truncated_pt2_is_a_one_line_error(exported, tmp_path):
    data = exported["conv"][0].read_bytes()
    (tmp_path / "cut.pt2").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError) as exc:
        load_torch_file(tmp_path / "cut.pt2", alphabet_size=2)
    assert "truncated or corrupt" in one_line(exc)


# -- .pt files -----------------------------------------------------------------------------------


def test_a_pickled_module_is_refused_without_the_opt_in_and_loaded_with_it(tmp_path):
    module = seeded(SeedNetwork)
    torch.save(module, tmp_path / "whole.pt")
    with pytest.raises(ModelError) as exc:
        load_torch_file(tmp_path / "whole.pt", alphabet_size=2)
    message = one_line(exc)
    assert "only full unpickling can load" in message and OPT_IN in message and "--unsafe-load" in message
    model = load_torch_file(tmp_path / "whole.pt", alphabet_size=2, allow_unsafe=True)
    assert model.name == str(tmp_path / "whole.pt")
    p1 = run(module, WINDOWS)[:, 0]
    np.testing.assert_allclose(model.predict_proba(WINDOWS), np.stack([1 - p1, p1], axis=1), atol=1e-6)


def test_a_pickle_that_runs_code_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"weights": MakesFolder(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ModelError) as exc:
        load_torch_file(tmp_path / "evil.pt", alphabet_size=2)
    assert OPT_IN in one_line(exc)
    assert not marker.exists()


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a_state_dict_is_refused_as_weights_only(tmp_path, legacy):
    torch.save(seeded(SeedNetwork).state_dict(), tmp_path / "weights.pth", _use_new_zipfile_serialization=not legacy)
    with pytest.raises(ModelError) as exc:
        load_torch_file(tmp_path / "weights.pth", alphabet_size=2)
    assert "holds weights only (a state_dict of 6 tensors)" in one_line(exc)
    assert "load_state_dict" in str(exc.value)


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_a_torchscript_archive_is_refused_without_the_opt_in(tmp_path):
    torch.jit.save(torch.jit.script(nn.Sequential(nn.Linear(1, 1), nn.Sigmoid())), tmp_path / "scripted.pt")
    with pytest.raises(ModelError) as exc:
        load_torch_file(tmp_path / "scripted.pt", alphabet_size=2)
    assert "TorchScript" in one_line(exc) and OPT_IN in str(exc.value)


def test_files_are_refused_with_a_torch_whose_weights_only_unpickler_has_advisories(tmp_path, monkeypatch):
    torch.save(seeded(SeedNetwork), tmp_path / "whole.pt")
    monkeypatch.setattr(torch, "__version__", "2.9.1")
    with pytest.raises(ModelError) as exc:
        load_torch_file(tmp_path / "whole.pt", alphabet_size=2)
    assert "CVE-2026-24747" in one_line(exc)
    assert load_torch_file(tmp_path / "whole.pt", alphabet_size=2, allow_unsafe=True).encoding == "scalar"


# -- lazy import ---------------------------------------------------------------------------------


def test_importing_seqcheck_and_its_registry_imports_no_torch():
    code = "import sys, seqcheck, seqcheck.models.registry; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
