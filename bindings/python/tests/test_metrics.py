"""Metrics of the log-integrity indicators, read back in the Prometheus text format."""

from __future__ import annotations

import re
from pathlib import Path

import evidentia


def series(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"no {name} in:\n{text}"
    return float(match.group(1))


def test_appends_and_verifications_are_counted(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key, log_id="example.com/py-metrics") as log:
        log.append({"n": 1})
        log.append({"n": 2})
        log.append({"n": 3})
        assert log.verify().valid
    text = evidentia.metrics()
    assert series(text, 'evidentia_records_appended_total{log="example.com/py-metrics"}') == 3
    assert series(text, "evidentia_append_seconds_count") >= 3
    assert series(text, "evidentia_commit_seconds_count") >= 3
    assert series(text, 'evidentia_verifications_total{result="valid"}') >= 1
    assert "# TYPE evidentia_append_seconds histogram" in text
    assert "# HELP evidentia_records_appended_total Records appended and acknowledged" in text
