"""Shared fixtures of the CLI tests."""

import pytest


@pytest.fixture
def fake_suite(monkeypatch):
    """``run_suite`` recording the preset it was given, logging, finishing each section, returning no results."""
    from antiquant.bench import report, suite
    seen = []

    def run_suite(config, log, section_done):
        seen.append(config.name)
        for section in config.sections:
            log(f"{section}: measuring")
            section_done(section)
        return {}
    monkeypatch.setattr(suite, "run_suite", run_suite)
    monkeypatch.setattr(report, "markdown", lambda results: "tables\n")
    return seen
