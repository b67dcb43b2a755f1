"""Fixtures for tests that need a real Keras model: trained once through the model cache."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def seed_model_path():
    """The seed's model: LSTM(4) -> Dense(1, sigmoid) trained on windows of length 10 of 11000 (seed 0)."""
    from seqcheck.training.cache import cached_model_path

    return cached_model_path("fixed-window", "11000", train_length=10, seed=0)


@pytest.fixture(scope="session")
def fixed_model_path():
    """The accepted fix: the same network trained on varied lengths and offsets (seed 0)."""
    from seqcheck.training.cache import cached_model_path

    return cached_model_path("varied-window", "11000", train_length=10, seed=0)
