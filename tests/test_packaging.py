"""The versions CI installs (.ci/constraints.txt) lie inside the ranges pyproject.toml declares.

A newcomer's `pip install -e '.[tensorflow,test]'` resolves in pyproject's ranges; CI installs the
exact set the suite has passed on. If the two drift apart, a green CI says nothing about what a
newcomer gets, so every declared dependency must have a pin, inside its range.
"""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
from packaging.requirements import Requirement  # noqa: E402  (a dependency of pytest)
from packaging.utils import canonicalize_name  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    # An extra that names seqcheck's own other extras (test = seqcheck[torch,onnx,jax]) adds no package of its own.
    return [Requirement(r) for r in project["dependencies"]] + [r for r in requirements if r.name != project["name"]]


def pins() -> dict[str, str]:
    out = {}
    for line in (REPO / ".ci" / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            out[canonicalize_name(name)] = version
    return out


def test_every_declared_dependency_is_pinned_inside_its_range():
    pinned = pins()
    for requirement in declared():
        version = pinned.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is declared but .ci/constraints.txt does not pin it"
        assert requirement.specifier.contains(version), f"{requirement.name}=={version} is outside {requirement}"


def test_frameworks_stop_before_their_next_minor_release():
    # TensorFlow and Keras change behaviour in minor releases: a fresh install must not pick an untested one.
    pinned = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        if name in ("tensorflow-cpu", "keras"):
            major, minor = map(int, pinned[name].split(".")[:2])
            assert not requirement.specifier.contains(f"{major}.{minor + 1}.0"), requirement
            assert not requirement.specifier.contains(f"{major}.{minor - 1}.0"), requirement
