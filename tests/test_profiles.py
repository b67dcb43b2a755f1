"""Hypothesis settings profiles, chosen by name in Python, the CLI and the plugin."""

from __future__ import annotations

import pytest
from hypothesis import settings

import seqcheck
from seqcheck.search.profiles import search_settings
from tests.handmade import ExactRule

pytest_plugins = ["pytester"]


def test_profiles_are_registered_with_hypothesis():
    ci = settings.get_profile("seqcheck-ci")
    assert ci.derandomize and ci.database is None and ci.deadline is None
    assert settings.get_profile("seqcheck-thorough").max_examples == 10 * ci.max_examples
    assert search_settings("dev", max_examples=7).max_examples == 7


def test_a_thorough_search_tries_more_batches_than_a_dev_one():
    tried = {
        profile: seqcheck.check(ExactRule("11000"), pattern="11000", profile=profile, invariants=[seqcheck.batch_invariance])[
            "batch invariance"
        ].forms[0].cases
        for profile in ("dev", "thorough")
    }
    assert tried["thorough"] > tried["dev"]


def test_unknown_profile():
    with pytest.raises(seqcheck.InvalidArgument, match="profile='nightly': expected one of dev, ci, thorough"):
        seqcheck.check(ExactRule("11000"), pattern="11000", profile="nightly")


def test_plugin_option(pytester):
    pytester.makepyfile(test_nothing="def test_nothing(): pass")
    pytester.runpytest("--seqcheck-profile", "thorough").stdout.fnmatch_lines(["seqcheck: seed 0, profile thorough, *"])
    result = pytester.runpytest("--seqcheck-profile", "nightly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--seqcheck-profile='nightly': expected one of dev, ci, thorough*"])


def test_the_checker_fixture_uses_the_sessions_profile(pytester):
    pytester.makepyfile(
        test_checker="""
        import numpy as np
        import seqcheck

        def test_profile(seqcheck_check):
            report = seqcheck_check(lambda x: np.zeros((len(x), 1)), pattern="11000", invariants=[seqcheck.batch_invariance])
            assert report["batch invariance"].forms[0].cases == 1000
        """
    )
    pytester.runpytest("--seqcheck-profile", "thorough").assert_outcomes(passed=1)
