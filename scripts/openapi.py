"""Write docs/openapi/<role>.json from what each role serves (`just openapi`).

tests/unit/test_openapi_documents.py fails while a committed document differs from the served one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.http.app import SCHEMA_ROLES, role_document

DOCS = Path(__file__).resolve().parent.parent / "docs" / "openapi"
PUBLISHED_ROLES = tuple(r for r in SCHEMA_ROLES if r != "all")


def render(role: str) -> str:
    return json.dumps(role_document(role), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    DOCS.mkdir(parents=True, exist_ok=True)
    for role in PUBLISHED_ROLES:
        (DOCS / f"{role}.json").write_text(render(role), encoding="utf-8")
        print(f"docs/openapi/{role}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
