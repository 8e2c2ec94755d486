"""Metric children are found by the attributes as given and still checked (core/observability/metrics.py)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter

from core.observability.metrics import Counter


def test_a_child_is_made_once_per_label_set_and_wrong_labels_are_still_refused() -> None:
    counter = Counter(
        PromCounter("t_calls", "calls", ("function", "outcome"), registry=CollectorRegistry()), ("function", "outcome")
    )
    counter.add(1, {"function": "payins.create", "outcome": "ok"})
    counter.add(2, {"function": "payins.create", "outcome": "ok"})
    counter.add(1, {"function": "payins.create", "outcome": "failed"})
    assert len(counter._children) == 2
    samples = {
        s.labels["outcome"]: s.value for m in counter._metric.collect() for s in m.samples if s.name == "t_calls_total"
    }
    assert samples == {"ok": 3.0, "failed": 1.0}
    with pytest.raises(ValueError, match="labels"):
        counter.add(1, {"function": "payins.create"})
    with pytest.raises(ValueError, match="labels"):
        counter.add(1, {"function": "payins.create", "outcome": "ok", "extra": "x"})
