"""The repository's generated test vectors (testvectors/*.json), used as data only, against this verifier."""
import base64
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
VEC = os.path.join(HERE, "..", "..", "testvectors")

from spec_verifier import checkpoints, jcs, jws, merkle  # noqa: E402
from spec_verifier.errors import EvError  # noqa: E402
from spec_verifier.keys import read_key_set  # noqa: E402
from spec_verifier.log import LogVerifier  # noqa: E402
from spec_verifier.receipt import verify_batch_receipt, verify_receipt  # noqa: E402


def load(name):
    with open(os.path.join(VEC, name), encoding="utf-8") as f:
        return json.load(f)


def outcome(fn):
    try:
        return fn()
    except EvError as e:
        return "ERR:" + e.name


class Vectors(unittest.TestCase):
    def test_canonicalization(self):
        for c in load("canonicalization.json")["cases"]:
            got = outcome(lambda: jcs.canonicalize(bytes.fromhex(c["input_hex"])).decode())
            want = c["canonical"] if "canonical" in c else "ERR:" + c["error"]
            self.assertEqual(got, want, c["name"])

    def test_jws_verify(self):
        for c in load("jws.json")["verify"]:
            payload = bytes.fromhex(c["payload_hex"]) if c.get("payload_hex") is not None else None
            got = outcome(lambda: jws.verify(c["jws"], read_key_set(c["jwks"]), payload) and "ok")
            want = "ok" if c["valid"] else "ERR:" + c["error"]
            self.assertEqual(got, want, c["name"])

    def test_invalid_key_sets(self):
        for c in load("keys.json")["invalid_key_sets"]:
            self.assertEqual(outcome(lambda: read_key_set(c["input"])), "ERR:" + c["error"], c["name"])

    def test_kids(self):
        from spec_verifier.keys import thumbprint
        for k in load("keys.json")["keys"]:
            self.assertEqual(thumbprint(json.loads(k["public_jwk"])), k["kid"])

    def _report(self, fn, c):
        got = outcome(fn)
        if isinstance(got, str):
            self.assertEqual(got, "ERR:" + c.get("error", "?"), c["name"])
        else:
            self.assertEqual(got.codes(), c["failures"], c["name"])
            self.assertEqual(got.valid, c["valid"], c["name"])

    def test_receipts(self):
        for c in load("receipts.json")["verify"]:
            self._report(lambda: verify_receipt(c["receipt"], read_key_set(c["jwks"]), c.get("event")), c)

    def test_batch_receipts(self):
        for c in load("batch_receipts.json")["verify"]:
            self._report(lambda: verify_batch_receipt(c["batch_receipt"], read_key_set(c["jwks"]), c.get("event")), c)

    def test_checkpoints(self):
        d = load("checkpoints.json")
        ks = read_key_set(d["jwks"])
        for c in d["verify"]:
            got = outcome(lambda: checkpoints.verify_alone(checkpoints.read(c["note"]), ks).size)
            want = c["size"] if c["valid"] else "ERR:" + c["error"]
            self.assertEqual(got, want, c["name"])

    def test_merkle(self):
        d = load("merkle.json")
        leaves = [merkle.leaf_hash(bytes.fromhex(x["data_hex"])) for x in d["leaves"]]
        roots = [base64.b64decode(r) for r in d["roots"]]
        for n, r in enumerate(roots):
            self.assertEqual(merkle.root_of(leaves[:n]), r)
        for c in d["inclusion"]:
            p = merkle.read_inclusion(c["proof"])
            self.assertTrue(merkle.verify_inclusion(p, leaves[p.leaf_index], roots[p.tree_size]))
        for c in d["consistency"]:
            p = merkle.read_consistency(c["proof"])
            self.assertTrue(merkle.verify_consistency(p.old_size, p.new_size, p.hashes,
                                                      roots[p.old_size], roots[p.new_size]))

    def test_logs(self):
        d = load("logs.json")
        ks = read_key_set(d["jwks"])
        for c in d["cases"]:
            v = LogVerifier(ks, "receipts")
            for e in c["entries"]:
                ev = e.get("event")
                v.push((1, e["receipt"].encode(), ev.encode() if ev else None))
            r = v.finish()
            got = [{"code": f["name"], "index": f["index"]} for f in r.findings]
            self.assertEqual(got, c["findings"], c["name"])

    def test_witness_policies(self):
        """witness.json's `policies`: each note evaluated against its tlog-policy (§22.2), the policy
        read first; a valid one gives the result core gives."""
        from spec_verifier import policy
        from spec_verifier.util import b64std_encode

        def result(p, note):
            ev = policy.evaluate(note.encode(), p)
            cp = ev.checkpoint
            return {"cosigned": [{"key_name": vk.name, "timestamp": t, "witness": n} for n, vk, t in ev.cosigned],
                    "origin": cp.origin, "quorum_met": ev.quorum_met, "root": b64std_encode(cp.root),
                    "signed_by": [vk.name for vk in ev.signed_by], "size": cp.size}
        for c in load("witness.json")["policies"]:
            got = outcome(lambda: result(policy.read_policy(c["policy"].encode()), c["note"]))
            self.assertEqual(got, c["result"] if c["code"] is None else "ERR:" + c["code"], c["name"])


if __name__ == "__main__":
    unittest.main()
