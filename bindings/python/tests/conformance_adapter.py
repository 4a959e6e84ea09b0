"""Conformance adapter for the Python package: `python conformance_adapter.py CASE_DIR`.

Performs the case's operation (testvectors/conformance/README.md, "Operations")
with the `evidentia` package, exits 0, 1 or 2 and prints {"code": ..., "codes": [...]}
as its last line. Operations the package does not offer are skipped, saying why.
"""
import json
import os
import sys

import evidentia
from evidentia.errors import EvidentiaError, VerificationError

REPORT_OPS = ("receipt", "evidence", "log", "tiles")


class NotText(Exception):
    """An input is not UTF-8, so it cannot be passed as a str."""


def main(case):
    with open(os.path.join(case, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    operation, inputs = expected["operation"], expected["inputs"]
    if operation == "inclusion" and "record" in inputs:
        return 0, {"skip": "the package verifies a receipt's inclusion, not a bare record's"}

    def data(role):
        with open(os.path.join(case, inputs[role]), "rb") as f:
            return f.read()

    def text(role):
        try:
            return data(role).decode("utf-8")
        except UnicodeDecodeError:
            raise NotText from None

    try:
        if operation == "receipt":
            event = data("event") if "event" in inputs else None
            salt = data("salt") if "salt" in inputs else None
            report = evidentia.verify_receipt(text("receipt"), text("jwks"), event, salt=salt)
        elif operation == "evidence":
            jwks = text("jwks") if "jwks" in inputs else None
            report = evidentia.verify_evidence_file(data("evidence"), jwks)
        elif operation == "log":
            jwks = text("jwks") if "jwks" in inputs else None
            report = evidentia.verify_log(os.path.join(case, inputs["log"]), jwks)
        elif operation == "tiles":
            report = evidentia.verify_publication(os.path.join(case, inputs["publication"]), text("jwks"))
        elif operation == "package":
            # A folder or a .tar.gz by its path; a .tar.gz also as its bytes, with the same verdict.
            path = os.path.join(case, inputs["package"])
            result = evidentia.verify_package(path)
            if os.path.isfile(path) and evidentia.verify_package(data("package")) != result:
                raise SystemExit("a .tar.gz's bytes and its path give different results")
            return (0 if result["valid"] else 1), {"code": None}
        elif operation == "checkpoint":
            evidentia.verify_checkpoint(text("checkpoint"), text("jwks"))
            return 0, {"code": None}
        elif operation == "inclusion":
            evidentia.verify_inclusion(text("receipt"), text("proof"), text("checkpoint"), text("jwks"))
            return 0, {"code": None}
        elif operation == "consistency":
            evidentia.verify_consistency(text("proof"), text("old_checkpoint"), text("checkpoint"), text("jwks"))
            return 0, {"code": None}
        else:
            raise SystemExit(f"unknown operation {operation!r}")
    except NotText:
        # Bytes that are not UTF-8 cannot reach the package as a str.
        return 0, {"skip": "an input is not UTF-8 text, which a Python str cannot hold"}
    except EvidentiaError as e:
        exit_code = 1 if isinstance(e, VerificationError) else 2
        return exit_code, {"code": e.code_name}
    codes = report.failure_codes
    answer = {"code": codes[0] if codes else None}
    if operation in REPORT_OPS:
        answer["codes"] = codes
    return (0 if report.valid else 1), answer


if __name__ == "__main__":
    exit_code, answer = main(sys.argv[1])
    print(json.dumps(answer))
    sys.exit(exit_code)
