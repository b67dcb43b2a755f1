"""The models the property suite checks: the one given with ``--seqcheck-model`` (the plugin's own
parametrization), or else seqcheck's built-in reference models, asked for here by name: the seed's model
and its fix on the stream of 11000, and a parity LSTM and Transformer.

The plugin never falls back to the reference models itself: this conftest is what makes
``pytest properties/`` with no options check them.  The seed model's and the Transformer's known
violations are strict xfails, so the suite fails if seqcheck ever stops catching them.
"""

import pytest

from seqcheck.integrations import pytest_plugin
from seqcheck.training import reference

_REFERENCE_SUBJECTS = pytest.StashKey[list]()


def _reference_subjects(config: pytest.Config) -> list:
    """One subject per reference model for the session, so each model's battery is computed once."""
    if _REFERENCE_SUBJECTS not in config.stash:
        models = (*reference.REFERENCE_MODELS, *reference.TASK_REFERENCE_MODELS)
        config.stash[_REFERENCE_SUBJECTS] = reference.subjects(models, **pytest_plugin.check_options(config))
    return config.stash[_REFERENCE_SUBJECTS]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "seqcheck_subject" in metafunc.fixturenames and not pytest_plugin.model_configured(metafunc.config):
        pytest_plugin.parametrize(metafunc, _reference_subjects(metafunc.config))


def pytest_report_header(config: pytest.Config) -> str | None:
    if pytest_plugin.model_configured(config):
        return None  # the plugin's header names the model
    target = "the built-in reference models seed, fixed, parity-lstm and parity-transformer (no --seqcheck-model given)"
    if pytest_plugin.in_use(config):  # the plugin's own line shows the seed and profile
        return f"seqcheck: properties/ checks {target}"
    return pytest_plugin.header(config, target)
