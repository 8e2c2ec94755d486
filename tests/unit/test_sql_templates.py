"""`Database.sql` templates compile exactly as Piccolo's QueryString compiles them (core/storage/postgres.py)."""

from __future__ import annotations

import pytest
from piccolo.querystring import QueryString

from core.storage.postgres import _compiled

CASES = [
    ("SELECT 1", ()),
    ("SELECT {}", (1,)),
    ("SELECT {} + {}, {}::jsonb", (1, 2, '{"a": 1}')),
    ("SELECT '{{}}'::jsonb, {}", ("x",)),  # an escaped brace is a literal brace
    ("UPDATE t SET a = {} WHERE b = {} AND c = ANY({}::text[])", ("v", None, ["x", "y"])),
    ("SELECT {}, {}", (1,)),  # fewer arguments than fields: the rest are dropped, as Piccolo does
    ("SELECT {}", (1, 2)),  # more: the extra ones are passed, unused
]


@pytest.mark.parametrize(("template", "args"), CASES)
def test_a_template_compiles_as_piccolo_compiles_it(template: str, args: tuple[object, ...]) -> None:
    expected_text, expected_params = QueryString(template, *args).compile_string(engine_type="postgres")
    for _ in range(2):  # made once, then found
        assert _compiled(template, args) == (expected_text, list(expected_params))


def test_a_nested_query_string_still_goes_through_piccolo() -> None:
    inner = QueryString("lower({})", "X")
    assert _compiled("SELECT {} = {}", (inner, "x")) == ("SELECT lower($1) = $2", ["X", "x"])
