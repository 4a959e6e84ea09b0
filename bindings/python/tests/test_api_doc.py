"""docs/API.md is complete and true for Python: every public name appears in the
Python column, and every name there exists."""

from __future__ import annotations

import os
import re
from pathlib import Path

import evidentia

API_MD = Path(os.environ.get("EVIDENTIA_API_DOC", Path(__file__).resolve().parents[3] / "docs" / "API.md"))
PYTHON_COLUMN = 3
CLASSES = ["SigningKey", "KeySet", "Log", "Report", "VerifiedJws", "PartnerVerified"]


def documented_names() -> list[str]:
    text = API_MD.read_text(encoding="utf-8")
    names = []
    for line in text[text.index("## Canonical JSON and digests") :].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 7 and cells[0] not in ("Concept", "---"):
            names += re.findall(r"`([^`]+)`", cells[PYTHON_COLUMN])
    return names


def resolve(path: str) -> bool:
    target: object = evidentia
    for part in path.split("."):
        if not hasattr(target, part) and part not in getattr(target, "__annotations__", {}):
            return False
        target = getattr(target, part, None)
    return True


def test_every_documented_name_exists() -> None:
    names = documented_names()
    assert len(names) > 50
    exported = [n for n in names if n.split(".")[0] in evidentia.__all__]
    missing = [n for n in exported if not resolve(n)]
    assert not missing, missing
    assert set(names) - set(exported) == set(), "names that are not exports of evidentia"


def test_every_public_name_is_documented() -> None:
    names = set(documented_names())
    public = set(evidentia.__all__)
    for cls in CLASSES:
        public |= {f"{cls}.{m}" for m in dir(getattr(evidentia, cls)) if not m.startswith("_")}
    undocumented = public - names - {f"Log.{m}" for m in ("__enter__", "__exit__")}
    assert not undocumented, sorted(undocumented)
