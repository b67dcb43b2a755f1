"""What the ``seqcheck`` command writes, and what a CI gate can trust about it.

Reports through devices, FIFOs, symbolic links and standard output; their modes; outputs refused
before the check; exit codes 2 (I/O) and 3 (internal error); the reproduce line run as a shell would
run it; file names and model files holding bytes a terminal would act on; Ctrl-C while the command
starts; ``import seqcheck`` loading nothing until used.  Refused inputs that fit the table of
``docs/bad-input.md`` are in ``tests/test_bad_input.py``.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from seqcheck import files
from seqcheck.integrations.cli import main

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
FAST = ("--pattern", "11000", "--max-length", "12", "--max-examples", "5")


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    if "stdout" not in kwargs:
        kwargs.setdefault("capture_output", True)
    kwargs.setdefault("env", ENV)
    return subprocess.run([sys.executable, "-m", "seqcheck", *args], timeout=300, **kwargs)


def seqcheck_lines(stderr: str) -> list[str]:
    """The lines seqcheck wrote to stderr (TensorFlow's start-up lines are another matter)."""
    return [line for line in stderr.splitlines() if line.startswith("seqcheck")]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A tiny untrained LSTM -> Dense(1, sigmoid), seeded: a check of it takes a second."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    keras.Sequential([keras.Input((None, 1)), keras.layers.LSTM(2), keras.layers.Dense(1, activation="sigmoid")]).save(path)
    return path


# -- where reports go ------------------------------------------------------------------------------


def test_devices_fifos_and_links_are_written_through_and_files_get_the_umask(model, tmp_path, capsys):
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # our own /dev/null: a broken writer cannot harm the real one
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    target, link = tmp_path / "target.md", tmp_path / "link.md"
    target.write_text("the old summary\n")
    target.chmod(0o644)  # not what the umask below gives a new file
    link.symlink_to(target.name)
    fresh = tmp_path / "fresh.json"
    umask = os.umask(0o027)
    try:
        code = main(["check", str(model), *FAST, "--json", str(fresh), "--junit-xml", str(fifo),
                     "--markdown", str(link), "--plot", str(null)])
    finally:
        os.umask(umask)
        reader.join(timeout=60)
        if reader.is_alive():  # nothing was written to the FIFO: let its reader go
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert code in (0, 1), capsys.readouterr().err
    assert stat.S_ISCHR(null.lstat().st_mode) and stat.S_ISFIFO(fifo.lstat().st_mode)
    assert ET.fromstring(received[0]).find("testsuite").get("name") == "seqcheck"
    assert link.is_symlink() and os.readlink(link) == target.name
    assert target.read_text().startswith("## seqcheck") and stat.S_IMODE(target.stat().st_mode) == 0o644
    assert json.loads(fresh.read_text())["version"] and stat.S_IMODE(fresh.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "fresh.json", "link.md", "null", "target.md"]


def test_dash_is_stdout_which_then_holds_the_report_alone(model, capsys):
    code = main(["check", str(model), *FAST, "--json", "-"])
    captured = capsys.readouterr()
    assert json.loads(captured.out)["passed"] is (code == 0)
    assert "reproduce: seqcheck check" in captured.err


def test_a_path_to_the_file_stdout_goes_to_is_stdout(model, tmp_path):
    dev_stdout = tmp_path / "stdout"  # what /dev/stdout is; never the real one, which a broken writer would replace
    dev_stdout.symlink_to("/proc/self/fd/1")
    out = tmp_path / "out.json"
    with open(out, "wb") as stdout:
        result = run("check", str(model), *FAST, "--json", str(dev_stdout), stdout=stdout, stderr=subprocess.PIPE, text=True)
    assert result.returncode in (0, 1), result.stderr
    assert json.loads(out.read_text())["version"]  # the report alone, not truncated by a second open, no text around it
    assert "reproduce: seqcheck check" in result.stderr
    assert dev_stdout.is_symlink()


def test_check_recipe_json_on_stdout_keeps_training_logs_off_it(monkeypatch, capsys):
    import seqcheck.training.recipe_check

    class Result:
        passed = True

        def render(self):
            return "recipe holds"

        def to_dict(self):
            return {"passed": True}

    def fake_check_recipe(recipe, **options):
        print("Epoch 1/1 - loss 0.1")  # what Keras prints while training
        return Result()

    monkeypatch.setattr(seqcheck.training.recipe_check, "check_recipe", fake_check_recipe)
    assert main(["check-recipe", "fixed-window", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"passed": True}
    assert "Epoch 1/1" in captured.err and "recipe holds" in captured.err


def test_a_socket_is_refused_before_the_check(model, tmp_path, capsys):
    path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        assert main(["check", str(model), *FAST, "--json", str(path)]) == 2
    finally:
        server.close()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"seqcheck: error: --json={shlex.quote(str(path))}: expected a path a report can be written to;")


def test_a_device_without_write_permission_is_refused_before_the_check(model, tmp_path, monkeypatch, capsys):
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o444, os.makedev(1, 3))
    real_access = os.access
    monkeypatch.setattr(files.os, "access", lambda path, mode: False if os.fspath(path) == str(null) else real_access(path, mode))
    assert main(["check", str(model), *FAST, "--json", str(null)]) == 2  # as a user other than root would get
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        f"seqcheck: error: --json={shlex.quote(str(null))}: expected a path a report can be written to; Permission denied; choose another path\n"
    )


def test_plot_over_the_budget_is_refused_before_anything_is_written(model, tmp_path, capsys):
    report = tmp_path / "r.json"
    code = main(["check", str(model), "--pattern", "11000", "--exhaustive-budget", "100", "--json", str(report),
                 "--plot", str(tmp_path / "h.png")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and not report.exists()
    assert "lower --max-length to 6 or raise --exhaustive-budget to 4085" in captured.err


def test_help_states_the_default_exhaustive_budgets(capsys):
    from seqcheck.checking import DEFAULT_EXHAUSTIVE_BUDGET, DEFAULT_SEQUENCE_BUDGET

    with pytest.raises(SystemExit):
        main(["check", "--help"])
    expected = f"(default {DEFAULT_EXHAUSTIVE_BUDGET} on a pattern, {DEFAULT_SEQUENCE_BUDGET} on a task)"
    assert expected in " ".join(capsys.readouterr().out.split())


# -- exit codes ------------------------------------------------------------------------------------


def test_a_failed_write_is_one_line_exit_2_and_the_old_report_stays(model, tmp_path, monkeypatch, capsys):
    report = tmp_path / "r.json"
    report.write_text("the previous report\n")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full)
    assert main(["check", str(model), *FAST, "--json", str(report)]) == 2
    err = capsys.readouterr().err
    assert err == (f"seqcheck: error: --json={shlex.quote(str(report))}: expected a file written in full; writing it failed"
                   " (No space left on device); free space or choose another path\n")
    assert report.read_text() == "the previous report\n" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_an_internal_error_is_exit_3_with_one_line_and_the_traceback_on_request(monkeypatch, capsys):
    import seqcheck.checking

    def broken(*args, **kwargs):
        raise RuntimeError("the search went wrong\nsecond line")

    monkeypatch.setattr(seqcheck.checking, "check", broken)
    args = ["check", "m.keras", "--pattern", "11000"]
    monkeypatch.delenv("SEQCHECK_TRACEBACK", raising=False)
    assert main(args) == 3
    line = ("seqcheck: internal error: RuntimeError: the search went wrong; set SEQCHECK_TRACEBACK=1 to see the"
            " traceback\n")
    assert capsys.readouterr().err == line
    monkeypatch.setenv("SEQCHECK_TRACEBACK", "1")
    assert main(args) == 3
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and err.endswith(line)


def test_any_other_io_failure_is_one_line_exit_2(monkeypatch, capsys):
    import seqcheck.checking

    def unreadable(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/data/vocab.txt")

    monkeypatch.setattr(seqcheck.checking, "check", unreadable)
    assert main(["check", "m.keras", "--pattern", "11000"]) == 2
    assert capsys.readouterr().err == (
        "seqcheck: error: path='/data/vocab.txt': expected a file seqcheck can use; Permission denied; check it and its folder\n"
    )


def test_a_closed_stdout_is_one_line_exit_2(model):
    proc = subprocess.Popen([sys.executable, "-m", "seqcheck", "check", str(model), *FAST], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader left, as `seqcheck check ... | head -0` would
    err = proc.stderr.read()
    proc.wait(timeout=300)
    assert proc.returncode == 2, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert seqcheck_lines(err) == [
        "seqcheck: error: output='stdout': expected an output open until seqcheck ends; Broken pipe; keep its reader open"
    ]


# -- the reproduce line ----------------------------------------------------------------------------


def _reproduce(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("reproduce: ")).removeprefix("reproduce: ")


@pytest.mark.parametrize(
    "options",
    [
        ("--engine", "keras", "--min-length", "4", "--encoding", "scalar"),
        ("--output-kind", "probabilities", "--exhaustive-budget", "300", "--unsafe-load", "--train-length", "6",
         "--alphabet-size", "2", "--seed", "3"),
    ],
    ids=["engine-min-length-encoding", "output-kind-budget-unsafe"],
)
def test_the_printed_reproduce_line_run_by_a_shell_gives_the_same_report(options, model, tmp_path, capsys):
    folder = tmp_path / "$(touch pwned) models"
    folder.mkdir()
    path = folder / "my model.keras"
    shutil.copy(model, path)
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    code = main(["check", str(path), *FAST, *options, "--json", str(first)])
    line = _reproduce(capsys.readouterr().out)
    for option in options:
        if option.startswith("--"):
            assert option in line
    words = shlex.split(line)
    assert words[:3] == ["seqcheck", "check", str(path)]
    result = subprocess.run([sys.executable, "-m", "seqcheck", *words[1:], "--json", str(second)], cwd=tmp_path, env=ENV,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == code, result.stderr
    reproduced, original = json.loads(second.read_text()), json.loads(first.read_text())
    engine = original["model"]["engine"]
    assert f"--engine {engine}" in line  # the engine that ran, asked for by name: only why it ran may differ
    assert reproduced["model"].pop("engine_reason") == f"as asked (--engine={engine})"
    original["model"].pop("engine_reason")
    assert reproduced == original
    assert _reproduce(result.stdout) == line
    assert not list(tmp_path.rglob("pwned"))


def test_a_model_path_starting_with_a_dash_is_not_read_as_an_option(model, tmp_path, monkeypatch):
    import seqcheck

    monkeypatch.chdir(tmp_path)
    shutil.copy(model, tmp_path / "-m.keras")
    report = seqcheck.check("-m.keras", pattern="11000", max_length=12, max_examples=5)
    words = shlex.split(report.reproduce)
    assert words[2] == "./-m.keras"
    result = run(*words[1:], "--json", "r.json", cwd=tmp_path, text=True)
    assert result.returncode == (0 if report.passed else 1), result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["invariants"] == report.to_dict()["invariants"]


# -- bytes a terminal would act on, names that are not UTF-8 ---------------------------------------


def test_escape_sequences_from_a_model_file_reach_no_terminal_and_no_report(model, tmp_path, capsys):
    path = tmp_path / "\x1b]0;owned\x07\x1b[2Jmodel.keras"
    shutil.copy(model, path)
    junit, markdown = tmp_path / "r.xml", tmp_path / "r.md"
    main(["check", str(path), *FAST, "--junit-xml", str(junit), "--markdown", str(markdown)])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[2Jmodel.keras" in out
    for report in (junit, markdown):
        assert "\x1b" not in report.read_text() and "\\x1b[2J" in report.read_text()
    ET.parse(junit)  # and the XML is still XML

    crafted = tmp_path / "crafted.keras"
    with zipfile.ZipFile(crafted, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps({"class_name": "\x1b[2J\x1b[31mEvil", "config": {}, "module": "keras.layers"}))
    assert main(["check", str(crafted), "--pattern", "11000"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[31mEvil" in err

    with pytest.raises(SystemExit):  # argparse's own messages quote what was typed
        main(["check", str(crafted), "--pattern", "11000", "\x1b[2Jextra"])
    err = capsys.readouterr().err
    assert "\x1b" not in err and "unrecognized arguments: \\x1b[2Jextra" in err


def test_file_names_that_are_not_utf8_are_written_and_shown_escaped(model, tmp_path):
    folder = os.fsencode(tmp_path)
    shutil.copy(model, os.path.join(folder, b"m\xff.keras"))
    env = {**ENV, "PYTHONIOENCODING": "utf-8:strict"}
    result = subprocess.run(
        [sys.executable, "-m", "seqcheck", "check", b"m\xff.keras", *FAST, "--json", b"\xff.json", "--junit-xml", b"\xff.xml",
         "--markdown", b"\xff.md", "--plot", b"\xff.png"],
        cwd=folder, env=env, capture_output=True, timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    assert b"Traceback" not in result.stderr
    assert b"reproduce: seqcheck check 'm\\xff.keras'" in result.stdout
    for name in (b"\xff.json", b"\xff.xml", b"\xff.md", b"\xff.png"):
        assert os.path.getsize(os.path.join(folder, name)) > 0
    with open(os.path.join(folder, b"\xff.md"), encoding="utf-8") as markdown:
        assert "m\\xff.keras" in markdown.read()


# -- start-up --------------------------------------------------------------------------------------

INTERRUPT_WHILE_IMPORTING = """
import os, signal, sys

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == sys.argv[1]:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, while Python looks for that module
        return None

sys.meta_path.insert(0, Interrupt())
from seqcheck.integrations.cli import main  # as the installed `seqcheck` script does
sys.exit(main(sys.argv[2:]))
"""


def _interrupted_while_importing(module: str, model: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", INTERRUPT_WHILE_IMPORTING, module, "check", str(model), *FAST],
                          env=ENV, capture_output=True, text=True, timeout=300, **kwargs)


@pytest.mark.parametrize("module", ["seqcheck.errors", "seqcheck.files", "argparse", "seqcheck.checking", "hypothesis", "keras"])
def test_ctrl_c_at_any_moment_of_start_up_exits_130_without_a_traceback(module, model):
    result = _interrupted_while_importing(module, model)
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr and seqcheck_lines(result.stderr) == ["seqcheck: interrupted"]
    assert result.stdout == ""


def test_a_process_that_ignores_ctrl_c_keeps_ignoring_it_while_starting(model):
    result = _interrupted_while_importing("seqcheck.files", model, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert result.returncode in (0, 1), result.stderr
    assert "reproduce: seqcheck check" in result.stdout


def test_import_seqcheck_loads_nothing_until_a_name_is_used():
    code = """
import sys
import signal
import seqcheck, seqcheck.integrations.cli
assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # as before: the command's own handler is gone
loaded = [m for m in ("seqcheck.checking", "hypothesis", "numpy") if m in sys.modules]
from seqcheck import Pattern, check, strategies, __version__
from seqcheck import *
assert set(seqcheck.__all__) <= set(dir(seqcheck))
assert all(getattr(seqcheck, name) is not None for name in seqcheck.__all__)
try:
    seqcheck.no_such_name
except AttributeError as exc:
    assert "no_such_name" in str(exc)
print(loaded, check.__module__, strategies.__name__, Pattern.__module__, __version__)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "seqcheck.checking", "seqcheck.strategies", "seqcheck.tasks.patterns", "0.1.0"]
