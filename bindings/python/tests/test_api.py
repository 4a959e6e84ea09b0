"""The Python API: value conversion, typed errors, garbage input, threads, the GIL."""

from __future__ import annotations

import json
import math
import pickle
import threading
import time
from pathlib import Path

import pytest

import evidentia


def test_python_values_canonicalize_like_json_text() -> None:
    value = {"b": [1, 2.5, "é", None, True, False], "a": {"nested": (1, 2)}, "": -0.0}
    assert evidentia.canonicalize(value) == b'{"":0,"a":{"nested":[1,2]},"b":[1,2.5,"\xc3\xa9",null,true,false]}'
    assert evidentia.canonicalize(value) == evidentia.canonicalize('{"a":{"nested":[1,2]},"b":[1,2.5,"é",null,true,false],"":0}')
    assert evidentia.canonicalize(2**53 - 1) == b"9007199254740991"
    assert evidentia.canonicalize(-(2**53 - 1)) == b"-9007199254740991"
    assert evidentia.canonicalize(1e21) == b"1e+21"
    assert evidentia.digest({"x": 1}) == evidentia.digest(b'{ "x" : 1.0 }')


@pytest.mark.parametrize(
    ("value", "code_name"),
    [
        (2**53, "JSON_INTEGER_PRECISION"),
        (-(2**53), "JSON_INTEGER_PRECISION"),
        (2**100, "JSON_INTEGER_PRECISION"),
        (math.nan, "JSON_NON_FINITE"),
        (math.inf, "JSON_NON_FINITE"),
        ({1: "int key"}, "JSON_UNSUPPORTED_TYPE"),
        ({"set": {1, 2}}, "JSON_UNSUPPORTED_TYPE"),
        (b"\xff", "JSON_INVALID_UTF8"),
        ("{", "JSON_SYNTAX"),
        ('{"a":1,"a":2}', "JSON_DUPLICATE_KEY"),
        (object(), "JSON_UNSUPPORTED_TYPE"),
        ({"a": "\ud800"}, "JSON_LONE_SURROGATE"),
        ({"\udc00": 1}, "JSON_LONE_SURROGATE"),
        ('"\ud800"', "JSON_LONE_SURROGATE"),
    ],
)
def test_values_that_would_change_are_refused(value: object, code_name: str) -> None:
    with pytest.raises(evidentia.JsonError) as raised:
        evidentia.canonicalize(value)
    error = raised.value
    assert isinstance(error, evidentia.EvidentiaError) and isinstance(error, ValueError)
    assert error.code_name == code_name
    assert error.code == next(code for code, name, *_ in evidentia.error_codes() if name == code_name)
    assert error.family == "Json"


def test_deep_nesting_is_refused_not_a_crash() -> None:
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(evidentia.JsonError) as raised:
        evidentia.canonicalize(deep)
    assert raised.value.code_name == "JSON_TOO_DEEP"
    with pytest.raises(evidentia.JsonError):
        evidentia.canonicalize("[" * 100_000)


def test_errors_survive_pickling() -> None:
    try:
        evidentia.canonicalize("[1,]")
    except evidentia.EvidentiaError as error:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is evidentia.JsonError and copy.code == error.code and str(copy) == str(error)


GARBAGE = ["", "{", "null", "\x00", "a.b.c", "-----BEGIN PRIVATE KEY-----\nxx\n", '{"kty":1}', '{"keys":[1]}', "— x y\n", "💥" * 10]


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_raises_typed_errors(text: str) -> None:
    jwks = evidentia.SigningKey.generate().public_jwk()
    calls = [
        lambda: evidentia.SigningKey.from_jwk(text),
        lambda: evidentia.SigningKey.from_pem(text),
        lambda: evidentia.jwk_thumbprint(text),
        lambda: evidentia.verify_jws(text, jwks),
        lambda: evidentia.verify_jws("a.b.c", text),
        lambda: evidentia.verify_receipt(text, jwks),
        lambda: evidentia.verify_checkpoint(text, jwks),
        lambda: evidentia.verify_inclusion(text, text, text, jwks),
        lambda: evidentia.verify_consistency(text, text, text, jwks),
        lambda: evidentia.verify_inclusion_proof(text, b"", bytes(32)),
    ]
    for call in calls:
        with pytest.raises(evidentia.EvidentiaError):
            call()


def test_wrong_argument_types_are_type_errors() -> None:
    with pytest.raises(TypeError):
        evidentia.SigningKey.generate().sign_jws("not bytes")  # type: ignore[arg-type]
    with pytest.raises(evidentia.UsageError):
        evidentia.verify_inclusion_proof('{"type":"inclusion","leaf_index":0,"tree_size":1,"hashes":[]}', b"", b"short")


def test_randomized_signing_is_opt_in(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    fast = key.with_randomized_signatures()
    assert (key.randomized, fast.randomized, fast.kid) == (False, True, key.kid)
    payload = b'{"amount":"1250.00"}'
    assert key.sign_jws(payload) == key.sign_jws(payload)
    signatures = {fast.sign_jws(payload) for _ in range(3)}
    assert len(signatures) == 3
    for jws in signatures:
        assert evidentia.verify_jws(jws, key.public_jwk()).payload == payload
    with evidentia.Log.create(tmp_path / "log", fast) as log:
        receipt = log.append({"n": 1})
        assert evidentia.verify_receipt(receipt, log.keys(), {"n": 1}, salt=log.salt(0)).valid
    assert evidentia.verify_log(tmp_path / "log").valid


def test_receipt_chain_in_memory() -> None:
    key = evidentia.SigningKey.generate()
    jwks = '{"keys":[%s]}' % key.public_jwk()
    chain = evidentia.ReceiptChain("example.com/own-db")
    events = [{"n": 1}, '{"n": 2, "b": [1, 2]}', b'{"n":3}']
    receipts = [chain.issue(key, events[0], nonce="r-1"), chain.issue(key, events[1])]
    assert (chain.log_id, len(chain)) == ("example.com/own-db", 2)
    # After a restart, the chain continues from its newest receipt.
    resumed = evidentia.ReceiptChain.resume(receipts[-1])
    receipts.append(resumed.issue(key.with_randomized_signatures(), events[2]))
    assert len(resumed) == 3
    for receipt, event in zip(receipts, events):
        assert evidentia.verify_receipt(receipt, jwks, event).valid
    entries = [(r, evidentia.canonicalize(e)) for r, e in zip(receipts, events)]
    assert evidentia.verify_log_entries(entries, jwks).valid
    # The chain is checked: leaving a record out breaks it.
    assert not evidentia.verify_log_entries([entries[0], entries[2]], jwks).valid
    # Deterministic signing: the same chain, key, event and time give the same receipt.
    again = [evidentia.ReceiptChain("x.example/a").issue(key, {"n": 1}, time="2026-11-22T10:00:00Z") for _ in range(2)]
    assert again[0] == again[1]


def test_evidence_files_verify_with_their_keys_or_trusted_ones() -> None:
    key, stranger = evidentia.SigningKey.generate(), evidentia.SigningKey.generate()
    jwks = '{"keys":[%s]}' % key.public_jwk()
    receipt = evidentia.ReceiptChain("example.com/evidence").issue(key, {"n": 1, "a": [True]})
    evidence = json.dumps({"receipt": receipt, "jwks": json.loads(jwks), "event": {"a": [True], "n": 1}}, indent=2)
    for given in (evidence, evidence.encode()):
        report = evidentia.verify_evidence_file(given)
        assert report.valid and report.subject == "receipt", report.to_text()
    # Keys the verifier trusts replace the file's.
    assert evidentia.verify_evidence_file(evidence, jwks).valid
    report = evidentia.verify_evidence_file(evidence, stranger.public_jwk())
    assert not report.valid and report.failure_codes == ["KEY_NOT_FOUND"]
    no_keys = json.dumps({"receipt": receipt, "jwks": "{}"})
    with pytest.raises(evidentia.KeyMaterialError) as raised:
        evidentia.verify_evidence_file(no_keys)
    assert raised.value.code_name == "KEY_SET_MALFORMED"
    assert evidentia.verify_evidence_file(no_keys, jwks=jwks).valid
    # Another event than the one recorded is a report, not an error.
    other = json.dumps({"receipt": receipt, "jwks": jwks, "event": {"n": 2}})
    assert evidentia.verify_evidence_file(other).failure_codes == ["EVENT_MISMATCH"]


@pytest.mark.parametrize(
    ("evidence", "code_name"),
    [
        ('{"receipt":', "JSON_SYNTAX"),
        ("[]", "INVALID_ARGUMENT"),
        ('{"receipt": "a.b.c", "batch_receipt": "{}", "jwks": {}}', "INVALID_ARGUMENT"),
        ('{"receipt": 1, "jwks": {}}', "INVALID_ARGUMENT"),
        ('{"receipt": "a.b.c", "jwks": {"keys": []}}', "JWS_MALFORMED"),
        (b"\xff", "JSON_INVALID_UTF8"),
    ],
)
def test_what_is_not_an_evidence_file_raises_its_code(evidence: str | bytes, code_name: str) -> None:
    jwks = '{"keys":[%s]}' % evidentia.SigningKey.generate().public_jwk()
    with pytest.raises(evidentia.EvidentiaError) as raised:
        evidentia.verify_evidence_file(evidence, jwks)
    assert raised.value.code_name == code_name


@pytest.mark.parametrize(
    ("call", "code_name"),
    [
        (lambda key: evidentia.ReceiptChain("has spaces"), "LOG_ID_INVALID"),
        (lambda key: evidentia.ReceiptChain.resume("not.a.receipt"), None),
        (lambda key: evidentia.ReceiptChain("a.example/x").issue(key, "{nope"), "JSON_SYNTAX"),
        (lambda key: evidentia.ReceiptChain("a.example/x").issue(key, {"n": 1}, time="yesterday"), "TIME_INVALID"),
    ],
)
def test_receipt_chain_refuses_garbage(call, code_name) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(evidentia.EvidentiaError) as raised:
        call(evidentia.SigningKey.generate())
    if code_name:
        assert raised.value.code_name == code_name


def test_log_lifecycle(tmp_path: Path) -> None:
    old, new = evidentia.SigningKey.generate(), evidentia.SigningKey.generate()
    path = tmp_path / "log"
    log = evidentia.Log.create(path, old, log_id="example.com/py")
    assert (log.log_id, log.mode, len(log)) == ("example.com/py", "receipts", 0)
    first = log.append({"n": 1}, nonce="r-1")
    log.rotate(new)
    after_rotation = log.append({"n": 1.5})
    assert evidentia.verify_jws(after_rotation, new.public_jwk()).kid == new.kid
    with pytest.raises(evidentia.StorageError) as raised:
        evidentia.Log.open(path, new)
    assert raised.value.code_name == "LOG_LOCKED"
    log.close()
    with pytest.raises(evidentia.UsageError):
        log.append({"n": 2})
    with evidentia.Log.open(path, new) as log:
        log.append({"n": 2})
        checkpoint = log.checkpoint()
        proof = log.inclusion_proof(0)
        assert log.verify().valid
        archive = log.export_package(0, tmp_path / "package")
        assert archive == str(tmp_path / "package") + ".tar.gz"
        assert (tmp_path / "package" / "verify.sh").is_file()
        for index, out in [(0, tmp_path / "package"), (99, tmp_path / "other")]:
            with pytest.raises(evidentia.UsageError) as raised:
                log.export_package(index, out)
            assert raised.value.code_name == "INVALID_ARGUMENT"
        assert "revoked" not in log.keys() and '"exp"' in log.keys()
    evidentia.verify_inclusion(first, proof, checkpoint, log_keys(path))
    assert evidentia.verify_log(path).valid
    with evidentia.Log.open(path) as reader:
        with pytest.raises(evidentia.KeyMaterialError):
            reader.append({"n": 3})
    with pytest.raises(evidentia.StorageError) as raised:
        evidentia.Log.open(tmp_path / "missing")
    assert raised.value.code_name == "LOG_NOT_FOUND"


def log_keys(path: Path) -> str:
    return (path / "keys.jwks").read_text()


def test_nonces_are_unique_and_retries_idempotent(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key, log_id="example.com/nonces") as log:
        first = log.append({"order": 1}, nonce="order-1")
        with pytest.raises(evidentia.StorageError) as raised:
            log.append({"order": 1}, nonce="order-1")
        assert raised.value.code_name == "NONCE_IN_USE" and "record 0" in str(raised.value)
        assert len(log) == 1
        # A retry of the same request gets the original receipt, and appends nothing.
        assert log.append({"order": 1}, nonce="order-1", idempotent=True) == first
        assert log.append('{ "order": 1 }', nonce="order-1", idempotent=True) == first
        assert len(log) == 1
        # Another event under the same nonce is refused, idempotent or not.
        with pytest.raises(evidentia.StorageError) as raised:
            log.append({"order": 2}, nonce="order-1", idempotent=True)
        assert raised.value.code_name == "NONCE_IN_USE"
        assert len(log) == 1
        assert log.find_nonce("order-1") == 0
        assert log.find_nonce("unknown") is None
        log.append({"order": 2}, nonce="order-2")
        assert log.find_nonce("order-2") == 1
    with evidentia.Log.open(tmp_path / "log") as reader:
        assert (reader.find_nonce("order-1"), reader.find_nonce("order-2"), reader.find_nonce("x")) == (0, 1, None)


def test_a_batch_takes_a_nonce_for_each_event(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key) as log:
        acks = log.append_batch([{"order": 1}, {"order": 2}, {"n": 3}], nonces=["order-1", "order-2", None])
        assert (log.find_nonce("order-1"), log.find_nonce("order-2"), len(log)) == (0, 1, 3)
        # A retried batch: refused, or with idempotent the same receipts and no new record.
        with pytest.raises(evidentia.StorageError) as raised:
            log.append_batch([{"order": 1}, {"order": 2}], nonces=["order-1", "order-2"])
        assert raised.value.code_name == "NONCE_IN_USE"
        retried = log.append_batch([{"order": 1}, {"order": 2}], nonces=["order-1", "order-2"], idempotent=True)
        assert retried == acks[:2] and len(log) == 3
        # A retry that adds an event appends only that one.
        more = log.append_batch([{"order": 2}, {"order": 4}], nonces=["order-2", "order-4"], idempotent=True)
        assert more[0] == acks[1] and len(log) == 4 and log.find_nonce("order-4") == 3
        # Refused, appending nothing: a nonce count unlike the event count, one nonce
        # twice, another event under a used nonce, a nonce that is not text.
        with pytest.raises(evidentia.UsageError) as raised:
            log.append_batch([{"n": 5}, {"n": 6}], nonces=["a"])
        assert raised.value.code_name == "INVALID_ARGUMENT" and "1 nonces for 2 events" in str(raised.value)
        with pytest.raises(evidentia.StorageError) as raised:
            log.append_batch([{"n": 5}, {"n": 6}], nonces=["b", "b"])
        assert raised.value.code_name == "NONCE_IN_USE"
        with pytest.raises(evidentia.StorageError) as raised:
            log.append_batch([{"n": 5}, {"order": 99}], nonces=[None, "order-1"], idempotent=True)
        assert raised.value.code_name == "NONCE_IN_USE"
        with pytest.raises(TypeError):
            log.append_batch([{"n": 5}], nonces=[5])  # type: ignore[list-item]
        assert len(log) == 4
        assert log.verify().valid


def test_record_times_are_checked(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key) as log:
        # Before the key became valid (the log's creation), or far ahead of the clock.
        for when in ["2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"]:
            with pytest.raises(evidentia.RecordError) as raised:
                log.append({"n": 1}, time=when)
            assert raised.value.code_name == "TIME_REFUSED", when
        assert len(log) == 0
    # A key valid from an earlier time takes records of that time, in order.
    with evidentia.Log.create(tmp_path / "import", key, valid_from="2020-01-01T00:00:00Z") as log:
        log.append({"n": 1}, time="2020-06-01T00:00:00Z")
        with pytest.raises(evidentia.RecordError) as raised:
            log.append({"n": 2}, time="2020-05-01T00:00:00Z")
        assert raised.value.code_name == "TIME_REFUSED"
        log.append_batch([{"n": 2}, {"n": 3}], time="2020-07-01T00:00:00Z")
        with pytest.raises(evidentia.RecordError) as raised:
            log.append_batch([{"n": 4}], time="2019-12-31T23:59:59Z")
        assert raised.value.code_name == "TIME_REFUSED"
        assert len(log) == 3 and log.verify().valid
    with pytest.raises(evidentia.RecordError) as raised:
        evidentia.Log.create(tmp_path / "bad", key, valid_from="yesterday")
    assert raised.value.code_name == "TIME_INVALID"


def test_open_waits_for_a_locked_log(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key) as log:
        assert log.recovery["repaired"] is False and log.recovery["messages"] == []
        started = time.perf_counter()
        with pytest.raises(evidentia.StorageError) as raised:
            evidentia.Log.open(tmp_path / "log", key, wait=0.2)
        assert raised.value.code_name == "LOG_LOCKED"
        assert "waited" in str(raised.value) and time.perf_counter() - started >= 0.2
        for wait in [-1.0, math.inf, math.nan, 86_401.0]:
            with pytest.raises(evidentia.UsageError) as raised:
                evidentia.Log.open(tmp_path / "log", key, wait=wait)
            assert raised.value.code_name == "INVALID_ARGUMENT"
    # Once the writer is gone, a waiting open gets the log, with nothing to repair.
    with evidentia.Log.open(tmp_path / "log", key, wait=0.2) as log:
        recovery = log.recovery
        assert recovery["repaired"] is False and recovery["messages"] == []
        assert recovery["truncated_bytes"] == 0 and recovery["unsealed_records"] == 0


@pytest.mark.parametrize("mode", ["receipts", "batch"])
def test_the_open_log_serves_what_a_fresh_reader_does(tmp_path: Path, mode: str) -> None:
    old, new = evidentia.SigningKey.generate(), evidentia.SigningKey.generate()
    path = tmp_path / "log"
    with evidentia.Log.create(path, old, mode=mode) as log:
        acknowledgements = [log.append({"n": 0}, nonce="n-0")]
        acknowledgements += log.append_batch([{"n": 1}, {"n": 2}])
        log.rotate(new)
        # The rotation is a key record of the log (SPEC.md §23), signed by the old key.
        acknowledgements.append(log.receipt(len(log) - 1))
        acknowledgements.append(log.append({"n": 3}))
        checkpoint = log.checkpoint()
        receipts = [log.receipt(i) for i in range(len(log))]
        proofs = [log.inclusion_proof(i) for i in range(len(log))]
        consistency = log.consistency_proof(1)
        if mode == "receipts":
            assert receipts == acknowledgements
    with evidentia.Log.open(path) as reader:
        assert [reader.receipt(i) for i in range(len(reader))] == receipts
        assert [reader.inclusion_proof(i) for i in range(len(reader))] == proofs
        assert reader.consistency_proof(1) == consistency
    for receipt, proof in zip(receipts, proofs):
        evidentia.verify_inclusion(receipt, proof, checkpoint, log_keys(path))
    assert evidentia.verify_log(path).valid


def test_threads_append_to_one_log(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key, mode="batch") as log:

        def work(t: int) -> None:
            for i in range(20):
                log.append_batch([{"thread": t, "i": i, "j": j} for j in range(5)])

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(log) == 400
        report = log.verify()
        assert report.valid and report.records == 400, report.to_text()


def test_verification_releases_the_gil(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key) as log:
        log.append_batch([{"i": i} for i in range(1500)])
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.0005)

    counter = threading.Thread(target=count)
    counter.start()
    started = time.perf_counter()
    report = evidentia.verify_log(tmp_path / "log")
    elapsed = time.perf_counter() - started
    done.set()
    counter.join()
    assert report.valid
    # While 1,500 signatures were verified, the other Python thread kept running.
    assert elapsed < 0.05 or ticks >= 10, (elapsed, ticks)


def test_report_shape() -> None:
    key = evidentia.SigningKey.generate()
    jws = key.sign_jws(b"x")
    with pytest.raises(evidentia.RecordError) as raised:
        evidentia.verify_receipt(jws, key.public_jwk())
    assert raised.value.code_name == "RECEIPT_MALFORMED"
    report = evidentia.verify_log_entries([], key.public_jwk())
    assert report.subject == "log" and report.records == 0 and report.valid
    assert [c["check"] for c in report.checks][:3] == ["format", "key", "signature"]
    assert report.summary.startswith("VALID")
    assert '"valid":true' in report.to_json()


def test_a_log_verifies_from_a_trusted_checkpoint(tmp_path: Path) -> None:
    key = evidentia.SigningKey.generate()
    with evidentia.Log.create(tmp_path / "log", key, log_id="example.com/from") as log:
        for n in range(4):
            log.append({"n": n})
        trusted = log.checkpoint()
        for n in range(4, 10):
            log.append({"n": n})
        report = log.verify(from_checkpoint=trusted)
        assert report.valid and (report.first_record, report.records) == (4, 6)
        assert log.verify().first_record == 0
    report = evidentia.verify_log(tmp_path / "log", None, trusted)
    assert report.valid and report.first_record == 4
    # Another log under the same id and key, holding other records: a fork.
    with evidentia.Log.create(tmp_path / "fork", key, log_id="example.com/from") as fork:
        for n in range(10):
            fork.append({"other": n})
    forked = evidentia.verify_log(tmp_path / "fork", from_checkpoint=trusted)
    assert not forked.valid and forked.failure_codes == ["CHECKPOINT_MISMATCH"]
    with pytest.raises(evidentia.EvidentiaError) as raised:
        evidentia.verify_log(tmp_path / "log", from_checkpoint="not a checkpoint")
    assert raised.value.code_name.startswith("CHECKPOINT_")
