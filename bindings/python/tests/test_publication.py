"""A log published as C2SP tlog-tiles (SPEC.md §24): published, published again with
what is new, and verified from its folder with the log's keys."""

from __future__ import annotations

from pathlib import Path

import pytest

import evidentia


def test_a_log_is_published_and_its_publication_verifies(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key, log_id="example.com/py-tiles") as log:
        log.append_batch([{"n": n} for n in range(300)])
        log.checkpoint()
        jwks = log.keys()
        first = evidentia.publish_log(tmp_path / "log", tmp_path / "published")
        assert first == {"files_written": 5, "note_signed": False, "previous_size": 0, "size": 300}
        log.append({"n": 300})
        log.checkpoint()
    again = evidentia.publish_log(tmp_path / "log", tmp_path / "published")
    assert (again["previous_size"], again["size"]) == (300, 301)
    assert (tmp_path / "published/tile/entries/001.p/45").is_file()
    report = evidentia.verify_publication(tmp_path / "published", jwks)
    assert report.valid and report.records == 301

    # A changed leaf hash is found; a missing tile makes the publication unreadable.
    tile = tmp_path / "published/tile/0/000"
    data = bytearray(tile.read_bytes())
    data[0] ^= 1
    tile.write_bytes(bytes(data))
    assert evidentia.verify_publication(tmp_path / "published", jwks).failure_codes == ["TREE_MISMATCH"]
    tile.unlink()
    with pytest.raises(evidentia.EvidentiaError) as raised:
        evidentia.verify_publication(tmp_path / "published", jwks)
    assert raised.value.code_name == "LOG_CORRUPT"
