"""SPEC §14: reports (checks, findings, validity) and their JSON form."""
from . import jcs
from .errors import CODES

SUBJECT_CHECKS = {
    "receipt": ("format", "key", "signature", "event"),
    "batch_receipt": ("format", "key", "checkpoint", "inclusion", "event"),
    "log": ("format", "key", "signature", "event", "log_id", "sequence", "chain", "time",
            "nonce", "checkpoint", "tree", "key_history"),
}
MAX_FINDINGS = 1000


class Report:
    def __init__(self, subject):
        self.subject = subject
        self.status = {c: "passed" for c in SUBJECT_CHECKS[subject]}
        self.failures = {c: 0 for c in SUBJECT_CHECKS[subject]}
        self.findings = []
        self.log_id = None
        self.records = 0

    def fail(self, check, name, index=None, message=""):
        assert check in self.status, check
        self.status[check] = "failed"
        self.failures[check] += 1
        self.findings.append({"check": check, "code": CODES[name], "name": name,
                              "index": index, "message": message or name})

    def skip(self, check):
        if self.status[check] == "passed":
            self.status[check] = "skipped"

    @property
    def valid(self):
        return not self.findings

    def codes(self):
        """Failure code names, in the order of the findings, first appearance first."""
        out = []
        for f in self.findings:
            if f["name"] not in out:
                out.append(f["name"])
        return out

    def all_codes(self):
        return [f["name"] for f in self.findings]

    def to_json(self):
        checks = [{"check": c, "description": c, "failures": self.failures[c], "status": self.status[c]}
                  for c in SUBJECT_CHECKS[self.subject]]
        failed = [c for c in SUBJECT_CHECKS[self.subject] if self.status[c] == "failed"]
        ran = [c for c in SUBJECT_CHECKS[self.subject] if self.status[c] != "skipped"]
        if self.valid:
            summary = f"VALID: {self.subject}, all {len(ran)} checks passed"
        else:
            summary = (f"INVALID: {self.subject}, {len(failed)} of {len(ran)} checks failed: "
                       + ", ".join(f"{c} ({self.failures[c]})" for c in failed))
        shown = self.findings[:MAX_FINDINGS]
        return jcs.canonical({
            "checks": checks, "findings": shown, "findings_omitted": len(self.findings) - len(shown),
            "log_id": self.log_id, "records": self.records, "subject": self.subject,
            "summary": summary, "valid": self.valid,
        }).decode("utf-8")
