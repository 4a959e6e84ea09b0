#!/usr/bin/env python3
"""Runs the conformance cases through an adapter and compares its answers with
expected.json (see README.md, "Running it").

    python3 run.py [--only GROUP[,GROUP]] [--jobs N] [--case ID] -- ADAPTER [ARGS...]

Exits 0 when every case that ran agrees, 1 when some case disagrees, 2 on a usage
error or when no case ran.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT_SECONDS = 120


def load_cases():
    with open(os.path.join(HERE, "cases.json"), encoding="utf-8") as f:
        return json.load(f)


def last_json_line(text):
    """The adapter's answer: the last non-empty line of its output, as a JSON object."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line:
            try:
                answer = json.loads(line)
            except ValueError:
                return None
            return answer if isinstance(answer, dict) else None
    return None


# What an adapter may declare it skips (--skips), and which cases that covers. A
# skip outside the declared kinds fails, so an adapter cannot pass by skipping
# what it gets wrong.
SKIP_KINDS = {
    "package": lambda case, folder: case["operation"] == "package",
    "package-folder": lambda case, folder: case["operation"] == "package"
    and os.path.isdir(os.path.join(folder, case["inputs"]["package"])),
    "log": lambda case, folder: case["operation"] == "log",
    "tiles": lambda case, folder: case["operation"] == "tiles",
    "record-inclusion": lambda case, folder: case["operation"] == "inclusion" and "record" in case["inputs"],
    "not-utf8": lambda case, folder: any(not_utf8(os.path.join(folder, name)) for role, name in case["inputs"].items()
                                         if role not in ("event", "evidence")),
}


def not_utf8(path):
    """Whether a file input holds bytes that are not UTF-8 (a folder is not text)."""
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        try:
            f.read().decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


def skippable(case, kinds):
    folder = os.path.join(HERE, "cases", case["case"])
    return any(SKIP_KINDS[kind](case, folder) for kind in kinds)


def run_case(adapter, case):
    """(status, detail): status is 'pass', 'fail' or 'skip'."""
    folder = os.path.join(HERE, "cases", case["case"])
    try:
        done = subprocess.run(adapter + [folder], capture_output=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        return "fail", f"no answer within {TIMEOUT_SECONDS} s"
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace").strip()
    answer = last_json_line(out)
    if answer is None:
        tail = (err or out).strip().splitlines()[-3:]
        return "fail", f"exit {done.returncode}, no JSON answer: {' | '.join(tail)}"
    if "skip" in answer:
        if done.returncode != 0:
            return "fail", f"skip with exit {done.returncode}"
        return "skip", str(answer["skip"])
    problems = []
    if done.returncode != case["exit"]:
        problems.append(f"exit {done.returncode}, expected {case['exit']}")
    if answer.get("code") != case["code"]:
        problems.append(f"code {answer.get('code')}, expected {case['code']}")
    if "codes" in case and answer.get("codes") != case["codes"]:
        problems.append(f"codes {answer.get('codes')}, expected {case['codes']}")
    if problems:
        return "fail", "; ".join(problems)
    return "pass", ""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated groups to run")
    parser.add_argument("--case", action="append", default=[], help="a case id to run (repeatable)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skips", default="", help=f"comma-separated kinds of case the adapter may skip: {', '.join(SKIP_KINDS)}")
    parser.add_argument("adapter", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    adapter = args.adapter[1:] if args.adapter[:1] == ["--"] else args.adapter
    if not adapter:
        parser.error("give the adapter after --")
    cases = load_cases()
    if args.only:
        groups = set(args.only.split(","))
        cases = [c for c in cases if c["case"].split("/")[0] in groups]
    if args.case:
        cases = [c for c in cases if c["case"] in args.case]
    if not cases:
        print("no case selected", file=sys.stderr)
        return 2
    kinds = [k for k in args.skips.split(",") if k]
    for kind in kinds:
        if kind not in SKIP_KINDS:
            parser.error(f"unknown kind to skip {kind!r}")
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = list(pool.map(lambda c: (c, run_case(adapter, c)), cases))
    counts = {"pass": 0, "fail": 0, "skip": 0}
    skipped = {}
    for case, (status, detail) in results:
        if status == "skip" and not skippable(case, kinds):
            status, detail = "fail", f"skipped ({detail}), but it is of no kind given to --skips"
        counts[status] += 1
        if status == "fail":
            print(f"FAIL {case['case']}: {detail}")
        elif status == "skip":
            skipped.setdefault(detail, []).append(case["case"])
    for reason, ids in skipped.items():
        print(f"skipped {len(ids)} ({reason}): {', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''}")
    print(f"{' '.join(adapter)}: {counts['pass']} agree, {counts['fail']} disagree, {counts['skip']} skipped, of {len(cases)}")
    if counts["pass"] == 0:
        return 2
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
