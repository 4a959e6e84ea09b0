"""Differential tests: artifacts made and tampered with the `evidentia` CLI (a black box), verified
by the CLI (`--json`) and by this verifier; verdicts and codes must agree. Skipped without the CLI
(build it with `cargo build -p evidentia-cli`, or set EVIDENTIA)."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from spec_verifier import log as logmod  # noqa: E402
from spec_verifier.errors import EvError  # noqa: E402
from spec_verifier.keys import read_key_set  # noqa: E402
from spec_verifier.package import package_valid, verify_package  # noqa: E402
from spec_verifier.receipt import verify_any  # noqa: E402

CLI = os.environ.get("EVIDENTIA") or os.path.join(HERE, "..", "..", "target", "debug", "evidentia")


def slurp(path):
    with open(path, "rb") as f:
        return f.read()


def cli(*args, stdin=None):
    p = subprocess.run([CLI, "--json", *args], input=stdin, capture_output=True)
    return p.returncode, p.stdout.decode()


def cli_log_codes(d, jwks):
    rc, out = cli("log", "verify", "--jwks", jwks, d)
    j = json.loads(out.strip().splitlines()[-1])
    if "error" in j:
        return rc, j["error"]["name"]
    return rc, [(f["name"], f["index"]) for f in j["findings"]]


def my_log_codes(d, jwks):
    try:
        r = logmod.verify_dir(d, read_key_set(slurp(jwks)))
    except EvError as e:
        return e.exit_class, e.name
    return (0 if r.valid else 1), [(f["name"], f["index"]) for f in r.findings]


def undecided(result):
    """Blank what SPEC does not decide, so that only SPEC's answers are compared.

    §13: "Batch-mode records that no valid checkpoint covers are RECORD_UNSIGNED (622), reported
    once at the first of them": whether an unreadable entry is such a record is not said (this
    verifier reports the first uncovered entry, the CLI the first uncovered readable record)."""
    rc, findings = result
    if not isinstance(findings, list):
        return result
    unreadable = {i for n, i in findings if n == "RECORD_UNREADABLE"}

    def readable_from(i):
        while i in unreadable:
            i += 1
        return i
    return rc, [(n, readable_from(i) if n == "RECORD_UNSIGNED" else i) for n, i in findings]


def frames(path):
    data = slurp(path)
    out, pos = [], 0
    while pos + 12 <= len(data):
        (n,) = struct.unpack_from("<I", data, pos + 4)
        out.append((pos, pos + 12 + n))
        pos += 12 + n
    return data, out


def frame(payload):
    ln = struct.pack("<I", len(payload))
    return b"EVD1" + ln + struct.pack("<I", zlib.crc32(ln + payload)) + payload


@unittest.skipUnless(os.path.exists(CLI), "no evidentia CLI")
class Differential(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="spec-verifier-")
        t = cls.tmp
        for k in ("k1", "k2"):
            cli("keygen", "--out", f"{t}/{k}.jwk")
        for mode in ("receipts", "batch"):
            d = f"{t}/{mode}"
            cli("log", "init", d, "--key", f"{t}/k1.jwk", "--id", f"ex.com/{mode}", "--mode", mode)
            if mode == "batch":  # its checkpoints carry the Ed25519 note key's line too (§10.1)
                cli("log", "note-key", d, "--key", f"{t}/note.pem", "--generate")
            for i in range(4):
                cli("log", "append", d, "--nonce", f"n{i}", "-", stdin=json.dumps({"n": i, "s": "x" * i}).encode())
            cli("log", "rotate", d, "--key", f"{t}/k2.jwk")
            for i in range(4, 7):
                cli("log", "append", d, "-", stdin=json.dumps({"n": i}).encode())
            cli("log", "checkpoint", d)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def copy(self, mode):
        d = tempfile.mkdtemp(dir=self.tmp)
        shutil.rmtree(d)
        shutil.copytree(f"{self.tmp}/{mode}", d)
        return d

    def same(self, d, mode):
        jwks = f"{self.tmp}/{mode}/keys.jwks"
        want, got = cli_log_codes(d, jwks), my_log_codes(d, jwks)
        self.assertEqual(undecided(got), undecided(want))
        return got

    def seg(self, d):
        return os.path.join(d, "segments", "00000000000000000000.seg")

    def test_untouched(self):
        for mode in ("receipts", "batch"):
            self.assertEqual(self.same(f"{self.tmp}/{mode}", mode), (0, []))

    def tampered(self, mode, fn):
        d = self.copy(mode)
        data, fr = frames(self.seg(d))
        parts = [data[a:b] for a, b in fr]
        parts = fn(parts)
        with open(self.seg(d), "wb") as f:
            f.write(b"".join(parts))
        return d

    def rewrite(self, mode, fn):
        return self.same(self.tampered(mode, fn), mode)

    def test_note_key(self):
        d = self.copy("batch")
        path = os.path.join(d, "checkpoints.log")
        data, fr = frames(path)
        notes = [data[a + 12:b].decode() for a, b in fr]
        self.assertTrue(all(n.count("\u2014 ex.com/batch ") == 2 for n in notes), notes)
        # One bit of the last checkpoint's Ed25519 signature (its last line) flipped.
        last = notes[-1]
        at = len(last) - 4
        forged = last[:at] + ("A" if last[at] != "A" else "B") + last[at + 1:]
        with open(path, "wb") as f:
            f.write(b"".join(frame(n.encode()) for n in notes[:-1] + [forged]))
        rc, findings = self.same(d, "batch")
        self.assertEqual(rc, 1)
        self.assertIn("CHECKPOINT_SIGNATURE_INVALID", [n for n, _ in findings])
        for vkey in ("garbage", "ex.com/other+00000000+AQ==", 7):
            d = self.copy("batch")
            cfg = json.loads(slurp(os.path.join(d, "log.json")))
            cfg["note_vkey"] = vkey
            with open(os.path.join(d, "log.json"), "w") as f:
                json.dump(cfg, f)
            self.assertEqual(self.same(d, "batch"), (2, "LOG_CONFIG_INVALID"))

    def test_tampering(self):
        for mode in ("receipts", "batch"):
            self.rewrite(mode, lambda p: p[:2] + p[3:])  # deleted
            self.rewrite(mode, lambda p: p[:2] + [p[3], p[2]] + p[4:])  # swapped
            self.rewrite(mode, lambda p: p[:3] + [p[2]] + p[3:])  # duplicated
            self.rewrite(mode, lambda p: p[2:])  # first cut off
            self.rewrite(mode, lambda p: p[:5])  # end cut off
            self.rewrite(mode, lambda p: p[:1] + [p[1][:20] + b"X" + p[1][21:]] + p[2:])  # damaged frame
            self.rewrite(mode, lambda p: p + [p[-1][:9]])  # a torn last write (debris)

    @staticmethod
    def unsigned(p):
        """Every receipt of a receipts-mode log rewritten as an entry of kind 2 (a record of a
        batch-signed log): the record's bytes and the same event, no signature."""
        import base64
        out = []
        for f in p:
            payload = f[12:]
            (ln,) = struct.unpack_from("<I", payload, 1)
            receipt, event = payload[5:5 + ln], payload[5 + ln:]
            mid = receipt.split(b".")[1].decode()
            rec = base64.urlsafe_b64decode(mid + "=" * (-len(mid) % 4))
            out.append(frame(b"\x02" + struct.pack("<I", len(rec)) + rec + event))
        return out

    def test_unsigned_entries_in_a_receipts_log(self):
        # SPEC §13: the entries are "each a receipt string (receipts mode) or a record's bytes
        # (batch mode)"; step 1: "RECORD_UNREADABLE (616) for a stored entry that is not a receipt
        # at all". RECORD_UNSIGNED is for "Batch-mode records".
        d = self.tampered("receipts", self.unsigned)
        rc, got = my_log_codes(d, f"{self.tmp}/receipts/keys.jwks")
        # every entry: 4 records, the rotation's key record (§8, §23), 3 records
        self.assertEqual([i for n, i in got if n == "RECORD_UNREADABLE"], list(range(8)))
        self.assertNotIn("RECORD_UNSIGNED", [n for n, i in got])

    def test_unsigned_entries_in_a_receipts_log_cli(self):
        # The CLI once read them as records and reported RECORD_UNSIGNED; it now agrees.
        d = self.tampered("receipts", self.unsigned)
        rc, got = cli_log_codes(d, f"{self.tmp}/receipts/keys.jwks")
        self.assertEqual(got[0], ("RECORD_UNREADABLE", 0))

    @staticmethod
    def zeros_inside(p):
        """700 zero bytes inserted between frames 3 and 4 of the last segment: no lost sector
        (the zeros start mid-sector and no whole 512-byte sector of them begins on a boundary),
        and state.json and the index acknowledge all 7 entries."""
        return p[:4] + [b"\x00" * 700] + p[4:]

    def test_zeros_inside(self):
        # SPEC §16 Recovery: the bytes after the last valid frame are "damage when an acknowledged
        # entry is among them"; and a run of zeros is debris only "from a 512-byte boundary of the
        # file, a whole sector long or to its end". Readers: "damage to an acknowledged entry is an
        # entry that cannot be read (RECORD_UNREADABLE in verification)"; Reading frames: the
        # reader "searches forward ... and resumes there". So the zeros are one unreadable entry
        # (index 4) and frames 4..6 are read after it (indexes 5..7); §13 step 5: the unreadable
        # entry "is assumed to occupy the next sequence number" (4), so frame 4 repeats it.
        for mode in ("receipts", "batch"):
            d = self.tampered(mode, self.zeros_inside)
            rc, got = my_log_codes(d, f"{self.tmp}/{mode}/keys.jwks")
            self.assertEqual(rc, 1)
            self.assertEqual(got[0], ("RECORD_UNREADABLE", 4), mode)
            self.assertIn(("SEQUENCE_DUPLICATE", 5), got, mode)
            self.assertNotIn(("CHAIN_BROKEN", 5), got, mode)  # not judged after an unreadable entry

    def test_zeros_inside_cli(self):
        # The CLI once dropped the zeros AND the three acknowledged frames after them as
        # debris (VALID with 4 records when no checkpoint covered them); it now agrees.
        for mode in ("receipts", "batch"):
            d = self.tampered(mode, self.zeros_inside)
            rc, got = cli_log_codes(d, f"{self.tmp}/{mode}/keys.jwks")
            self.assertEqual(got[0], ("RECORD_UNREADABLE", 4), mode)

    def test_event_edited(self):
        def edit(p):
            payload = p[2][12:]
            new = payload[:-2] + b"9}"
            return p[:2] + [frame(new)] + p[3:]
        for mode in ("receipts", "batch"):
            self.rewrite(mode, edit)

    def test_key_history(self):
        # SPEC §23: the rotation (setUpClass) and a revocation are key records; keys.jwks must be the
        # last one's keys (§23.2), so taking the revocation back in keys.jwks is KEY_HISTORY_MISMATCH
        # at the revocation's record (index 8: 4 records, the rotation, 3 records).
        for mode in ("receipts", "batch"):
            d = self.copy(mode)
            before = slurp(f"{d}/keys.jwks")
            kid = json.loads(before)["keys"][0]["kid"]
            rc, out = cli("log", "revoke", d, "--kid", kid, "--at", "2099-01-01T00:00:00Z", "--reason", "superseded")
            self.assertEqual(rc, 0, out)
            cli("log", "checkpoint", d)
            jwks = f"{d}/keys.jwks"
            self.assertNotEqual(slurp(jwks), before)
            self.assertEqual(my_log_codes(d, jwks), (0, []), mode)
            self.assertEqual(cli_log_codes(d, jwks), (0, []), mode)
            with open(jwks, "wb") as f:
                f.write(before)
            self.assertEqual(my_log_codes(d, jwks), (1, [("KEY_HISTORY_MISMATCH", 8)]), mode)
            self.assertEqual(cli_log_codes(d, jwks), (1, [("KEY_HISTORY_MISMATCH", 8)]), mode)

    def test_receipts_and_packages(self):
        for mode in ("receipts", "batch"):
            d = f"{self.tmp}/{mode}"
            for idx in (1, 5):
                rc, out = cli("log", "receipt", d, "--index", str(idx))
                text = out.strip().encode()
                r = verify_any(text, read_key_set(slurp(f"{d}/keys.jwks")))
                self.assertTrue(r.valid, (mode, idx, r.codes()))
                pkg = f"{self.tmp}/{mode}-pkg{idx}"
                cli("export", d, "--index", str(idx), "--out", pkg)
                for path in (pkg, pkg + ".tar.gz"):
                    self.assertTrue(package_valid(verify_package(path)), path)
                shutil.copytree(pkg, pkg + "-t")
                with open(pkg + "-t/event.json", "ab") as f:
                    f.write(b" ")
                checks = verify_package(pkg + "-t")
                self.assertFalse(package_valid(checks))
                self.assertEqual([n for n, c in checks.items() if c.passed is False], [1, 7])


if __name__ == "__main__":
    unittest.main()
