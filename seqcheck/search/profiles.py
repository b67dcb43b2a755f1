"""Hypothesis settings profiles for seqcheck's searches, chosen by name.

- ``dev``: few examples and Hypothesis's example database, for quick runs while iterating;
- ``ci`` (the default): derandomized, no example database -- the same report on every run;
- ``thorough``: ten times the examples, for a nightly job.

Every profile has no deadline (a model call may be slow) and skips Hypothesis's ``explain`` phase,
which re-runs the model only to annotate a report seqcheck does not print.  The search is seeded
by the check's ``seed`` in every profile.  They are registered with Hypothesis as
``seqcheck-dev``, ``seqcheck-ci`` and ``seqcheck-thorough``.
"""

from __future__ import annotations

from hypothesis import Phase, settings

from seqcheck.errors import invalid

DEFAULT_PROFILE = "ci"
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)

PROFILES: dict[str, settings] = {
    "dev": settings(max_examples=30, deadline=None, phases=_PHASES),
    "ci": settings(max_examples=100, deadline=None, database=None, derandomize=True, phases=_PHASES),
    "thorough": settings(max_examples=1000, deadline=None, phases=_PHASES),
}
for _name, _settings in PROFILES.items():
    settings.register_profile(f"seqcheck-{_name}", _settings)


def search_settings(profile: str = DEFAULT_PROFILE, *, max_examples: int | None = None) -> settings:
    """The profile's settings, with ``max_examples`` overridden when given."""
    if profile not in PROFILES:
        raise invalid("profile", profile, f"one of {', '.join(PROFILES)}", "pick a settings profile by name")
    base = PROFILES[profile]
    return base if max_examples is None else settings(base, max_examples=max_examples)
