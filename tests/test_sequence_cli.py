"""The command line on sequence tasks: a user's task named as module:attr, a built-in task, the outputs, `seqcheck tasks`."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]

#: A user's task, in under 15 lines.
USER_TASKS = '''
import numpy as np
from seqcheck.tasks import SequenceTask, transposition

majority = SequenceTask(
    "majority", symbols=["0", "1"], classes=["more 0s", "more 1s"],
    target=lambda seq: int(2 * sum(seq) > len(seq)),
    targets=lambda batch: (2 * batch.sum(axis=1) > batch.shape[1]).astype(np.int64),
    relations=[transposition()],
)
'''

#: The share of 1s, scaled, then a softmax: "more 1s" exactly when 1s are more than half (a tie reads 0.5 each,
#: and the arg-max picks "more 0s", as the oracle does).
MAJORITY_MODEL = '''
import sys
import numpy as np
import keras
model = keras.Sequential([keras.Input((None, 2)), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2, activation="softmax")])
model.layers[-1].set_weights([np.array([[200.0, 0.0], [0.0, 200.0]], "float32"), np.zeros(2, "float32")])
model.save(sys.argv[1])
'''


def seqcheck_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqcheck", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("project")
    (folder / "my_tasks.py").write_text(USER_TASKS)
    subprocess.run([sys.executable, "-c", MAJORITY_MODEL, str(folder / "majority.keras")], check=True, capture_output=True)
    return folder


@pytest.mark.slow
def test_a_users_task_is_checked_by_the_command_line(project):
    done = seqcheck_cli(
        "check", "majority.keras", "--task", "my_tasks:majority", "--max-length", "12", "--json", "report.json",
        "--junit-xml", "junit.xml", "--markdown", "summary.md", "--plot", "accuracy.png", cwd=project,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("model majority.keras (Keras, GlobalAveragePooling1D)  task majority (symbols 0 1; classes more 0s, more 1s)")
    assert "pass length generalization   (" in done.stdout and "every input in range)" in done.stdout
    assert "pass metamorphic relations   (" in done.stdout
    assert lines[-1] == "reproduce: seqcheck check majority.keras --task my_tasks:majority --max-length 12 --engine keras --seed 0"
    data = json.loads((project / "report.json").read_text())
    assert data["task"] == {"name": "majority", "kind": "sequence", "symbols": ["0", "1"], "classes": ["more 0s", "more 1s"],
                            "description": data["task"]["description"], "relations": ["permutation"]}
    suite = ET.parse(project / "junit.xml").getroot().find("testsuite")
    assert {p.get("name"): p.get("value") for p in suite.find("properties")}["task"] == "majority"
    assert "| invariant | result | inputs | counterexample |" in (project / "summary.md").read_text()
    assert (project / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_the_same_model_on_parity_exits_1_with_the_minimal_input(project):
    done = seqcheck_cli("check", "majority.keras", "--task", "parity", "--max-length", "8", "--invariants", "length_generalization", cwd=project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL length generalization   (" in done.stdout
    # Length 1: "1" has more 1s (class 1) and is odd (class 1): right; "0" is even and has more 0s: right.
    # Length 2: "0 1" is odd but has no more 1s than 0s.
    assert "       input 0 1   (length 2)  -> predicted even (p=0.50); expected odd" in done.stdout
    assert "minimal (oracle):" in done.stdout


def test_seqcheck_tasks_lists_the_built_in_tasks(project):
    done = seqcheck_cli("tasks", cwd=project)
    assert done.returncode == 0
    names = [line.split()[0] for line in done.stdout.splitlines() if line and not line.startswith((" ", "a task"))]
    assert names == ["parity", "even-pairs", "modular-arithmetic", "cycle-navigation", "dyck-1"]
    assert "modular-arithmetic  symbols 0 1 2 3 4 + - *; classes 0, 1, 2, 3, 4" in done.stdout
