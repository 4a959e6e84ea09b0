#!/usr/bin/env python3
"""Conformance adapter for the `evidentia` command: `python3 cli-adapter.py CASE_DIR`.

Runs the command a user would run for the case's operation (with `--json`), exits
with its exit status and prints {"code": ..., "codes": [...]} as its last line.
The command is $EVIDENTIA, or target/debug/evidentia of this repository.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EVIDENTIA = os.environ.get("EVIDENTIA") or os.path.join(ROOT, "target", "debug", "evidentia")
REPORT_OPS = ("receipt", "evidence", "log", "tiles")


def command(operation, inputs, path):
    """The CLI arguments that perform `operation` on the case's inputs."""
    def option(flag, role):
        return [flag, path(role)] if role in inputs else []

    def salt():
        """--salt-hex takes the salt's bytes in hex (as `log salt` prints them)."""
        if "salt" not in inputs:
            return []
        with open(path("salt"), "rb") as f:
            return ["--salt-hex", f.read().hex()]

    if operation == "receipt":
        return ["receipt", "verify", *option("--jwks", "jwks"), *option("--event", "event"), *salt(),
                path("receipt")]
    if operation == "evidence":
        return ["evidence", "verify", *option("--jwks", "jwks"), path("evidence")]
    if operation == "checkpoint":
        return ["checkpoint", "verify", *option("--jwks", "jwks"), path("checkpoint")]
    if operation == "inclusion":
        return ["proof", "verify", "--checkpoint", path("checkpoint"), *option("--jwks", "jwks"),
                *option("--receipt", "receipt"), *option("--record", "record"), path("proof")]
    if operation == "consistency":
        return ["proof", "verify", "--checkpoint", path("checkpoint"), "--old-checkpoint", path("old_checkpoint"),
                *option("--jwks", "jwks"), path("proof")]
    if operation == "log":
        return ["log", "verify", *option("--jwks", "jwks"), path("log")]
    if operation == "tiles":
        return ["log", "verify", "--jwks", path("jwks"), path("publication")]
    if operation == "package":
        return ["package", "verify", path("package")]
    raise SystemExit(f"unknown operation {operation!r}")


def main():
    case = sys.argv[1]
    with open(os.path.join(case, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    operation, inputs = expected["operation"], expected["inputs"]
    args = command(operation, inputs, lambda role: os.path.join(case, inputs[role]))
    done = subprocess.run([EVIDENTIA, "--json", *args], capture_output=True)
    out = done.stdout.decode("utf-8", "replace")
    try:
        printed = json.loads(out) if out.strip() else {}
    except ValueError:
        print(out + done.stderr.decode("utf-8", "replace"), file=sys.stderr)
        printed = {}
    answer = {"code": None}
    if "error" in printed:
        answer["code"] = printed["error"]["name"]
    elif operation in REPORT_OPS:
        codes = []
        for finding in printed.get("findings", []):
            if finding["name"] not in codes:
                codes.append(finding["name"])
        answer = {"code": codes[0] if codes else None, "codes": codes}
    print(json.dumps(answer))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
