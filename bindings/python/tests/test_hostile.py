"""The hostile-input corpus (testvectors/hostile.json) through every function of the
Python package that takes outside data: each call returns a value or raises an
``evidentia.EvidentiaError`` whose code is in the table and is not INTERNAL; no
other exception, no crash, no hang.

Text arguments are ``str``: bytes that are not UTF-8 arrive as Python decodes such
input with ``surrogateescape`` (file names, command lines), so with lone surrogates.

Note verifier keys (vkey) go into tlog-policies (``check_policy``), checkpoints
also to ``check_policy`` and inside a tlog-proof. RFC 3161 responses, requests and
certificates go to ``verify_timestamp`` (as the response, the request, the roots,
the intermediates and the pinned TSA certificate). Kinds with no Python entry point
are skipped: timestamp_token (a bare token is checked inside packages, by the CLI)
and package (sets of package files, run through the core by the CLI; ``verify_package``
runs over the conformance packages). Evidence files go to
``verify_evidence_file`` as bytes and as ``str``, with the key set each holds and
with trusted keys.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import evidentia

VECTORS = Path(os.environ.get("EVIDENTIA_VECTORS", Path(__file__).resolve().parents[3] / "testvectors"))
CORPUS = json.loads((VECTORS / "hostile.json").read_text(encoding="utf-8"))
CONTEXT = CORPUS["context"]
CODES = {row[1] for row in evidentia.error_codes()} - {"INTERNAL"}
SKIPPED = {"timestamp_token", "package"}
TIME_LIMIT = 5.0


def raw(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", "surrogateescape")


JWKS = CONTEXT["jwks"]
KEY = evidentia.SigningKey.from_jwk(CONTEXT["private_jwk"])
EVENT = raw(CONTEXT["event"])
LEAF = raw(CONTEXT["leaf"])
ROOT = raw(CONTEXT["root"])
OLD_ROOT = raw(CONTEXT["old_root"])
TSA_DATA = raw(CONTEXT["timestamp_data"])
TSA_RESPONSE = raw(CONTEXT["timestamp_response"])
TSA_ROOTS = raw(CONTEXT["timestamp_roots"][0])
TSA_INTERMEDIATES = raw(CONTEXT["timestamp_intermediates"][0]) if CONTEXT["timestamp_intermediates"] else None
# A partner's JWS that verifies (RFC 7515 A.3, ES256), for the partner functions.
PARTNER = next(
    c for c in json.loads((VECTORS / "partner.json").read_text(encoding="utf-8"))["jws"] if c["source"] == "RFC 7515 A.3"
)
PARTNER_KEYS = json.dumps(PARTNER["keys"])
PARTNER_JWK = json.dumps(PARTNER["keys"]["keys"][0])
PARTNER_INPUT = ".".join(PARTNER["jws"].split(".")[:2]).encode()
PARTNER_SIGNATURE = base64.urlsafe_b64decode(PARTNER["jws"].split(".")[2] + "==")


class Runner:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.calls = 0
        self.entry_points: set[str] = set()

    def __call__(self, case: str, entry: str, call: Callable[[], Any]) -> Any:
        self.calls += 1
        self.entry_points.add(entry)
        started = time.monotonic()
        result = None
        try:
            result = call()
        except evidentia.EvidentiaError as e:
            if e.code_name not in CODES:
                self.failures.append(f"{case}: {entry} raised the code {e.code_name}: {e}")
        except Exception as e:  # noqa: BLE001 — any other exception is the failure looked for
            self.failures.append(f"{case}: {entry} raised {type(e).__name__}: {e}")
        elapsed = time.monotonic() - started
        if elapsed > TIME_LIMIT:
            self.failures.append(f"{case}: {entry} took {elapsed:.1f} s")
        if isinstance(result, evidentia.Report):
            for code in result.failure_codes:
                if code not in CODES:
                    self.failures.append(f"{case}: {entry} reported the code {code}")
            result.to_json()
            result.to_text()
        return result


def receipt_like(run: Runner, name: str, data: bytes, event: bytes | None) -> None:
    receipt = text(data)
    run(name, "verify_receipt", lambda: evidentia.verify_receipt(receipt, JWKS, event))
    run(name, "verify_receipt (event as str)", lambda: evidentia.verify_receipt(receipt, JWKS, text(event)))
    run(
        name,
        "verify_inclusion",
        lambda: evidentia.verify_inclusion(receipt, CONTEXT["inclusion_proof"], CONTEXT["checkpoint"], JWKS),
    )
    run(name, "ReceiptChain.resume", lambda: evidentia.ReceiptChain.resume(receipt))
    run(name, "verify_log_entries", lambda: evidentia.verify_log_entries([(data, event)], JWKS))


def evidence_file(run: Runner, name: str, data: bytes) -> None:
    given = text(data)
    run(name, "verify_evidence_file (bytes)", lambda: evidentia.verify_evidence_file(data))
    run(name, "verify_evidence_file (str)", lambda: evidentia.verify_evidence_file(given))
    run(name, "verify_evidence_file (trusted keys)", lambda: evidentia.verify_evidence_file(data, JWKS))


def checkpoint_note(run: Runner, name: str, note: str) -> None:
    run(name, "verify_checkpoint", lambda: evidentia.verify_checkpoint(note, JWKS))
    run(
        name,
        "verify_inclusion (the checkpoint)",
        lambda: evidentia.verify_inclusion(CONTEXT["receipt"], CONTEXT["inclusion_proof"], note, JWKS),
    )
    run(
        name,
        "verify_consistency (the new checkpoint)",
        lambda: evidentia.verify_consistency(CONTEXT["consistency_proof"], CONTEXT["old_checkpoint"], note, JWKS),
    )
    run(
        name,
        "verify_consistency (the old checkpoint)",
        lambda: evidentia.verify_consistency(CONTEXT["consistency_proof"], note, CONTEXT["checkpoint"], JWKS),
    )
    run(name, "verify_log_entries (the checkpoint)", lambda: evidentia.verify_log_entries([], JWKS, [(0, note)]))
    run(name, "check_policy (the note)", lambda: evidentia.check_policy(note, "quorum none\n"))
    proof = "c2sp.org/tlog-proof@v1\nindex 0\n\n" + note
    run(name, "verify_tlog_proof (the note)", lambda: evidentia.verify_tlog_proof(proof, b"", "quorum none\n"))


def run_case(run: Runner, case: dict) -> None:
    kind = case["kind"]
    name = f"{kind}: {case['name']}"
    data = raw(case.get("input"))
    second = raw(case.get("input2"))
    given = text(data)
    if kind == "json":
        run(name, "canonicalize (bytes)", lambda: evidentia.canonicalize(data))
        run(name, "canonicalize (str)", lambda: evidentia.canonicalize(given))
        run(name, "digest", lambda: evidentia.digest(data))
        run(name, "read_signed_message (bytes)", lambda: evidentia.read_signed_message(data))
        run(name, "read_signed_message (str)", lambda: evidentia.read_signed_message(given))
    elif kind == "jws":
        run(name, "verify_jws", lambda: evidentia.verify_jws(given, JWKS, second))
        run(name, "verify_partner_jws", lambda: evidentia.verify_partner_jws(given, PARTNER_KEYS, second))
    elif kind == "jwks":
        run(name, "verify_receipt (the key set)", lambda: evidentia.verify_receipt(CONTEXT["receipt"], given, EVENT))
        run(name, "verify_jws (the key set)", lambda: evidentia.verify_jws(CONTEXT["jws"], given))
        run(name, "verify_checkpoint (the key set)", lambda: evidentia.verify_checkpoint(CONTEXT["checkpoint"], given))
        run(name, "verify_partner_jws (the key set)", lambda: evidentia.verify_partner_jws(PARTNER["jws"], given))
    elif kind == "jwk":
        run(name, "jwk_thumbprint", lambda: evidentia.jwk_thumbprint(given))
        run(name, "SigningKey.from_jwk", lambda: evidentia.SigningKey.from_jwk(given))
        run(name, "verify_jws (the key set)", lambda: evidentia.verify_jws(CONTEXT["jws"], given))
        run(name, "verify_partner_jws (the key)", lambda: evidentia.verify_partner_jws(PARTNER["jws"], given))
        for alg in ("ES256", "RS256", "PS384", "EdDSA"):
            run(
                name,
                f"verify_partner_signature ({alg})",
                lambda alg=alg: evidentia.verify_partner_signature(alg, given, PARTNER_INPUT, PARTNER_SIGNATURE),
            )
    elif kind == "pem":
        run(name, "SigningKey.from_pem", lambda: evidentia.SigningKey.from_pem(given))
    elif kind in ("receipt", "batch_receipt"):
        receipt_like(run, name, data, second)
    elif kind == "evidence":
        evidence_file(run, name, data)
    elif kind in ("inclusion_proof", "inclusion"):
        note = text(second) if second is not None else CONTEXT["checkpoint"]
        run(name, "verify_inclusion_proof", lambda: evidentia.verify_inclusion_proof(given, LEAF, ROOT))
        run(name, "verify_inclusion", lambda: evidentia.verify_inclusion(CONTEXT["receipt"], given, note, JWKS))
    elif kind in ("consistency_proof", "consistency"):
        note = text(second) if second is not None else CONTEXT["checkpoint"]
        run(name, "verify_consistency_proof", lambda: evidentia.verify_consistency_proof(given, OLD_ROOT, ROOT))
        run(
            name,
            "verify_consistency",
            lambda: evidentia.verify_consistency(given, CONTEXT["old_checkpoint"], note, JWKS),
        )
    elif kind == "checkpoint":
        checkpoint_note(run, name, given)
    elif kind == "log_entries":
        entries = [(raw(e["entry"]), raw(e["event"])) for e in case["entries"]]
        checkpoints = [(c["size"], text(raw(c["note"]))) for c in case["checkpoints"]]
        run(name, "verify_log_entries", lambda: evidentia.verify_log_entries(entries, JWKS, checkpoints))
    elif kind == "log_id":
        run(name, "ReceiptChain", lambda: evidentia.ReceiptChain(given))
    elif kind == "time":
        chain = evidentia.ReceiptChain("hostile.example/log")
        run(name, "ReceiptChain.issue (time)", lambda: chain.issue(KEY, "{}", time=given))
    elif kind == "nonce":
        chain = evidentia.ReceiptChain("hostile.example/log")
        run(name, "ReceiptChain.issue (nonce)", lambda: chain.issue(KEY, "{}", nonce=given, time="2026-01-01T00:00:00Z"))
    elif kind == "vkey":
        note = CONTEXT["checkpoint"]
        run(name, "check_policy (a log key)", lambda: evidentia.check_policy(note, f"log {given}\nquorum none\n"))
        policy = f"witness w {given}\nquorum w\n"
        run(name, "check_policy (a witness key)", lambda: evidentia.check_policy(note, policy))
    elif kind == "timestamp_response":
        run(name, "verify_timestamp (the response)", lambda: evidentia.verify_timestamp(data, TSA_DATA, TSA_ROOTS))
    elif kind == "timestamp_request":
        run(
            name,
            "verify_timestamp (the request)",
            lambda: evidentia.verify_timestamp(TSA_RESPONSE, TSA_DATA, TSA_ROOTS, request=data),
        )
    elif kind == "certificate":
        run(name, "verify_timestamp (the roots)", lambda: evidentia.verify_timestamp(TSA_RESPONSE, TSA_DATA, data))
        run(
            name,
            "verify_timestamp (the intermediates)",
            lambda: evidentia.verify_timestamp(TSA_RESPONSE, TSA_DATA, TSA_ROOTS, intermediates=data),
        )
        run(
            name,
            "verify_timestamp (the TSA certificate)",
            lambda: evidentia.verify_timestamp(
                TSA_RESPONSE, TSA_DATA, TSA_ROOTS, intermediates=TSA_INTERMEDIATES, tsa_certificate=data
            ),
        )
    else:
        assert kind in SKIPPED, f"unknown kind {kind}"


KINDS = sorted(CORPUS["counts"])


@pytest.mark.parametrize("kind", KINDS)
def test_no_hostile_input_raises_anything_but_an_evidentia_error(kind: str) -> None:
    if kind in SKIPPED:
        pytest.skip(f"{kind}: no Python entry point")
    run = Runner()
    cases = [c for c in CORPUS["cases"] if c["kind"] == kind]
    assert len(cases) == CORPUS["counts"][kind]
    for case in cases:
        run_case(run, case)
    print(f"{kind}: {len(cases)} cases, {run.calls} calls through {sorted(run.entry_points)}")
    assert not run.failures, f"{len(run.failures)} failures:\n" + "\n".join(run.failures[:50])


def test_the_corpus_is_whole() -> None:
    assert len(CORPUS["cases"]) == CORPUS["total"] >= 3000


def test_text_with_a_lone_surrogate_is_an_evidentia_error() -> None:
    """A str that UTF-8 cannot carry raises INVALID_ARGUMENT, not UnicodeEncodeError."""
    bad = b"\xff".decode("utf-8", "surrogateescape")
    calls = [
        lambda: evidentia.verify_jws(bad, JWKS),
        lambda: evidentia.verify_receipt(CONTEXT["receipt"], bad),
        lambda: evidentia.verify_checkpoint(bad, JWKS),
        lambda: evidentia.SigningKey.from_pem(bad),
        lambda: evidentia.ReceiptChain(bad),
        lambda: evidentia.verify_log_entries([], JWKS, [(1, bad)]),
        lambda: evidentia.verify_evidence_file("{}", bad),
        lambda: evidentia.verify_partner_jws(bad, PARTNER_KEYS),
        lambda: evidentia.verify_partner_signature(bad, PARTNER_JWK, PARTNER_INPUT, PARTNER_SIGNATURE),
    ]
    for call in calls:
        with pytest.raises(evidentia.UsageError) as raised:
            call()
        assert raised.value.code_name == "INVALID_ARGUMENT"
    # Where the text is JSON (a value, an evidence file), the JSON code.
    for call in (lambda: evidentia.canonicalize(bad), lambda: evidentia.verify_evidence_file(bad, JWKS)):
        with pytest.raises(evidentia.JsonError) as raised:
            call()
        assert raised.value.code_name == "JSON_LONE_SURROGATE"
    # Other types than str stay a TypeError, as for any Python function.
    with pytest.raises(TypeError):
        evidentia.verify_jws(b"jws", JWKS)  # type: ignore[arg-type]


def test_sizes_and_indexes_beyond_a_u64_are_an_evidentia_error(tmp_path: Path) -> None:
    """-1 and 2**64 raise INVALID_ARGUMENT, as in the Node package, not OverflowError."""
    for size in (-1, 2**64, -(2**70)):
        with pytest.raises(evidentia.UsageError) as raised:
            evidentia.verify_log_entries([], JWKS, [(size, CONTEXT["checkpoint"])])
        assert raised.value.code_name == "INVALID_ARGUMENT"
    with evidentia.Log.create(tmp_path / "log", KEY) as log:
        log.append("{}")
        for call in (
            lambda: log.receipt(-1),
            lambda: log.inclusion_proof(0, 2**64),
            lambda: log.consistency_proof(-1),
            lambda: log.export_package(2**64, tmp_path / "package"),
            lambda: log.message(-1),
            lambda: log.verify_message(2**64),
            lambda: log.record_message(PARTNER["jws"], PARTNER_KEYS, link=-1),
        ):
            with pytest.raises(evidentia.UsageError) as raised:
                call()
            assert raised.value.code_name == "INVALID_ARGUMENT"
    # Other types than int stay a TypeError.
    with pytest.raises(TypeError):
        evidentia.verify_log_entries([], JWKS, [(1.5, CONTEXT["checkpoint"])])  # type: ignore[list-item]
