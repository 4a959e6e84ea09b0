"""Per-call cost of the Python package for a 1 KB event (run by `cargo xtask bench`).

Prints one JSON line per operation: its median time per call over 25 rounds.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

import evidentia

ROUNDS = 25


def median_ns(call, calls_per_round: int) -> float:
    call()  # warm up
    per_call = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(calls_per_round):
            call()
        per_call.append((time.perf_counter_ns() - start) / calls_per_round)
    return statistics.median(per_call)


def log_reads(path: str, group: str) -> None:
    """Receipts and proofs of records spread over the log, from the open log."""
    log = evidentia.Log.open(path)
    size = len(log)
    position = [0]

    def next_index() -> int:
        position[0] = (position[0] + 7919) % size
        return position[0]

    operations = {
        "log_receipt": lambda: log.receipt(next_index()),
        "log_inclusion_proof": lambda: log.inclusion_proof(next_index()),
    }
    for name, call in operations.items():
        print(json.dumps({"language": "python", "op": f"{group}/{name}", "median_ns": median_ns(call, 2000)}), flush=True)
    log.close()


def main() -> None:
    # With EVIDENTIA_BENCH_LOG, only the reads from that log (`cargo xtask bench log`).
    if "EVIDENTIA_BENCH_LOG" in os.environ:
        log_reads(os.environ["EVIDENTIA_BENCH_LOG"], os.environ["EVIDENTIA_BENCH_GROUP"])
        return
    here = Path(sys.argv[1])
    text = (here / "event-1k.json").read_text(encoding="utf-8")
    value = json.loads(text)
    key = evidentia.SigningKey.from_jwk((here / "key.jwk").read_text(encoding="utf-8"))
    jwks = key.public_jwk()
    canonical = evidentia.canonicalize(text)
    jws = key.sign_jws(canonical)
    operations = {
        "canonicalize": (lambda: evidentia.canonicalize(text), 2000),
        "canonicalize_value": (lambda: evidentia.canonicalize(value), 2000),
        "sign": (lambda: key.sign_jws(canonical), 300),
        "verify": (lambda: evidentia.verify_jws(jws, jwks), 150),
    }
    for name, (call, calls) in operations.items():
        print(json.dumps({"language": "python", "op": name, "median_ns": median_ns(call, calls)}), flush=True)


if __name__ == "__main__":
    main()
