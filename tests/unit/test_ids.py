"""Ids sort in creation order, inside one millisecond too (core/ids.py)."""

from __future__ import annotations

from core.ids import id_floor, new_id


def test_ids_made_one_after_another_sort_in_that_order_and_never_repeat() -> None:
    ids = [new_id("je") for _ in range(20_000)]  # many share a millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len({i[3:13] for i in ids}) < len(ids)  # the loop did make ids within one millisecond


def test_an_id_is_above_the_floor_of_its_millisecond() -> None:
    made = new_id("pi", now_ms=1_796_000_000_000)
    assert id_floor("pi", 1_796_000_000_000) <= made < id_floor("pi", 1_796_000_000_001)
    assert len(made) == len("pi_") + 26
