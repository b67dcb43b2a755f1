"""The adapter registry: models matched to their framework's adapter lazily, files by format, third-party adapters
through an entry point, and no framework imported that the user did not import."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import seqcheck
from seqcheck.errors import InvalidArgument, ModelError
from seqcheck.models.registry import BUILTIN_ADAPTERS, adapter_for_file

REPO = Path(__file__).resolve().parents[1]
FRAMEWORKS = ("tensorflow", "keras", "torch", "jax", "flax", "onnx", "onnxruntime")


def run_python(code: str, *, path: Path | None = None) -> subprocess.CompletedProcess:
    env_path = [str(REPO)] + ([str(path)] if path is not None else [])
    env = {"PYTHONPATH": ":".join(env_path), "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300, env=env)


def test_checking_a_plain_callable_imports_no_framework():
    result = run_python(
        f"""
        import sys
        import numpy as np
        import seqcheck
        report = seqcheck.check(lambda x: np.eye(2)[np.asarray(x)[:, 0]], pattern="11000", max_length=12, max_examples=5)
        print([m for m in {FRAMEWORKS!r} if m in sys.modules])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_builtin_adapter_names_functions_that_exist():
    for adapter in BUILTIN_ADAPTERS:
        for attribute in ("accepts", "wrap", "load"):
            if getattr(adapter, attribute):
                assert callable(adapter.function(attribute)), (adapter.name, attribute)


@pytest.mark.parametrize(
    ("name", "adapter"),
    [("m.keras", "keras"), ("m.KERAS", "keras"), ("m.h5", "keras"), ("m.pt2", "torch"), ("m.pt", "torch"), ("m.onnx", "onnx")],
)
def test_a_file_is_matched_by_its_format(name, adapter):
    assert adapter_for_file(name).name == adapter


def test_a_file_of_no_known_format_is_a_one_line_error(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"\0" * 16)
    with pytest.raises(ModelError) as caught:
        seqcheck.check(path, pattern="11000")
    message = str(caught.value)
    assert message == (
        f"model path={str(path)!r}: is not a model file of a known format, expected one of .keras (keras), .pt2 (torch),"
        " .onnx (onnx); save the model in one of them"
    )


def test_engine_is_for_keras_models_only():
    with pytest.raises(InvalidArgument, match="engine='numpy': expected 'auto' for anything but a Keras model"):
        seqcheck.check(lambda x: x, pattern="11000", engine="numpy")


TOY_FRAMEWORK = '''
class ToyModel:
    """A "framework" whose models predict the pattern 11000 from a window's phase and length, perfectly."""

    pattern = [1, 1, 0, 0, 0]

    def predict(self, windows):
        import numpy as np

        windows = np.asarray(windows)
        period = len(self.pattern)
        # A window of the stream 11000... ending at phase-aligned position t predicts pattern[(t + 1) % 5]: find the
        # alignment from the window's last five symbols.
        rows = np.tile([1.0, 0.0], (len(windows), 1))  # a window that is not of the stream: any answer
        for row, window in zip(rows, windows):
            for shift in range(period):
                if all(window[-1 - i] == self.pattern[(shift - i) % period] for i in range(min(period, len(window)))):
                    row[:] = np.eye(2)[self.pattern[(shift + 1) % period]]
                    break
        return rows
'''

TOY_ADAPTER = '''
import sys

from seqcheck.models import CallableModel
from seqcheck.models.registry import Adapter

ASKED = []


def accepts(obj):
    ASKED.append(type(obj).__name__)
    return isinstance(obj, sys.modules["toyframework"].ToyModel)


def wrap(obj, *, alphabet_size, encoding, output, causal, classes, class_meaning):
    model = CallableModel(obj.predict, alphabet_size=alphabet_size, output=output, classes=classes)
    model.description = "Toy framework"
    return model


def load(path, *, allow_unsafe, **options):
    import toyframework

    model = wrap(toyframework.ToyModel(), **options)
    model.name = str(path)
    return model


ADAPTER = Adapter("toy", ("toyframework",), accepts="toy_seqcheck:accepts", wrap="toy_seqcheck:wrap",
                  suffixes=(".toy",), load="toy_seqcheck:load")
'''


@pytest.fixture
def toy_distribution(tmp_path):
    """A folder holding an installed distribution that registers a seqcheck adapter through an entry point."""
    (tmp_path / "toyframework.py").write_text(TOY_FRAMEWORK)
    (tmp_path / "toy_seqcheck.py").write_text(TOY_ADAPTER)
    info = tmp_path / "toy_seqcheck-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-seqcheck\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[seqcheck.adapters]\ntoy = toy_seqcheck:ADAPTER\n")
    return tmp_path


def test_a_third_party_adapter_registers_through_an_entry_point(toy_distribution):
    (toy_distribution / "m.toy").write_text("a toy model file")
    result = run_python(
        f"""
        import json, sys
        import numpy as np
        import seqcheck
        import toy_seqcheck
        seqcheck.check(lambda x: np.eye(2)[np.asarray(x)[:, 0]], pattern="11000", max_length=12, max_examples=5)
        asked_before_import = list(toy_seqcheck.ASKED)
        import toyframework
        report = seqcheck.check(toyframework.ToyModel(), pattern="11000", max_length=12, max_examples=5)
        from_file = seqcheck.check({str(toy_distribution / "m.toy")!r}, pattern="11000", max_length=12, max_examples=5)
        print(json.dumps([asked_before_import, report.passed, report.model_description, from_file.passed, from_file.model]))
        """,
        path=toy_distribution,
    )
    assert result.returncode == 0, result.stderr
    asked_before_import, passed, description, file_passed, file_name = json.loads(result.stdout)
    assert asked_before_import == []  # the toy framework was not imported: its adapter was not asked
    assert passed and description == "Toy framework"
    assert file_passed and file_name == str(toy_distribution / "m.toy")


def test_a_broken_entry_point_is_a_one_line_error(toy_distribution):
    (toy_distribution / "toy_seqcheck-0.1.dist-info" / "entry_points.txt").write_text(
        "[seqcheck.adapters]\ntoy = toy_seqcheck:NO_SUCH_NAME\n"
    )
    result = run_python(
        """
        import seqcheck
        from seqcheck.errors import ModelError
        try:
            seqcheck.check("model.unknown", pattern="11000")
        except ModelError as exc:
            print(exc)
        """,
        path=toy_distribution,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("adapter entry point toy='toy_seqcheck:NO_SUCH_NAME': could not be loaded (AttributeError")
    assert result.stdout.strip().endswith("fix or uninstall the package that registers it")


@pytest.mark.slow
def test_a_pytorch_or_jax_user_needs_no_tensorflow(tmp_path):
    """With Keras and TensorFlow made unimportable (as if not installed), a PyTorch module, its ONNX export and a
    jitted JAX function are checked, and no other framework is imported than the one in use."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("jax")
    result = run_python(
        f"""
        import sys
        sys.modules["keras"] = sys.modules["tensorflow"] = None  # "not installed": importing them raises ImportError
        import numpy as np
        import seqcheck

        def imported():
            return [m for m in {FRAMEWORKS!r} if sys.modules.get(m) is not None]

        import torch
        torch.manual_seed(0)
        module = torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.Softmax(dim=-1))
        torch_report = seqcheck.check(module, pattern="11000", max_length=12, max_examples=5)
        torch_frameworks = imported()
        path = {str(tmp_path / "m.onnx")!r}
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter's deprecation warning
            torch.onnx.export(module, (torch.zeros(2, 5, 1),), path, dynamo=False, input_names=["x"],
                              dynamic_axes={{"x": {{0: "batch", 1: "time"}}}})
        onnx_report = seqcheck.check(path, pattern="11000", max_length=12, max_examples=5)
        print(torch_report.model_description, torch_frameworks)
        print(onnx_report.model_description, imported())

        import jax, jax.numpy as jnp
        jax_report = seqcheck.check(jax.jit(lambda x: jax.nn.one_hot(x[:, -1], 2)), pattern="11000", max_length=12,
                                    max_examples=5)
        print(jax_report.model_description, sorted(set(imported()) - {{"torch", "onnx", "onnxruntime"}}))
        """,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-3] == "PyTorch, Linear, Softmax ['torch']"
    assert lines[-2] == "ONNX, MatMul, Add, Softmax ['torch', 'onnx', 'onnxruntime']"
    assert lines[-1] == "JAX, jitted function <lambda> ['jax']"
