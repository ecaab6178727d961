"""Write docs/openapi.json: the API's OpenAPI document, as `/openapi.json` serves it.

python scripts/openapi.py            # rewrite docs/openapi.json
python scripts/openapi.py --check    # exit 1 if it is stale (make test runs the check)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "openapi.json"


def document() -> str:
    # The handler reads its settings lazily; importing it needs none.
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    from healthscore.dev.local_stack import load_handler

    api = load_handler(ROOT, "api")
    return json.dumps(api.api_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    text = document()
    if "--check" in sys.argv[1:]:
        sys.exit(
            0
            if TARGET.read_text() == text
            else "docs/openapi.json is stale: run python scripts/openapi.py"
        )
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
