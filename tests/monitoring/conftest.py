"""Fixtures for the offline checks of the monitoring stack."""

from __future__ import annotations

import pytest

from .helpers import alert_rules


@pytest.fixture(scope="session")
def alerts() -> list[dict]:
    found = alert_rules()
    assert found, "no alert rules found"
    return found
