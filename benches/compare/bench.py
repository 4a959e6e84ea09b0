"""One run of the side-by-side benchmark in Python (driven by `cargo xtask bench`).

    python bench.py IMPLEMENTATION INPUTS [--quick]

IMPLEMENTATION is `evidentia` (the package), `rfc8785+cryptography` (the obvious
alternative: canonical JSON from `rfc8785`, ES256 from `cryptography`, JWS by hand)
or `rfc8785+joserfc` (JWS by `joserfc`). Each does the same work on the same inputs
(INPUTS, written by xtask) and prints one JSON line per workload with its median
time per operation. Nothing is cached across operations.

With --check, each implementation's receipts are verified by the others instead of
timed (the smoke test of `cargo xtask test`).
"""

from __future__ import annotations

import atexit
import base64
import datetime
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPEATS = 7


def median_ns(call: Callable[[], object], per_repeat: int) -> float:
    """Median time of one call over REPEATS repeats of `per_repeat` calls, after a
    warm-up call; a workload of one long call (per_repeat 0) runs once, unwarmed:
    its repetitions are the driver's interleaved rounds."""
    if per_repeat == 0:
        start = time.perf_counter_ns()
        call()
        return float(time.perf_counter_ns() - start)
    call()  # warm up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter_ns()
        for _ in range(per_repeat):
            call()
        times.append((time.perf_counter_ns() - start) / per_repeat)
    return statistics.median(times)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Peer:
    """Evidentia's receipt format (SPEC.md §6-7) made with rfc8785 and an ES256 library."""

    def __init__(self, jwk: dict, jws: str) -> None:
        import rfc8785

        self.dumps = rfc8785.dumps
        self.jwk, self.kid, self.jws = jwk, jwk["kid"], jws
        if jws == "cryptography":
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import ec

            private = ec.derive_private_key(int.from_bytes(b64u_decode(jwk["d"]), "big"), ec.SECP256R1())
            self.private, self.public = private, private.public_key()
            self.ecdsa = ec.ECDSA(hashes.SHA256())
        else:
            from joserfc import jws as joserfc_jws
            from joserfc.jwk import ECKey

            self.joserfc, self.key = joserfc_jws, ECKey.import_key(jwk)

    def sign(self, header: dict, payload: bytes) -> str:
        if self.jws == "cryptography":
            from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

            signing_input = b64u(self.dumps(header)) + "." + b64u(payload)
            r, s = decode_dss_signature(self.private.sign(signing_input.encode(), self.ecdsa))
            return signing_input + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        return self.joserfc.serialize_compact(header, payload, self.key, algorithms=["ES256"])

    def verify(self, compact: str) -> tuple[dict, bytes]:
        if self.jws == "cryptography":
            from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

            head, payload, signature = compact.split(".")
            raw = b64u_decode(signature)
            der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
            self.public.verify(der, (head + "." + payload).encode(), self.ecdsa)  # raises when invalid
            return json.loads(b64u_decode(head)), b64u_decode(payload)
        token = self.joserfc.deserialize_compact(compact, self.key, algorithms=["ES256"])
        return token.headers(), token.payload

    def receipt(self, event_text: str, seq: int, prev: str | None, now: str) -> tuple[str, str]:
        """A receipt for the event, and the digest of its record (the next `prev`)."""
        record = {
            "event": digest(self.dumps(json.loads(event_text))),
            "kid": self.kid,
            "log_id": "bench.evidentia.dev/compare",
            "prev": prev,
            "seq": seq,
            "time": now,
            "v": 1,
        }
        record_bytes = self.dumps(record)
        header = {"alg": "ES256", "kid": self.kid, "typ": "evidentia-receipt+jws"}
        return self.sign(header, record_bytes), digest(record_bytes)

    def verify_receipt(self, receipt: str, event_text: str) -> dict:
        header, payload = self.verify(receipt)
        record = json.loads(payload)
        if header.get("typ") != "evidentia-receipt+jws" or header.get("kid") != self.kid:
            raise ValueError("not a receipt of this key")
        if self.dumps(record) != payload:
            raise ValueError("the record is not canonical")
        if record["event"] != digest(self.dumps(json.loads(event_text))):
            raise ValueError("another event")
        return record

    def verify_log(self, receipts: list[str], events: list[str]) -> int:
        prev = None
        for seq, (receipt, event) in enumerate(zip(receipts, events)):
            record = self.verify_receipt(receipt, event)
            if record["seq"] != seq or record["prev"] != prev:
                raise ValueError(f"the chain breaks at {seq}")
            prev = digest(b64u_decode(receipt.split(".")[1]))
        return len(receipts)


def merkle(leaves: int, proofs: int) -> None:
    """RFC 6962 tree of `leaves` leaves with hashlib; `proofs` inclusion proofs made and checked."""
    sha = hashlib.sha256
    level = [sha(b"\x00" + i.to_bytes(8, "big")).digest() for i in range(leaves)]
    levels = [level]
    while len(level) > 1:
        nxt = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        levels.append(nxt)
        level = nxt
    root = level[0]
    for k in range(proofs):
        index = (k * 7919) % leaves
        path, i = [], index
        for lvl in levels[:-1]:
            sibling = i ^ 1
            if sibling < len(lvl):
                path.append((sibling < i, lvl[sibling]))
            i //= 2
        h = levels[0][index]
        for left, sibling in path:
            h = sha(b"\x01" + sibling + h).digest() if left else sha(b"\x01" + h + sibling).digest()
        if h != root:
            raise ValueError("an inclusion proof does not verify")


def main() -> None:
    implementation, inputs = sys.argv[1], Path(sys.argv[2])
    quick = "--quick" in sys.argv
    check = "--check" in sys.argv
    read = lambda name: (inputs / name).read_text(encoding="utf-8")  # noqa: E731
    event_1k, doc_64k = read("event-1k.json"), read("doc-64k.json")
    jwk = json.loads(read("key.jwk"))
    receipt, receipt_event = read("receipt.jws").strip(), read("receipt-event.json")
    log_receipts = read("log-receipts.txt").split()
    log_events = read("log-events.jsonl").splitlines()
    jwks = read("keys.jwks")
    # A second from now, in whole seconds: the receipts must fall within the key's
    # validity, which starts (to the nanosecond) when the benchmark's log was made.
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
    now = later.strftime("%Y-%m-%dT%H:%M:%SZ")
    scale = 10 if quick else 1

    if implementation == "evidentia":
        import evidentia

        key = evidentia.SigningKey.from_jwk(read("key.jwk"))
        keys = evidentia.KeySet.from_json(jwks)  # parsed once, as the peers import theirs once
        # A log on tmpfs where there is one, so that no disk flush is counted.
        folder = tempfile.mkdtemp(prefix="evidentia-bench-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        # Records of version 1, which commit to the plain event digest the peers check.
        log = evidentia.Log.create(Path(folder) / "log", key, log_id="bench.evidentia.dev/compare", record_version=1)
        # Receipts in memory, as the peers make them; and with the opt-in randomized
        # signing, which is how the peers sign.
        chain = evidentia.ReceiptChain("bench.evidentia.dev/compare")
        fast = key.with_randomized_signatures()
        if check:
            peer = Peer(jwk, "cryptography")
            peer.verify_receipt(log.append(event_1k), event_1k)
            peer.verify_receipt(chain.issue(key, event_1k, time=now), event_1k)
            peer.verify_receipt(chain.issue(fast, event_1k, time=now), event_1k)
            theirs, _ = peer.receipt(event_1k, 0, None, now)
            assert evidentia.verify_receipt(theirs, keys, event_1k).valid
            assert evidentia.canonicalize(doc_64k) == peer.dumps(json.loads(doc_64k))
            print(json.dumps({"implementation": implementation, "check": "ok"}))
            return
        workloads = {
            "canonicalize_1k": (lambda: evidentia.canonicalize(event_1k), 2000 // scale),
            "canonicalize_64k": (lambda: evidentia.canonicalize(doc_64k), 40 // scale),
            "build_receipt": (lambda: chain.issue(key, event_1k, time=now), 300 // scale),
            "build_receipt_randomized": (lambda: chain.issue(fast, event_1k, time=now), 300 // scale),
            "append_receipt": (lambda: log.append(event_1k), 300 // scale),
            "verify_receipt": (lambda: evidentia.verify_receipt(receipt, keys, receipt_event), 300 // scale),
            "verify_log": (lambda: evidentia.verify_log(inputs / "log"), 0),
        }
    else:
        peer = Peer(jwk, "cryptography" if implementation == "rfc8785+cryptography" else "joserfc")
        if check:
            peer.verify_receipt(receipt, receipt_event)
            peer.verify_log(log_receipts, log_events)
            print(json.dumps({"implementation": implementation, "check": "ok"}))
            return
        state = {"seq": 0, "prev": None}

        def build() -> None:
            made, state["prev"] = peer.receipt(event_1k, state["seq"], state["prev"], now)
            state["seq"] += 1

        workloads = {
            "canonicalize_1k": (lambda: peer.dumps(json.loads(event_1k)), 2000 // scale),
            "canonicalize_64k": (lambda: peer.dumps(json.loads(doc_64k)), 40 // scale),
            "build_receipt": (build, 300 // scale),
            "verify_receipt": (lambda: peer.verify_receipt(receipt, receipt_event), 300 // scale),
            "verify_log": (lambda: peer.verify_log(log_receipts, log_events), 0),
        }
        if implementation == "rfc8785+cryptography":
            leaves = 10_000 if quick else 1_000_000
            workloads["merkle"] = (lambda: merkle(leaves, 1000), 0)
    for name, (call, per_repeat) in workloads.items():
        ns = median_ns(call, per_repeat)
        print(json.dumps({"implementation": implementation, "workload": name, "median_ns": ns}), flush=True)


if __name__ == "__main__":
    main()
