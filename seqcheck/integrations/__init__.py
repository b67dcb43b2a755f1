"""Integrations: the ``seqcheck`` command, the pytest plugin and what it shares with users' own test suites."""
