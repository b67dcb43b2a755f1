"""The pytest plugin and ``Subject`` on sequence tasks, through pytester: a user's own task declared in a few lines,
checked through ``Subject`` and through ``--seqcheck-task``; a model that breaks beyond its training lengths; the
usage errors of the options.

As in ``tests/test_plugin.py``, runs that check a model go through ``runpytest_subprocess`` (TensorFlow cannot be
imported twice into one process), and this module imports what in-process runs import (NumPy, Hypothesis, the
tasks), so that those runs find it loaded and keep it.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys

import numpy as np
import pytest

import seqcheck
import seqcheck.tasks  # noqa: F401  (see the module's docstring)
from seqcheck.errors import InvalidArgument
from seqcheck.integrations.subject import Subject
from seqcheck.reports.baseline import report_from_dict
from seqcheck.reports.report import REPORT_VERSION

pytest_plugins = ["pytester"]

#: A user's own task, in a module of the user's project.
USER_TASKS = '''
from seqcheck.tasks import SequenceTask, transposition

majority = SequenceTask(
    "majority", symbols=["0", "1"], classes=["no", "yes"],
    target=lambda seq: int(2 * sum(seq) > len(seq)),  # more 1s than 0s
    relations=[transposition()],
)
'''

USER_TEST = """
from seqcheck.integrations.assertions import assert_holds

def test_invariant_holds(seqcheck_result):
    assert_holds(seqcheck_result)
"""

#: The skip reasons of the two stream-task invariants on a sequence task, as ``-rs`` lists them.
NOT_APPLICABLE = [
    "SKIPPED [[]1[]] *: phase-shift invariance is not applicable: defined on stream tasks; task {task} is a sequence task",
    "SKIPPED [[]1[]] *: periodic consistency is not applicable: defined on stream tasks; task {task} is a sequence task",
]


def test_a_users_task_checked_through_a_subject(pytester):
    """An exact oracle passes every applicable invariant of the task's battery (metamorphic relations too); the stream
    invariants are skipped with the reason; the fixtures give the task and refuse a pattern."""
    pytester.makepyfile(
        usertasks=USER_TASKS,
        test_majority="""
        import numpy as np
        import seqcheck
        from seqcheck.integrations.assertions import assert_holds
        from usertasks import majority

        def oracle(batch):
            return np.eye(2)[(2 * batch.sum(axis=1) > batch.shape[1]).astype(int)]

        EXACT = seqcheck.Subject("exact", oracle, task="usertasks:majority", train_length=4, max_length=10)

        @seqcheck.battery(EXACT)
        def test_exact(seqcheck_result):
            assert_holds(seqcheck_result)

        @seqcheck.battery(
            seqcheck.Subject("object", oracle, task=majority, train_length=4, max_length=10),
            invariants=[seqcheck.length_generalization],
        )
        def test_fixtures(seqcheck_task, seqcheck_model, seqcheck_invariant, seqcheck_check):
            assert seqcheck_task is majority
            report = seqcheck_check(seqcheck_model, task=seqcheck_task, max_length=6, invariants=[seqcheck_invariant])
            assert report.passed and report.reproduce.startswith("seqcheck.check(model, task='usertasks:majority'")

        @seqcheck.battery(EXACT, invariants=[seqcheck.length_generalization])
        def test_no_pattern(seqcheck_pattern, seqcheck_invariant):
            pass
        """,
    )
    result = pytester.runpytest_subprocess("-rs", "--seqcheck-report", "seqcheck.json")
    result.assert_outcomes(passed=4, skipped=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_no_pattern[[]exact-length_generalization[]]*",
            "seqcheck_pattern: exact is checked on task usertasks:majority, which has no pattern; ask for seqcheck_task instead",
        ]
    )
    result.stdout.fnmatch_lines([line.format(task="majority") for line in NOT_APPLICABLE])
    result.stdout.fnmatch_lines(
        [
            "*= seqcheck =*",
            "exact  phase-shift invariance   n/a                0 inputs",
            "exact  length generalization    pass * inputs",
            "exact  periodic consistency     n/a                0 inputs",
            "exact  batch invariance         pass * inputs",
            "exact  metamorphic relations    pass * inputs",
        ]
    )
    rows = json.loads((pytester.path / "seqcheck.json").read_text())["results"]
    assert [(row["model"], row["task"], row["pattern"], row["result"]["name"], row["result"]["status"]) for row in rows] == [
        ("exact", "usertasks:majority", None, "phase_shift_invariance", "not applicable"),
        ("exact", "usertasks:majority", None, "length_generalization", "pass"),
        ("exact", "usertasks:majority", None, "periodic_consistency", "not applicable"),
        ("exact", "usertasks:majority", None, "batch_invariance", "pass"),
        ("exact", "usertasks:majority", None, "metamorphic_relations", "pass"),
    ]  # test_fixtures asks for no result: no row


#: A tiny Keras model of majority: the mean of the one-hot input, then logits 10 * (share of 0s, share of 1s + 0.01).
#: Right wherever the 1s and 0s are not tied; on a tie it says "yes" where majority says "no".
BUILD_KERAS_MODEL = """
import sys
import numpy as np
import keras

model = keras.Sequential([keras.Input((None, 2)), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2, activation="softmax")])
model.layers[-1].set_weights([np.array([[10.0, 0.0], [0.0, 10.0]], "float32"), np.array([0.0, 0.1], "float32")])
model.save(sys.argv[1])
"""


def test_a_users_task_on_the_command_line_with_a_keras_model(pytester):
    """``--seqcheck-task module:attr`` with ``--seqcheck-model``: the failure names the minimal counterexample in the
    task's symbol and class names, and how to reproduce it."""
    pytester.makepyfile(usertasks=USER_TASKS, test_props=USER_TEST)
    (pytester.path / "build.py").write_text(BUILD_KERAS_MODEL)
    subprocess.run([sys.executable, "build.py", "tiny.keras"], cwd=pytester.path, check=True, capture_output=True, timeout=600)
    model = pytester.path / "tiny.keras"
    result = pytester.runpytest_subprocess(
        "-rs", "--seqcheck-model", "tiny.keras", "--seqcheck-task", "usertasks:majority",
        "--seqcheck-train-length", "4", "--seqcheck-max-length", "10",
    )
    result.assert_outcomes(passed=2, failed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            f"seqcheck: seed 0, profile ci, checking model {model}, task usertasks:majority",
            "*InvariantViolation: length generalization violated (oracle)*",
            "*minimal (oracle):*",
            "*input 0 1   (length 2)  -> predicted yes (p=0.52); expected no*",
            f"*reproduce: seqcheck check {model} --task usertasks:majority --train-length 4 --max-length 10 --engine keras --seed 0*",
            "*= seqcheck =*",
            "tiny.keras  length generalization    FAIL * inputs   minimal: length 2, input 0 1, expected no, predicted yes (oracle)",
        ]
    )
    result.stdout.fnmatch_lines([line.format(task="majority") for line in NOT_APPLICABLE], consecutive=False)


#: Parity, exact through length 6 (its training lengths) and wrong beyond; loaded by a function that logs each load.
BREAKS_BEYOND_6 = """
import os
import numpy as np
import seqcheck
from seqcheck.integrations.assertions import assert_holds

def load():
    with open(os.path.join(os.path.dirname(__file__), "loads.txt"), "a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + "\\n")

    def model(batch):
        odd = batch.sum(axis=1) % 2
        return np.eye(2)[odd if batch.shape[1] <= 6 else 1 - odd]
    return model

@seqcheck.battery(seqcheck.Subject.deferred("short", load, task="parity", train_length=6, max_length=10))
def test_parity(seqcheck_result):
    assert_holds(seqcheck_result)
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2", "--dist", "each"]], ids=["serial", "xdist-each"])
def test_a_model_that_breaks_beyond_its_training_lengths(pytester, xdist):
    """The failure shows the minimal counterexample, the shortest input beyond length 6: seven 0s (``0 0 0 0 0 0 0``;
    a run is written ``0×7`` in inputs longer than 16 only).  Under xdist, where --dist each runs every test in both
    workers, one worker computes the battery and the other reads its report back."""
    pytester.makepyfile(test_parity=BREAKS_BEYOND_6)
    result = pytester.runpytest_subprocess("-rs", *xdist)
    runs = 2 if xdist else 1
    result.assert_outcomes(passed=runs, failed=2 * runs, skipped=2 * runs)
    lines = [
        "*InvariantViolation: length generalization violated (oracle)*",
        "*minimal (oracle):*",
        "*input 0 0 0 0 0 0 0   (length 7)  -> predicted odd (p=1.00); expected even*",
        "*reproduce: seqcheck.check(model, task='parity', train_length=6, max_length=10, seed=0)*",
        "*InvariantViolation: metamorphic relations violated (neutral insertion)*",
        "*minimal (neutral insertion):*",
        "*input 0 0 0 0 0 0   (length 6)  -> predicted even (p=1.00)*",
        "*insert 0 at position 0: length 7  0 0 0 0 0 0 0  -> predicted odd (p=1.00); expected even*",
    ]
    result.stdout.fnmatch_lines(lines)
    output = result.stdout.lines
    shown = [sum(fnmatch.fnmatch(line, pattern) for line in output) for pattern in lines]
    assert shown == [runs, runs, runs, 2 * runs, runs, runs, runs, runs]  # once per failure, the reproduce line in both
    result.stdout.fnmatch_lines(
        [
            "*= seqcheck =*",
            "short  length generalization    FAIL * inputs   minimal: length 7, input 0 0 0 0 0 0 0, expected even, predicted odd (oracle)",
            "short  batch invariance         pass * inputs",
            "short  metamorphic relations    FAIL * inputs   minimal: length 6, input 0 0 0 0 0 0 predicted even,"
            " insert 0 at position 0: input 0 0 0 0 0 0 0 predicted odd (neutral insertion)",
        ]
    )
    skipped = "1" if not xdist else "2"  # -rs counts a reason's tests
    result.stdout.fnmatch_lines([line.replace("[[]1[]]", f"[[]{skipped}[]]").format(task="parity") for line in NOT_APPLICABLE])
    assert len((pytester.path / "loads.txt").read_text().split()) == 1


# -- Usage errors: one line at start-up, before any model is loaded -----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--seqcheck-model", "m.keras"],
            "--seqcheck-model='m.keras' needs --seqcheck-pattern or --seqcheck-task (ini seqcheck_pattern, seqcheck_task): what the"
            " model was trained on; pass e.g. --seqcheck-pattern 11000 or --seqcheck-task parity",
        ),
        (
            ["--seqcheck-model", "m.keras", "--seqcheck-pattern", "11000", "--seqcheck-task", "parity"],
            "--seqcheck-pattern='11000' and --seqcheck-task='parity' both given: --seqcheck-model='m.keras' is checked on one task;"
            " drop one of them",
        ),
        (
            ["--seqcheck-model", "m.keras", "--seqcheck-task", "partiy"],
            "--seqcheck-task='partiy': expected one of parity, even-pairs, modular-arithmetic, cycle-navigation, dyck-1, or"
            " module:attr; name a built-in task (seqcheck tasks lists them) or your own as module:attr",
        ),
        (
            ["--seqcheck-task", "partiy"],  # no model: still checked at start-up
            "--seqcheck-task='partiy': expected one of parity, even-pairs, modular-arithmetic, cycle-navigation, dyck-1, or"
            " module:attr; name a built-in task (seqcheck tasks lists them) or your own as module:attr",
        ),
        (
            ["--seqcheck-model", "m.keras", "--seqcheck-task", "nosuchmodule:majority"],
            "--seqcheck-task='nosuchmodule:majority': expected an importable module (importing nosuchmodule raised"
            " ModuleNotFoundError: No module named 'nosuchmodule'); name a built-in task (seqcheck tasks lists them) or your"
            " own as module:attr",
        ),
        (
            ["--seqcheck-model", "m.keras", "--seqcheck-task", "usertasks:minority"],
            "--seqcheck-task='usertasks:minority': expected a seqcheck task object at minority in usertasks (found NoneType);"
            " point at a SequenceTask(...)",
        ),
        (
            ["--seqcheck-model", "m.keras", "--seqcheck-task", "parity", "--seqcheck-baseline", "base.json"],
            "--seqcheck-baseline='base.json': expected no baseline with --seqcheck-task='parity': baselines compare pattern"
            " (stream-task) reports; drop --seqcheck-baseline",
        ),
    ],
    ids=["neither", "both", "unknown-task", "unknown-task-no-model", "no-module", "no-attr", "baseline"],
)
def test_usage_errors(pytester, args, expected):
    pytester.makepyfile(usertasks=USER_TASKS, test_props=USER_TEST)
    (pytester.path / "m.keras").write_bytes(b"")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line] == [f"ERROR: {expected}"]
    assert "test_props.py" not in result.stdout.str()  # nothing collected, nothing run


def test_a_bad_task_in_the_ini_file_is_a_usage_error(pytester):
    pytester.makepyfile(test_props=USER_TEST)
    (pytester.path / "m.keras").write_bytes(b"")
    pytester.makeini("[pytest]\nseqcheck_model = m.keras\nseqcheck_task = partiy\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: seqcheck_task = partiy in {pytester.path / 'tox.ini'}: expected one of parity, *"])


def test_the_configured_task_names_the_header_and_its_battery(pytester):
    """Collection reads no model: the header names the task, and the battery is the task's (metamorphic relations too)."""
    pytester.makepyfile(usertasks=USER_TASKS, test_props=USER_TEST)
    (pytester.path / "m.keras").write_bytes(b"")
    result = pytester.runpytest("--co", "--seqcheck-model", "m.keras", "--seqcheck-task", "parity", "--seqcheck-seed", "3")
    assert result.ret == pytest.ExitCode.OK, result.errlines
    result.stdout.fnmatch_lines([f"seqcheck: seed 3, profile ci, checking model {pytester.path / 'm.keras'}, task parity"])
    assert [line.strip() for line in result.outlines if "<Function" in line] == [
        f"<Function test_invariant_holds[m.keras-{name}]>"
        for name in ("phase_shift_invariance", "length_generalization", "periodic_consistency", "batch_invariance", "metamorphic_relations")
    ]
    pytester.makeini("[pytest]\nseqcheck_model = m.keras\nseqcheck_task = usertasks:majority\n")
    result = pytester.runpytest("--co")
    assert result.ret == pytest.ExitCode.OK, result.errlines
    result.stdout.fnmatch_lines([f"seqcheck: seed 0, profile ci, checking model {pytester.path / 'm.keras'}, task usertasks:majority"])


# -- Subject, without pytest's runs -------------------------------------------------------------------------------------


def _parity_breaking_beyond(n: int):
    def model(batch):
        odd = batch.sum(axis=1) % 2
        return np.eye(2)[odd if batch.shape[1] <= n else 1 - odd]
    return model


def test_a_subject_takes_exactly_one_of_pattern_and_task():
    with pytest.raises(InvalidArgument, match=r"^task=None: expected one of task= or pattern= for subject 'm'; pass task="):
        Subject("m", _parity_breaking_beyond(6))
    with pytest.raises(InvalidArgument, match=r"^task='parity': expected either task= or pattern= for subject 'm', not both"):
        Subject("m", _parity_breaking_beyond(6), pattern="11000", task="parity")
    with pytest.raises(InvalidArgument, match=r"^task='partiy': expected one of parity, even-pairs"):
        Subject("m", _parity_breaking_beyond(6), task="partiy")
    with pytest.raises(InvalidArgument, match=r"^baseline='base.json': expected no baseline with task parity"):
        Subject("m", _parity_breaking_beyond(6), task="parity", baseline="base.json")
    on_pattern = Subject("m", _parity_breaking_beyond(6), pattern="11000")
    assert [invariant.name for invariant in on_pattern.invariants()] == [invariant.name for invariant in seqcheck.DEFAULT_INVARIANTS]
    on_task = Subject("m", _parity_breaking_beyond(6), task="parity")
    assert on_task.invariants() == seqcheck.invariants.ALL_INVARIANTS
    assert on_task.resolved_task() is seqcheck.tasks.parity and on_task.task_reference() == "parity"
    assert on_pattern.task_reference() is None and on_pattern.resolved_task().kind == "stream"
    assert on_task.identity() != Subject("m", _parity_breaking_beyond(6), task="even-pairs").identity()


def test_a_sequence_report_read_back_by_another_worker_reads_the_same(tmp_path):
    """``shared_report``: the report one worker wrote is read back by another with its task's names, to the same text."""
    loads = []

    def load():
        loads.append(1)
        return _parity_breaking_beyond(6)

    first = Subject.deferred("short", load, task="parity", train_length=6, max_length=9)
    computed = first.shared_report(tmp_path)
    data = json.loads(computed.to_json())
    assert data["version"] == REPORT_VERSION and data["task"]["name"] == "parity"
    second = Subject.deferred("short", load, task="parity", train_length=6, max_length=9)
    read_back = second.shared_report(tmp_path)
    assert len(loads) == 1  # the second subject's model is never loaded
    assert read_back is not computed and str(read_back) == str(computed)
    assert read_back["length generalization"].counterexample.lines()[0] == "input 0 0 0 0 0 0 0   (length 7)  -> predicted odd (p=1.00); expected even"
    assert report_from_dict(data, seqcheck.tasks.parity).to_dict() == data
