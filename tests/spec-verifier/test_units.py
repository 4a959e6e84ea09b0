"""Hand tests of rules SPEC.md states, each asserting something that could fail."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import craft  # noqa: E402
from spec_verifier import checkpoints, ecdsa, jcs, merkle  # noqa: E402
from spec_verifier.errors import EvError  # noqa: E402
from spec_verifier.keys import numeric_date_ns, read_key_set  # noqa: E402
from spec_verifier.records import parse_record  # noqa: E402
from spec_verifier.receipt import verify_receipt  # noqa: E402
from spec_verifier.util import b64std_decode, b64url_decode, b64url_encode, parse_time  # noqa: E402


def code(fn):
    try:
        fn()
    except EvError as e:
        return e.name
    return None


D = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721  # RFC 6979 A.2.5
X, Y = ecdsa.public_of(D)
JWK = {"kty": "EC", "crv": "P-256", "x": b64url_encode(X.to_bytes(32, "big")), "y": b64url_encode(Y.to_bytes(32, "big"))}


class Json(unittest.TestCase):
    def test_refusals(self):
        cases = {b'{"a":1,"a":2}': "JSON_DUPLICATE_KEY", b'{"a":1,"\\u0061":2}': "JSON_DUPLICATE_KEY",
                 b'"\\udc00"': "JSON_LONE_SURROGATE", b'"\\ud800x"': "JSON_LONE_SURROGATE",
                 b'"\xc0\xaf"': "JSON_INVALID_UTF8", b'"\xed\xa0\x80"': "JSON_INVALID_UTF8",
                 b"1e400": "JSON_NUMBER_OUT_OF_RANGE", b"-1e-400": "JSON_NUMBER_OUT_OF_RANGE",
                 b"9007199254740993": "JSON_INTEGER_PRECISION", b"NaN": "JSON_SYNTAX",
                 b"\xef\xbb\xbf{}": "JSON_SYNTAX", b"[1,]": "JSON_SYNTAX", b'"\x01"': "JSON_SYNTAX",
                 b"01": "JSON_SYNTAX", b"[" * 129 + b"]" * 129: "JSON_TOO_DEEP"}
        for text, want in cases.items():
            self.assertEqual(code(lambda: jcs.parse(text)), want, text[:40])
        self.assertIsNone(code(lambda: jcs.parse(b"[" * 128 + b"]" * 128)))
        self.assertEqual(code(lambda: jcs.parse(b" " * (16 * 1024 * 1024 + 1))), "JSON_TOO_LARGE")

    def test_numbers(self):
        for text, want in {b"-0": "0", b"1e21": "1e+21", b"1e-7": "1e-7", b"0.000001": "0.000001",
                           b"123456789": "123456789", b"9007199254740992": "9007199254740992",
                           b"295147905179352830000": "295147905179352830000", b"0.1e1": "1",
                           b"1" + b"0" * 400 + b"e-400": "1"}.items():
            self.assertEqual(jcs.canonicalize(text).decode(), want)

    def test_order_and_escapes(self):
        self.assertEqual(jcs.canonicalize('{"\ue000":1,"\U0001F600":2,"a":3}'.encode()).decode(),
                         '{"a":3,"\U0001F600":2,"\ue000":1}')
        self.assertEqual(jcs.canonicalize(b'"\\u001f\\u007f\\u2028\\/"').decode(), '"\\u001f\x7f\u2028/"')


class Base64(unittest.TestCase):
    def test_strict(self):
        self.assertEqual(b64url_decode("aGk"), b"hi")
        self.assertIsNone(b64url_decode("aGl"))  # non-zero trailing bits
        self.assertIsNone(b64url_decode("aGk="))  # padding
        self.assertIsNone(b64url_decode("a+k"))
        self.assertEqual(b64std_decode("aGk="), b"hi")
        self.assertIsNone(b64std_decode("aGk"))


class Times(unittest.TestCase):
    def test_times(self):
        self.assertEqual(parse_time("1970-01-01T00:00:01.5Z"), 1_500_000_000)
        for bad in ("2026-02-29T00:00:00Z", "2026-01-01T00:00:60Z", "2026-01-01 00:00:00Z",
                    "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.1234567891Z", "2026-01-01t00:00:00Z"):
            self.assertEqual(code(lambda: parse_time(bad)), "TIME_INVALID", bad)
        self.assertIsNotNone(parse_time("0000-02-29T00:00:00Z"))  # year 0 is a leap year

    def test_numeric_date_example(self):
        # SPEC §4.1: 1800000000.123457 denotes ...08:00:00.123456955Z; a record at .123456999Z is after it
        ns = numeric_date_ns(jcs.parse(b"1800000000.123457"))
        self.assertEqual(ns, parse_time("2027-01-15T08:00:00.123456955Z"))
        self.assertGreater(parse_time("2027-01-15T08:00:00.123456999Z"), ns)
        self.assertEqual(code(lambda: numeric_date_ns(jcs.parse(b"1e12"))), "KEY_SET_MALFORMED")


class Keys(unittest.TestCase):
    def test_key_set_rules(self):
        j = jcs.canonical(JWK).decode()
        self.assertEqual(len(read_key_set(j).keys), 1)
        self.assertEqual(code(lambda: read_key_set('{"keys":[%s,%s]}' % (j, j))), "KEY_SET_MALFORMED")
        self.assertEqual(code(lambda: read_key_set('{"keys":[{"kty":"XX"}]}')), "KEY_UNSUPPORTED")
        bad_y = dict(JWK, y=b64url_encode(((Y + 1) % ecdsa.P).to_bytes(32, "big")))
        self.assertEqual(code(lambda: read_key_set(jcs.canonical(bad_y))), "KEY_INVALID")
        # a P-384 entry is kept but its material is not examined
        self.assertEqual(len(read_key_set('{"keys":[{"kty":"EC","crv":"P-384","x":"A","y":"B"}]}').keys), 1)

    def test_validity_precedence(self):
        ks = read_key_set(jcs.canonical(dict(JWK, nbf=100.0, exp=50.0, revoked={"revoked_at": 10.0})))
        k = ks.keys[0]
        self.assertEqual(k.validity_failure(5 * 10**9), "KEY_NOT_YET_VALID")
        self.assertEqual(k.validity_failure(20 * 10**9), "KEY_REVOKED")


class Records(unittest.TestCase):
    def _rec(self, **kw):
        f = {"v": 1, "log_id": "a", "seq": 0, "prev": None, "event": "sha256:" + "0" * 64,
             "time": "2026-01-01T00:00:00Z", "kid": "k"}
        f.update(kw)
        return jcs.canonical({k: v for k, v in f.items() if v != "DEL"})

    def test_codes(self):
        self.assertIsNone(code(lambda: parse_record(self._rec())))
        self.assertEqual(code(lambda: parse_record(self._rec(log_id="a b"))), "LOG_ID_INVALID")
        self.assertEqual(code(lambda: parse_record(self._rec(event="sha256:AB"))), "DIGEST_MALFORMED")
        self.assertEqual(code(lambda: parse_record(self._rec(time="2026-01-01T00:00:00z"))), "TIME_INVALID")
        self.assertEqual(code(lambda: parse_record(self._rec(seq=1.0))), "RECORD_MALFORMED")
        self.assertEqual(code(lambda: parse_record(self._rec(x=1))), "RECORD_MALFORMED")
        self.assertEqual(code(lambda: parse_record(b" " + self._rec())), "RECORD_MALFORMED")


class Receipts(unittest.TestCase):
    def test_sign_and_verify(self):
        from spec_verifier.keys import thumbprint
        kid = thumbprint(JWK)
        rec = craft.record("a", 0, None, {"x": 1}, "2026-01-01T00:00:00Z", kid)
        r = craft.receipt(D, kid, rec)
        ks = read_key_set(jcs.canonical(JWK))
        self.assertTrue(verify_receipt(r, ks, b'{ "x" : 1.0 }').valid)
        self.assertEqual(verify_receipt(r, ks, b'{"x":2}').codes(), ["EVENT_MISMATCH"])
        sig = b64url_decode(r.split(".")[2])
        s = int.from_bytes(sig[32:], "big")
        high = r.rsplit(".", 1)[0] + "." + b64url_encode(sig[:32] + (ecdsa.N - s).to_bytes(32, "big"))
        self.assertTrue(verify_receipt(high, ks).valid)  # high-S is valid (§5 step 8)
        other = craft.receipt(D, kid, rec, header=b'{"alg":"ES256","kid":"%s","typ":"evidentia-receipt+jws","x":1}' % kid.encode())
        self.assertEqual(code(lambda: verify_receipt(other, ks)), "RECEIPT_MALFORMED")


class Proofs(unittest.TestCase):
    def test_reading(self):
        h = '"' + "A" * 43 + '="'
        self.assertEqual(code(lambda: merkle.read_consistency('{"hashes":[],"new_size":0,"old_size":0,"type":"consistency"}')), "PROOF_MALFORMED")
        self.assertEqual(code(lambda: merkle.read_inclusion('{"hashes":[%s],"leaf_index":2,"tree_size":2,"type":"inclusion"}' % h)), "PROOF_MALFORMED")
        self.assertEqual(code(lambda: merkle.read_inclusion('{"hashes":[],"leaf_index":0,"tree_size":1,"type":"inclusion","x":1}')), "PROOF_MALFORMED")
        self.assertIsNone(code(lambda: merkle.read_inclusion('{ "type":"inclusion","hashes":[%s],"leaf_index":0,"tree_size":2}' % h)))

    def test_equal_sizes(self):
        r = b"\x01" * 32
        self.assertTrue(merkle.verify_consistency(3, 3, [], r, r))
        self.assertFalse(merkle.verify_consistency(3, 3, [r], r, r))


class Notes(unittest.TestCase):
    def test_reading_and_signing(self):
        text = "o\n1\n" + "A" * 43 + "=\n"
        note = craft.note_sign(D, "o", text)
        cp = checkpoints.read(note)
        ks = read_key_set(jcs.canonical(JWK))
        self.assertEqual(checkpoints.verify_alone(cp, ks).size, 1)
        self.assertEqual(code(lambda: checkpoints.read(note.replace("\n1\n", "\n01\n"))), "CHECKPOINT_MALFORMED")
        self.assertEqual(code(lambda: checkpoints.read(note.replace("o\n", "o\x7f\n", 1))), "CHECKPOINT_MALFORMED")
        self.assertEqual(code(lambda: checkpoints.read(text + "\n")), "CHECKPOINT_MALFORMED")
        witness = note + "\u2014 witness AAAAAAAA\n"
        self.assertEqual(checkpoints.verify_alone(checkpoints.read(witness), ks).size, 1)
        revoked = read_key_set(jcs.canonical(dict(JWK, revoked={"revoked_at": 1e9})))
        self.assertEqual(code(lambda: checkpoints.verify_alone(cp, revoked)), "CHECKPOINT_SIGNATURE_INVALID")


class Frames(unittest.TestCase):
    """§16 "Reading frames" and the debris of an unfinished write."""

    @staticmethod
    def frame(payload):
        import struct
        import zlib
        ln = struct.pack("<I", len(payload))
        return b"EVD1" + ln + struct.pack("<I", zlib.crc32(ln + payload)) + payload

    def test_damage_and_debris(self):
        from spec_verifier.log import UNREADABLE, read_frames
        f = [self.frame(bytes([65 + i]) * (100 + i)) for i in range(4)]
        self.assertEqual(read_frames(b"".join(f), last=True), [x[12:] for x in f])
        # a length past the end, followed by valid frames: one unreadable entry, then the rest
        bad = f[1][:4] + b"\xff\xff\x00\x00" + f[1][8:]
        got = read_frames(f[0] + bad + f[2] + f[3], last=True)
        self.assertEqual(got, [f[0][12:], UNREADABLE, f[2][12:], f[3][12:]])
        # the same header at the very end: the debris of an unfinished write, not an entry
        self.assertEqual(read_frames(f[0] + bad[:40], last=True), [f[0][12:]])
        # ... unless an acknowledged entry is among those bytes: damage
        self.assertEqual(read_frames(f[0] + bad[:40], last=True, acknowledged_left=2), [f[0][12:], UNREADABLE])
        # zeros not on a sector boundary before a valid frame: damage
        self.assertEqual(read_frames(f[0] + b"\0" * 300 + f[1], last=True), [f[0][12:], UNREADABLE, f[1][12:]])
        # a whole zero sector from a 512-byte boundary, then valid frames: debris (a lost sector)
        head = f[0] + b"X" * (512 - len(f[0]))
        self.assertEqual(read_frames(head + b"\0" * 512 + f[1], last=True), [f[0][12:]])
        # not the last segment: never debris
        self.assertEqual(read_frames(f[0] + bad[:40]), [f[0][12:], UNREADABLE])

    def test_search_budget(self):
        from spec_verifier import log
        f = [self.frame(bytes([65 + i]) * 100) for i in range(3)]
        data = f[0] + b"junk" + f[1] + f[2]
        self.assertEqual(log.read_frames(data), [f[0][12:], log.UNREADABLE, f[1][12:], f[2][12:]])
        saved = log.SEARCH_BUDGET
        try:
            log.SEARCH_BUDGET = 50  # spent before the next frame's checksum: the rest is one entry
            self.assertEqual(log.read_frames(data), [f[0][12:], log.UNREADABLE])
        finally:
            log.SEARCH_BUDGET = saved


class Packages(unittest.TestCase):
    """§19 "Reading a package": refused with INVALID_ARGUMENT before any check."""

    @staticmethod
    def tgz(members, trailer=b""):
        import gzip
        import io
        import tarfile
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
            for name, data in members:
                ti = tarfile.TarInfo(name)
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
        return gzip.compress(buf.getvalue() + trailer)

    def test_archive_rules(self):
        from spec_verifier.package import _gunzip, _read_tar
        ok = [("p/a.txt", b"1"), ("p/b.txt", b"2")]
        self.assertEqual(_read_tar(_gunzip(self.tgz(ok))), {"a.txt": b"1", "b.txt": b"2"})
        two = self.tgz(ok[:1]) + self.tgz(ok[1:])  # two gzip members, as gzip -d reads them
        self.assertEqual(len(_gunzip(two)) % 512, 0)
        for bad in ([("p/a.txt", b"1"), ("p/A.TXT", b"2")], [("/p/a.txt", b"1")], [("a.txt", b"1")],
                    [("p/a.txt", b"1"), ("q/b.txt", b"2")], [("p/../a.txt", b"1")], [("p/a.", b"1")],
                    [("p/x/a.txt", b"1")], [("p/f%d" % i, b"") for i in range(769)], []):
            self.assertEqual(code(lambda: _read_tar(_gunzip(self.tgz(bad)))), "INVALID_ARGUMENT", bad[:2])
        self.assertEqual(code(lambda: _read_tar(_gunzip(self.tgz(ok, trailer=b"\1")))), "INVALID_ARGUMENT")
        self.assertEqual(len(_read_tar(_gunzip(self.tgz([("p/f%d" % i, b"") for i in range(768)])))), 768)
        self.assertEqual(code(lambda: _gunzip(self.tgz(ok)[:-9])), "INVALID_ARGUMENT")


class KeyRecordSteps:
    """Key records (§23) of a log of two keys: helpers of KeyRecords and PackageKeyHistory."""

    D2 = 0x1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF
    T0 = 1800000000
    LOG = "example.com/keys"

    @classmethod
    def setUpClass(cls):
        from spec_verifier.keys import thumbprint
        cls.JWK2 = cls.jwk_of(cls.D2)
        cls.K1, cls.K2 = thumbprint(JWK), thumbprint(cls.JWK2)
        cls.PRIV = {cls.K1: D, cls.K2: cls.D2}

    @staticmethod
    def jwk_of(d):
        x, y = ecdsa.public_of(d)
        return {"kty": "EC", "crv": "P-256", "x": b64url_encode(x.to_bytes(32, "big")),
                "y": b64url_encode(y.to_bytes(32, "big"))}

    def t(self, s):
        import datetime
        return datetime.datetime.fromtimestamp(self.T0 + s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def rotate(self, at, keys, kid=None, nxt=None, **extra):
        kr = {"format": 1, "change": "rotate", "kid": kid or self.K1, "next": nxt or self.K2,
              "at": self.t(at), "keys": {"keys": keys}}
        kr.update(extra)
        return {"evidentia_key_record": kr}

    def revoke(self, at, keys, kid=None, reason=None):
        kr = {"format": 1, "change": "revoke", "kid": kid or self.K1, "at": self.t(at), "keys": {"keys": keys}}
        if reason is not None:
            kr["reason"] = reason
        return {"evidentia_key_record": kr}

    def rotated_keys(self, at=2):
        return [dict(JWK, nbf=float(self.T0), exp=float(self.T0 + at)), dict(self.JWK2, nbf=float(self.T0 + at))]

    def revoked_keys(self, at=10, reason=None):
        k1, k2 = self.rotated_keys()
        rv = {"revoked_at": float(self.T0 + at)}
        if reason is not None:
            rv["reason"] = reason
        return [dict(k1, revoked=rv), k2]

    def honest(self):
        return [({"n": 0}, self.K1, 0), (self.rotate(2, self.rotated_keys()), self.K1, 1), ({"n": 2}, self.K2, 3),
                (self.revoke(10, self.revoked_keys(reason="lost"), reason="lost"), self.K2, 4)]


class KeyRecords(KeyRecordSteps, unittest.TestCase):
    """§23: key records and the log's key_history check (§13 step 11, §23.2)."""

    def verify(self, steps, keys):
        """steps: (event value, signer kid, seconds after T0); keys: the key set verified with."""
        import hashlib
        from spec_verifier.log import LogVerifier
        from spec_verifier.keys import read_key_set_value
        v = LogVerifier(read_key_set_value({"keys": keys}), "receipts", expected_log_id=self.LOG)
        prev = None
        for seq, (ev, kid, s) in enumerate(steps):
            # an event given as bytes is stored as it is, and the record holds their digest
            stored = ev if isinstance(ev, bytes) else jcs.canonical(ev)
            rec = jcs.canonical({"v": 1, "log_id": self.LOG, "seq": seq, "prev": prev, "time": self.t(s),
                                 "kid": kid, "event": "sha256:" + hashlib.sha256(stored).hexdigest()})
            prev = "sha256:" + hashlib.sha256(rec).hexdigest()
            v.push((1, craft.receipt(self.PRIV[kid], kid, rec).encode(), stored))
        return [(f["name"], f["index"]) for f in v.finish().findings]

    def test_honest_history(self):
        self.assertEqual(self.verify(self.honest()[:3], self.rotated_keys()), [])
        self.assertEqual(self.verify(self.honest(), self.revoked_keys(reason="lost")), [])
        # a log without key records: its history is the key set alone, the check is skipped
        self.assertEqual(self.verify(self.honest()[:1], [JWK]), [])

    def test_key_set_is_not_the_last_key_record(self):
        # the revocation taken back, a key added, a validity moved: one finding, at the key record
        for keys in (self.rotated_keys(), self.revoked_keys(reason="lost") + [self.jwk_of(0x3333)],
                     self.revoked_keys(at=11, reason="lost")):
            self.assertEqual(self.verify(self.honest(), keys), [("KEY_HISTORY_MISMATCH", 3)])
        # a reason taken away, or another reason
        for reason in (None, "other"):
            self.assertEqual(self.verify(self.honest(), self.revoked_keys(reason=reason)),
                             [("KEY_HISTORY_MISMATCH", 3)])

    def test_key_set_compared_as_history(self):
        # the same history, its entries in another order, with other members (use, alg, kid) and
        # instants spelled as other NumericDates: the same keys with the same nbf, exp, revoked_at
        # and reason, so valid (§23.2: "the order of the entries and their other members are not
        # compared")
        k1, k2 = self.revoked_keys(reason="lost")
        k1 = dict(k1, use="sig", alg="ES256", kid="one")
        k1["revoked"] = dict(k1["revoked"], revoked_at=float(self.T0 + 10) + 1e-7, note="x")
        self.assertEqual(numeric_date_ns(k1["revoked"]["revoked_at"]) - (self.T0 + 10) * 10 ** 9, 0)
        self.assertEqual(self.verify(self.honest(), [dict(k2, key_ops=["verify"]), k1]), [])

    def test_who_signed(self):
        steps = self.honest()
        # a rotation signed by the incoming key (valid in the record's keys only after at: say at=1)
        early = [steps[0], (self.rotate(1, self.rotated_keys(1)), self.K2, 1)]
        self.assertEqual(self.verify(early, self.rotated_keys(1)), [("KEY_HISTORY_MISMATCH", 1)])
        # a revocation signed by the revoked key (still valid at the record's time)
        own = [steps[0], (self.revoke(10, [dict(JWK, revoked={"revoked_at": float(self.T0 + 10)})]), self.K1, 1)]
        keys = [dict(JWK, revoked={"revoked_at": float(self.T0 + 10)})]
        self.assertEqual(self.verify(own, keys), [("KEY_HISTORY_MISMATCH", 1)])

    def test_revocation_by_the_current_key_only(self):
        D3 = 0x3333
        self.PRIV[self.K1] = D
        k3 = self.jwk_of(D3)
        # k3, retired when k1 took over at T0 (§23.2 step 2: its validity ends by then)
        gone = dict(k3, exp=float(self.T0), revoked={"revoked_at": float(self.T0 + 10)})
        from spec_verifier.keys import thumbprint
        kid3 = thumbprint(k3)
        # k1 has an exp (a planned rotation to k2, in keys.jwks before any key record): valid at the
        # record's time and not the revoked key, but not the log's current key
        planned = [dict(JWK, nbf=float(self.T0), exp=float(self.T0 + 100)), dict(self.JWK2, nbf=float(self.T0 + 100)),
                   gone]
        steps = [({"n": 0}, self.K1, 0), (self.revoke(10, planned, kid=kid3), self.K1, 1)]
        self.assertEqual(self.verify(steps, planned), [("KEY_HISTORY_MISMATCH", 1)])
        # k1 in force (neither exp nor revoked), the one such key: valid
        current = [dict(JWK, nbf=float(self.T0)), gone]
        steps = [({"n": 0}, self.K1, 0), (self.revoke(10, current, kid=kid3), self.K1, 1)]
        self.assertEqual(self.verify(steps, current), [])
        # k3 still valid after k1 took over (its validity ends at T0 + 10 s, after the record):
        # not the history of a log with one current key
        lingering = [dict(JWK, nbf=float(self.T0)),
                     dict(k3, exp=float(self.T0 + 50), revoked={"revoked_at": float(self.T0 + 10)})]
        steps = [({"n": 0}, self.K1, 0), (self.revoke(10, lingering, kid=kid3), self.K1, 1)]
        self.assertEqual(self.verify(steps, lingering), [("KEY_HISTORY_MISMATCH", 1)])
        # two keys in force after the revocation: not one current key
        two = current + [self.JWK2]
        steps = [({"n": 0}, self.K1, 0), (self.revoke(10, two, kid=kid3), self.K1, 1)]
        self.assertEqual(self.verify(steps, two), [("KEY_HISTORY_MISMATCH", 1)])

    def test_handed_over_key_signs_no_more(self):
        steps = self.honest()
        # record 2 by k1 at T0 + 1 s, the rotation's record time, before at (T0 + 2 s): k1 is still
        # valid (§13 step 2 passes), but the rotation's key record was its last record
        late = steps[:2] + [({"n": 2}, self.K1, 1)]
        self.assertEqual(self.verify(late, self.rotated_keys()), [("KEY_HISTORY_MISMATCH", 2)])
        # after at too: KEY_EXPIRED (§13 step 2), then the key_history finding
        late = steps[:3] + [({"n": 3}, self.K1, 3)]
        self.assertEqual(self.verify(late, self.rotated_keys()), [("KEY_EXPIRED", 3), ("KEY_HISTORY_MISMATCH", 3)])
        # a revocation of k2 signed by k1 inside [record time, at): not the current key (k1 has
        # exp), no key in force after it, and k1 was handed over; one record, two findings
        k1, k2 = self.rotated_keys()
        bad = steps[:2] + [(self.revoke(1, [k1, dict(k2, revoked={"revoked_at": float(self.T0 + 1)})], kid=self.K2),
                            self.K1, 1)]
        got = self.verify(bad, [k1, dict(k2, revoked={"revoked_at": float(self.T0 + 1)})])
        self.assertEqual(got, [("KEY_HISTORY_MISMATCH", 2), ("KEY_HISTORY_MISMATCH", 2)])

    def test_member_name_escaped(self):
        steps = self.honest()[:3]
        text = jcs.canonical(steps[1][0]).replace(b"evidentia_key_record", b"evidentia_key_r\\u0065cord", 1)
        self.assertIn(b"\\u0065", text)
        steps[1] = (text, self.K1, 1)
        self.assertEqual(self.verify(steps, self.rotated_keys()), [])
        # read as a key record: keys.jwks taken back is found, the key handed over is refused
        self.assertEqual(self.verify(steps, [JWK, self.JWK2]), [("KEY_HISTORY_MISMATCH", 1)])
        self.assertEqual(self.verify(steps[:2] + [({"n": 3}, self.K1, 1)], self.rotated_keys()),
                         [("KEY_HISTORY_MISMATCH", 2)])
        # the name escaped and an unknown member: KEY_RECORD_MALFORMED
        other = text.replace(b'"change"', b'"comment":"x","change"', 1)
        got = self.verify([steps[0], (other, self.K1, 1)], self.rotated_keys())
        self.assertEqual(got, [("KEY_RECORD_MALFORMED", 1)])

    def test_malformed(self):
        base = self.rotate(2, self.rotated_keys())
        bad = [dict(base, other=1), self.rotate(2, self.rotated_keys(), extra=1),
               self.rotate(2, self.rotated_keys(), format=2), self.rotate(2, self.rotated_keys(), reason="x"),
               self.rotate(3, self.rotated_keys()),
               self.rotate(2, self.rotated_keys()[:1]), self.rotate(2, [dict(JWK, d="x"), self.rotated_keys()[1]]),
               self.revoke(10, self.revoked_keys(reason="lost")), self.revoke(10, self.revoked_keys(), reason=""),
               {"evidentia_key_record": []}]
        for ev in bad:
            got = self.verify([({"n": 0}, self.K1, 0), (ev, self.K1, 1)], self.rotated_keys())
            self.assertEqual(got[0], ("KEY_RECORD_MALFORMED", 1), ev)
            self.assertNotIn("KEY_HISTORY_MISMATCH", [n for n, i in got], ev)

    def test_a_record_that_does_not_follow(self):
        steps = self.honest()
        # the revocation's keys also move k2's nbf: not the rotation's keys with the revocation applied
        k1, k2 = self.revoked_keys(reason="lost")
        moved = [k1, dict(k2, nbf=float(self.T0 + 3))]
        steps[3] = (self.revoke(10, moved, reason="lost"), self.K2, 4)
        self.assertEqual(self.verify(steps, moved), [("KEY_HISTORY_MISMATCH", 3)])
        # a revocation of a key the history revoked already
        steps = self.honest() + [(self.revoke(10, self.revoked_keys(reason="lost"), reason="lost"), self.K2, 5)]
        self.assertEqual(self.verify(steps, self.revoked_keys(reason="lost")), [("KEY_HISTORY_MISMATCH", 4)])



def audit_path(m, leaves):
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) of leaf hashes."""
    if len(leaves) <= 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return audit_path(m, leaves[:k]) + [merkle.root_of(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [merkle.root_of(leaves[:k])]


class PackageSteps(KeyRecordSteps):
    """Whole packages of a log of key records: helpers of PackageKeyHistory and PackageWitnesses."""

    D3 = 0x2468ACE02468ACE02468ACE02468ACE02468ACE02468ACE02468ACE02468ACE0

    @classmethod
    def setUpClass(cls):
        from spec_verifier.keys import thumbprint
        super().setUpClass()
        cls.JWK3 = cls.jwk_of(cls.D3)
        cls.K3 = thumbprint(cls.JWK3)
        cls.PRIV = dict(cls.PRIV, **{cls.K3: cls.D3})

    @staticmethod
    def pem(d):
        from spec_verifier.package import canonical_pem
        return canonical_pem(ecdsa.spki_der(*ecdsa.public_of(d))).encode()

    @staticmethod
    def receipt_files(receipt):
        head, sig = receipt.rsplit(".", 1)
        raw = b64url_decode(sig)
        return receipt.encode(), head.encode(), ecdsa.encode_der_sig(int.from_bytes(raw[:32], "big"),
                                                                     int.from_bytes(raw[32:], "big"))

    def package(self, steps, batch=False, keys=None, cp_signer=None):
        """The package of steps[0] in a log of `steps` (as KeyRecords.verify takes them), carrying
        every later key record (an event with evidentia_key_record) as key-record-N; its
        checkpoint covers the whole log, signed by `cp_signer` (default: the record's key; another
        key is given as checkpoint-key.pem); keys.jwks is `keys` or the last key record's set."""
        import hashlib
        from spec_verifier.package import batch_receipt_of
        from spec_verifier.util import b64std_encode
        prev, records, events = None, [], []
        for seq, (ev, kid, s) in enumerate(steps):
            stored = ev if isinstance(ev, bytes) else jcs.canonical(ev)
            rec = jcs.canonical({"v": 1, "log_id": self.LOG, "seq": seq, "prev": prev, "time": self.t(s),
                                 "kid": kid, "event": "sha256:" + hashlib.sha256(stored).hexdigest()})
            prev = "sha256:" + hashlib.sha256(rec).hexdigest()
            records.append(rec)
            events.append(stored)
        leaves = [merkle.leaf_hash(r) for r in records]
        body = f"{self.LOG}\n{len(records)}\n{b64std_encode(merkle.root_of(leaves))}\n"

        def proof(i):
            return jcs.canonical({"hashes": [b64std_encode(h) for h in audit_path(i, leaves)],
                                  "leaf_index": i, "tree_size": len(records), "type": "inclusion"})

        def note(kid):
            return craft.note_sign(self.PRIV[kid], self.LOG, body).encode()

        kid0 = steps[0][1]
        files = {"record.json": records[0], "event.json": events[0], "public-key.pem": self.pem(self.PRIV[kid0]),
                 "public-key.jwk": jcs.canonical(self.jwk_of(self.PRIV[kid0])),
                 "inclusion-proof.json": proof(0), "checkpoint-body.txt": body.encode()}
        signer = cp_signer or kid0
        files["checkpoint.txt"] = note(signer)
        if signer != kid0:
            files["checkpoint-key.pem"] = self.pem(self.PRIV[signer])
        if batch:
            files["batch-receipt.json"] = batch_receipt_of(files)
            files["signature.der"] = checkpoints.read(note(kid0)).sigs[0].sig
        else:
            files["receipt.jws"], files["signing-input.txt"], files["signature.der"] = \
                self.receipt_files(craft.receipt(self.PRIV[kid0], kid0, records[0]))
        n = 0
        for i in range(1, len(steps)):
            ev, kid = steps[i][0], steps[i][1]
            if not (isinstance(ev, dict) and "evidentia_key_record" in ev
                    or isinstance(ev, bytes) and b"evidentia_key_record" in ev):
                continue
            n += 1
            kr = f"key-record-{n}"
            files.update({kr + ".json": records[i], kr + "-event.json": events[i],
                          kr + "-key.pem": self.pem(self.PRIV[kid])})
            if batch:
                files.update({kr + "-checkpoint.txt": note(kid), kr + "-checkpoint-body.txt": body.encode(),
                              kr + "-inclusion-proof.json": proof(i)})
                files[kr + "-batch-receipt.json"] = batch_receipt_of(files, n)
            else:
                (files[kr + "-receipt.jws"], files[kr + "-signing-input.txt"],
                 files[kr + "-signature.der"]) = self.receipt_files(craft.receipt(self.PRIV[kid], kid, records[i]))
            if keys is None and isinstance(ev, dict):
                files["keys.jwks"] = jcs.canonical(ev["evidentia_key_record"]["keys"])
        if keys is not None:
            files["keys.jwks"] = jcs.canonical({"keys": keys})
        return files

    def checks(self, files):
        """verify_package on a folder of `files`, with SHA256SUMS made for them (check 1 passes)."""
        import hashlib
        import tempfile
        from spec_verifier.package import verify_package
        sums = "".join(f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in sorted(files))
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in dict(files, SHA256SUMS=sums.encode()).items():
                with open(os.path.join(tmp, name), "wb") as f:
                    f.write(data)
            return verify_package(tmp)

    def assertOnlyFails(self, files, failing, why=None):
        checks = self.checks(files)
        got = sorted(n for n, c in checks.items() if c.applies and c.passed is False)
        self.assertEqual(got, failing, {n: c.failure for n, c in checks.items()})
        if why is not None:
            self.assertIn(why, checks[failing[0]].failure)
        return checks


class PackageKeyHistory(PackageSteps, unittest.TestCase):
    """§19 check 11 (the key history) and check 6's checkpoint-key.pem, on whole packages."""

    def test_valid_chain(self):
        from spec_verifier.package import package_valid
        for batch in (False, True):
            files = self.package(self.honest(), batch=batch)
            self.assertIn("key-record-2-event.json", files)
            checks = self.assertOnlyFails(files, [])
            self.assertTrue(package_valid(checks))
            self.assertIs(checks[11].applies, True)
            self.assertIs(checks[11].passed, True)
            self.assertIs(checks[8].applies, False)
        # the rotation as the last key record, the record after it in the log not carried
        self.assertOnlyFails(self.package(self.honest()[:3]), [])

    def test_without_key_records_check_11_does_not_apply(self):
        from spec_verifier.package import package_valid
        checks = self.assertOnlyFails(self.package(self.honest()[:1], keys=[JWK]), [])
        self.assertIs(checks[11].applies, False)
        self.assertIsNone(checks[11].passed)
        self.assertTrue(package_valid(checks))

    def test_stranger_key(self):
        steps = self.honest()
        # key record 2 signed by a stranger k3: its PEM's thumbprint is its own record's kid
        # (k3), not the key the chain reached (k2)
        stranger = steps[:3] + [(steps[3][0], self.K3, 4)]
        for batch in (False, True):
            self.assertOnlyFails(self.package(stranger, batch=batch), [11], "key-record-2.json is not signed")
        # the record names k2, but k3 signed it (k3's PEM): not the current key's PEM
        files = self.package(stranger)
        good = self.package(steps)
        forged = dict(files, **{"key-record-2.json": good["key-record-2.json"]})
        forged["key-record-2-receipt.jws"], forged["key-record-2-signing-input.txt"], \
            forged["key-record-2-signature.der"] = self.receipt_files(
                craft.receipt(self.D3, self.K2, good["key-record-2.json"]))
        self.assertOnlyFails(forged, [11], "key-record-2-key.pem")
        # ... and with k2's PEM, k3's signature does not verify
        forged["key-record-2-key.pem"] = good["key-record-2-key.pem"]
        self.assertOnlyFails(forged, [11], "does not verify")

    def test_keys_jwks_edited(self):
        for batch in (False, True):
            files = self.package(self.honest(), batch=batch)
            added = jcs.canonical({"keys": self.revoked_keys(reason="lost") + [self.JWK3]})
            self.assertOnlyFails(dict(files, **{"keys.jwks": added}), [11], "keys.jwks")
            # the same key set written otherwise, or the revocation taken back
            self.assertOnlyFails(dict(files, **{"keys.jwks": files["keys.jwks"].replace(b":", b": ", 1)}),
                                 [11], "keys.jwks")
            self.assertOnlyFails(dict(files, **{"keys.jwks": jcs.canonical({"keys": self.rotated_keys()})}),
                                 [11], "keys.jwks")

    def test_a_key_record_left_out(self):
        files = self.package(self.honest())
        # key-record-2's files as key-record-3's, with keys.jwks key record 1's key set
        gap = {n.replace("key-record-2", "key-record-3"): v for n, v in files.items()}
        gap["keys.jwks"] = jcs.canonical({"keys": self.rotated_keys()})
        self.assertOnlyFails(gap, [11], "key-record-3")
        # only key-record-3.json left over
        only = {n: v for n, v in gap.items() if not n.startswith("key-record-3-")}
        self.assertOnlyFails(only, [11], "key-record-3.json")
        # a file of the other mode
        self.assertOnlyFails(dict(files, **{"key-record-1-inclusion-proof.json": files["inclusion-proof.json"]}),
                             [11], "key-record-1-inclusion-proof.json")
        # a file of a key record missing
        less = {n: v for n, v in files.items() if n != "key-record-1-signing-input.txt"}
        self.assertOnlyFails(less, [11], "key-record-1-signing-input.txt")
        # key-record-2 without key-record-1: check 11 applies (a file of a key record) and fails
        # ("`key-record-1.json` must exist")
        no_first = {n: v for n, v in files.items() if not n.startswith("key-record-1")}
        checks = self.assertOnlyFails(no_first, [11], "key-record-1.json is missing")
        self.assertIs(checks[11].applies, True)
        # only key record 2's files, as key record 2 of a package (one file is enough)
        only2 = {n: v for n, v in files.items() if not n.startswith("key-record-") or n == "key-record-2.json"}
        self.assertOnlyFails(only2, [11], "key-record-1.json is missing")
        only2 = {n: v for n, v in files.items() if not n.startswith("key-record-") or n == "key-record-2-key.pem"}
        self.assertOnlyFails(only2, [11], "key-record-1.json is missing")

    def test_names_not_of_the_table(self):
        from spec_verifier.package import key_record_file_number, package_valid
        for name, m in (("key-record-1.json", 1), ("key-record-99-inclusion-proof.json", 99),
                        ("key-record-10-signing-input.txt", 10), ("key-record-7-checkpoint-body.txt", 7),
                        ("key-record-01.json", None), ("key-record-0.json", None), ("key-record-100.json", None),
                        ("key-record-1-foo.txt", None), ("key-record-1-record.json", None),
                        ("key-record-1.json.bak", None), ("key-record-x", None), ("Key-record-1.json", None)):
            self.assertEqual(key_record_file_number(name), m, name)
        # Other names beginning key-record- are not files of a package: check 1 fails them, and
        # check 11 (which applies for key-record-1.json and the others) does not look at them.
        for batch in (False, True):
            files = self.package(self.honest(), batch=batch)
            for name in ("key-record-01.json", "key-record-100.json", "key-record-1-foo.txt", "key-record-x"):
                checks = self.assertOnlyFails(dict(files, **{name: files["key-record-1.json"]}), [1], name)
                self.assertIs(checks[11].passed, True)
                self.assertFalse(package_valid(checks))
        # a package whose only key-record- name is not of the table: check 11 does not apply
        files = self.package(self.honest()[:1], keys=[JWK])
        for name in ("key-record-01.json", "key-record-100.json", "key-record-1-foo.txt"):
            checks = self.assertOnlyFails(dict(files, **{name: b"{}"}), [1], name)
            self.assertIs(checks[11].applies, False)
            self.assertIsNone(checks[11].passed)
        # a file of a key record not read (M past the last N) is check 11's
        files = self.package(self.honest())
        self.assertOnlyFails(dict(files, **{"key-record-3-key.pem": files["key-record-2-key.pem"]}), [11],
                             "key-record-3-key.pem")

    def test_key_record_of_another_log(self):
        files = self.package(self.honest())
        rec = files["key-record-1.json"].replace(b'"log_id":"%s"' % self.LOG.encode(), b'"log_id":"example.com/other"')
        other = dict(files, **{"key-record-1.json": rec})
        other["key-record-1-receipt.jws"], other["key-record-1-signing-input.txt"], \
            other["key-record-1-signature.der"] = self.receipt_files(craft.receipt(D, self.K1, rec))
        self.assertOnlyFails(other, [11], "another log")

    def test_event_edited(self):
        files = self.package(self.honest())
        event = files["key-record-1-event.json"].replace(b'"at":"', b'"at":"9', 1)
        self.assertOnlyFails(dict(files, **{"key-record-1-event.json": event}), [11], "SHA-256")

    def test_who_may_make_the_change(self):
        steps = self.honest()
        # a revocation signed by the key it revokes (k2 revoking k2)
        k1, k2 = self.rotated_keys()
        keys = [k1, dict(k2, revoked={"revoked_at": float(self.T0 + 10)})]
        self.assertOnlyFails(self.package(steps[:3] + [(self.revoke(10, keys, kid=self.K2), self.K2, 4)]),
                             [11], "revocation of the key that signed it")
        # a rotation of a key other than the current one (k3 -> k2, signed by k1)
        self.assertOnlyFails(self.package([steps[0], (self.rotate(2, self.rotated_keys(), kid=self.K3), self.K1, 1)]),
                             [11], "rotation not of the current key")
        # the rotation hands over to k3, but k2 signs the next key record
        to3 = [steps[0], (self.rotate(2, self.rotated_keys(), nxt=self.K3), self.K1, 1)] + steps[2:]
        self.assertOnlyFails(self.package(to3), [11], "key-record-2.json is not signed")
        # key record 1 again as key record 2: its seq is not greater than the previous one's
        files = self.package(steps)
        again = {n: v for n, v in files.items() if not n.startswith("key-record-2")}
        again.update({n.replace("key-record-1", "key-record-2"): v for n, v in files.items()
                      if n.startswith("key-record-1")})
        self.assertOnlyFails(again, [11], "seq")

    def test_event_text_rules(self):
        from spec_verifier.package import read_key_record_text
        rot = read_key_record_text(jcs.canonical(self.rotate(2, self.rotated_keys())))
        self.assertEqual((rot.change, rot.kid, rot.next_kid), ("rotate", self.K1.encode(), self.K2.encode()))
        self.assertEqual(rot.keys, jcs.canonical({"keys": self.rotated_keys()}))
        rev = read_key_record_text(jcs.canonical(self.revoke(10, self.revoked_keys(reason='x]},"kid":"y'),
                                                             reason='x]},"kid":"y')))
        self.assertEqual((rev.change, rev.kid, rev.next_kid), ("revoke", self.K1.encode(), None))
        self.assertIsNotNone(read_key_record_text(jcs.canonical(self.revoke(10, self.revoked_keys()))))
        ok = jcs.canonical(self.rotate(2, self.rotated_keys()))
        for bad in (ok + b"\n", ok.replace(b":", b": ", 1), ok.replace(b'"format":1', b'"format":2'),
                    ok.replace(b'"rotate"', b'"revoke"'), ok[:-2] + b',"x":1}}', ok.replace(b'"next"', b'"nxt"'),
                    ok.replace(b'"next":"' + self.K2.encode() + b'"', b'"next":""'),
                    jcs.canonical({"evidentia_key_record": {"at": "x", "change": "rotate", "format": 1,
                                                            "kid": self.K1, "next": self.K2}})):
            self.assertIsNone(read_key_record_text(bad), bad)
        rv = jcs.canonical(self.revoke(10, self.revoked_keys()))
        self.assertIsNone(read_key_record_text(rv[:-2] + b',"reason":"}}'))
        self.assertIsNotNone(read_key_record_text(rv[:-2] + b',"reason":"a"}}'))
        # "one line without a line feed or NUL byte": neither anywhere, not even where the text
        # rules take any text (the time, K, a reason)
        self.assertIsNotNone(read_key_record_text(ok.replace(b'"at":"', b'"at":"x', 1)))
        for bad in (ok.replace(b'"at":"', b'"at":"\0', 1), ok.replace(b'"at":"', b'"at":"\n', 1),
                    ok.replace(b'{"keys":[', b'{"keys":[\0', 1), rv[:-2] + b',"reason":"a\0"}}',
                    rv[:-2] + b',"reason":"a\n"}}', ok + b"\0"):
            self.assertIsNone(read_key_record_text(bad), bad)
        # a key record whose event is not of that form fails check 11 (the record commits to it)
        steps = self.honest()
        spaced = jcs.canonical(steps[3][0]).replace(b":", b": ", 1)
        files = self.package(steps[:3] + [(spaced, self.K2, 4)], keys=self.revoked_keys(reason="lost"))
        self.assertOnlyFails(files, [11], "key-record-2-event.json is not")
        # an event with a NUL byte (the record commits to it): check 11 fails; the same event with
        # another byte there passes
        canon = jcs.canonical(steps[3][0])
        for byte, failing in ((b"\0", [11]), (b"x", [])):
            ev = canon.replace(b'"at":"', b'"at":"' + byte, 1)
            files = self.package(steps[:3] + [(ev, self.K2, 4)], keys=self.revoked_keys(reason="lost"))
            self.assertOnlyFails(files, failing, "key-record-2-event.json is not" if failing else None)

    def test_checkpoint_key(self):
        steps = self.honest()
        # (receipts mode) the checkpoint signed by k2, which key record 1 rotates to: check 6 passes
        self.assertOnlyFails(self.package(steps, cp_signer=self.K2), [])
        # k3, a key of keys.jwks (and of the key set the rotation signed), but no rotation's next
        keys = self.rotated_keys() + [self.JWK3]
        with3 = [steps[0], (self.rotate(2, keys), self.K1, 1)]
        self.assertOnlyFails(self.package(with3), [])
        self.assertOnlyFails(self.package(with3, cp_signer=self.K3), [6], "checkpoint-key.pem")
        # a package made before packages carried key records: checkpoint-key.pem only a key of keys.jwks
        old = self.package(steps[:1], keys=self.rotated_keys(), cp_signer=self.K2)
        checks = self.assertOnlyFails(old, [6], "checkpoint-key.pem")
        self.assertIs(checks[11].applies, False)
        # checkpoint-key.pem is the rotation's next, but the note is k3's
        files = self.package(with3, cp_signer=self.K3)
        files["checkpoint-key.pem"] = self.pem(self.D2)
        self.assertOnlyFails(files, [6], "no signature line")

    def test_batch_mode_files(self):
        from spec_verifier.package import batch_receipt_of
        files = self.package(self.honest(), batch=True)
        spaced = files["key-record-1-batch-receipt.json"] + b" "
        self.assertOnlyFails(dict(files, **{"key-record-1-batch-receipt.json": spaced}), [11], "batch receipt")
        # key record 1's note signed by k2, not by its signer k1
        body = files["key-record-1-checkpoint-body.txt"].decode()
        other = dict(files, **{"key-record-1-checkpoint.txt": craft.note_sign(self.D2, self.LOG, body).encode()})
        other["key-record-1-batch-receipt.json"] = batch_receipt_of(other, 1)
        self.assertOnlyFails(other, [11], "no signature line")
        # the body not the text the note signs
        self.assertOnlyFails(dict(files, **{"key-record-1-checkpoint-body.txt": body.encode() + b"x\n"}), [11],
                             "key-record-1-checkpoint-body.txt")
        # a proof that does not lead to the root, the batch receipt made again of it
        proof = jcs.parse(files["key-record-1-inclusion-proof.json"])
        proof["hashes"][0] = "A" * 43 + "="
        moved = dict(files, **{"key-record-1-inclusion-proof.json": jcs.canonical(proof)})
        moved["key-record-1-batch-receipt.json"] = batch_receipt_of(moved, 1)
        self.assertOnlyFails(moved, [11], "does not lead")
        # a receipts-mode file in a batch package
        self.assertOnlyFails(dict(files, **{"key-record-2-receipt.jws": b"x"}), [11], "key-record-2-receipt.jws")

    def test_receipt_three_parts(self):
        # check 4: receipt.jws is first three parts joined by two `.`, without a line feed
        files = self.package(self.honest())
        rc = files["receipt.jws"]
        for bad in (rc + b"\n", rc + b"\r\n", b"\n" + rc, rc + b".x", rc + b"."):
            self.assertOnlyFails(dict(files, **{"receipt.jws": bad}), [4], "receipt.jws is not three parts")
        # the same for a key record's receipt (check 11 step 3)
        krc = files["key-record-1-receipt.jws"]
        for bad in (krc + b"\n", krc + b".x"):
            self.assertOnlyFails(dict(files, **{"key-record-1-receipt.jws": bad}), [11],
                                 "key-record-1-receipt.jws is not three parts")

    def test_checkpoint_origin(self):
        # check 6: the first line of checkpoint-body.txt (its origin) is the log id, even when a
        # line under the log id verifies
        from spec_verifier.package import batch_receipt_of
        for batch in (False, True):
            files = self.package(self.honest(), batch=batch)
            body = files["checkpoint-body.txt"].replace(self.LOG.encode(), b"example.com/other", 1)
            other = dict(files, **{"checkpoint-body.txt": body,
                                   "checkpoint.txt": craft.note_sign(D, self.LOG, body.decode()).encode()})
            if batch:
                other["batch-receipt.json"] = batch_receipt_of(other)
                other["signature.der"] = checkpoints.read(other["checkpoint.txt"]).sigs[0].sig
            self.assertOnlyFails(other, [6], "origin")
            # ... also with a checkpoint-key.pem that is not accepted (no key to verify with)
            other["checkpoint-key.pem"] = self.pem(self.D3)
            self.assertOnlyFails(other, [6])

    def test_checkpoint_key_revoked(self):
        # k1 -> k2 -> k3, then k3 revokes k2: k2 was handed over to, but keys.jwks revokes it
        # Entries with their explicit kid, as Evidentia writes them: check 6 finds a
        # revocation by the entry's kid.
        k1 = dict(JWK, kid=self.K1, nbf=float(self.T0), exp=float(self.T0 + 2))
        k2 = dict(self.JWK2, kid=self.K2, nbf=float(self.T0 + 2), exp=float(self.T0 + 4))
        k3 = dict(self.JWK3, kid=self.K3, nbf=float(self.T0 + 4))
        gone = dict(k2, revoked={"revoked_at": float(self.T0 + 10)})
        steps = [({"n": 0}, self.K1, 0),
                 (self.rotate(2, [k1, dict(self.JWK2, kid=self.K2, nbf=float(self.T0 + 2))]), self.K1, 1),
                 (self.rotate(4, [k1, k2, k3], kid=self.K2, nxt=self.K3), self.K2, 3),
                 (self.revoke(10, [k1, gone, k3], kid=self.K2), self.K3, 5)]
        for batch in (False, True):
            self.assertOnlyFails(self.package(steps, batch=batch, cp_signer=self.K2), [6], "revoked in keys.jwks")
            # k3, not revoked, or k2 before the revocation (not carried: keys.jwks its set)
            self.assertOnlyFails(self.package(steps, batch=batch, cp_signer=self.K3), [])
            self.assertOnlyFails(self.package(steps[:3], batch=batch, cp_signer=self.K2), [])
        # a revoked entry found by its explicit kid, whatever its revoked_at
        files = self.package(steps[:3], cp_signer=self.K2)
        later = jcs.canonical({"keys": [k1, dict(k2, revoked={"revoked_at": float(self.T0 + 99)}), k3]})
        self.assertOnlyFails(dict(files, **{"keys.jwks": later}), [6, 11], "revoked in keys.jwks")
        # keys.jwks not a key set: check 3 fails (and 11); it revokes nothing for check 6
        self.assertOnlyFails(dict(files, **{"keys.jwks": b"x"}), [3, 11], "keys.jwks")
        # an entry without its kid is not found by it (verify.sh matches the kid as text)
        unnamed = jcs.canonical({"keys": [k1, {k: v for k, v in gone.items() if k != "kid"}, k3]})
        self.assertOnlyFails(dict(files, **{"keys.jwks": unnamed}), [11], "keys.jwks")
        # the record's own key is not tested so (check 3 judges it)
        self.assertOnlyFails(self.package(steps[:1], keys=[dict(k1, revoked={"revoked_at": float(self.T0 + 9)})]),
                             [])

    def test_rotation_own_package(self):
        # the package of a rotation record: event.json rotates the record's key k1 to k2; its
        # checkpoint is k2's and the key record after it is signed by k2
        steps = [(self.rotate(2, self.rotated_keys()), self.K1, 1), ({"n": 2}, self.K2, 3),
                 (self.revoke(10, self.revoked_keys(reason="lost"), reason="lost"), self.K2, 4)]
        for batch in (False, True):
            checks = self.assertOnlyFails(self.package(steps, batch=batch, cp_signer=self.K2), [])
            self.assertIs(checks[11].applies, True)
            self.assertIs(checks[6].passed, True)
            self.assertOnlyFails(self.package(steps, batch=batch), [])
        # without key records: check 6 takes k2 from event.json alone
        checks = self.assertOnlyFails(self.package(steps[:1], keys=self.rotated_keys(), cp_signer=self.K2), [])
        self.assertIs(checks[11].applies, False)
        # a rotation of another key (k3 -> k2) in a record of k1: the chain stays at k1
        other = [(self.rotate(2, self.rotated_keys(), kid=self.K3), self.K1, 1)] + steps[1:]
        checks = self.assertOnlyFails(self.package(other, cp_signer=self.K2), [6, 11], "hands over to")
        self.assertIn("key-record-1.json is not signed", checks[11].failure)
        # the chain starts at k2: key record 1 signed by k1 is not the current key's
        by1 = steps[:1] + [(self.revoke(10, self.revoked_keys(reason="lost"), kid=self.K3, reason="lost"), self.K1, 4)]
        self.assertOnlyFails(self.package(by1), [11], "key-record-1.json is not signed")

    def test_100th_key_record_not_read(self):
        from spec_verifier.package import key_record_numbers
        names = {f"key-record-{n}.json" for n in range(1, 101)}
        self.assertEqual(key_record_numbers(names), range(1, 100))
        # 100 revocations of a retired k3 signed by k1: key records 1 to 99 are read, the 100th not
        k3 = dict(self.JWK3, exp=float(self.T0), revoked={"revoked_at": float(self.T0 + 10)})
        keys = [dict(JWK, nbf=float(self.T0)), k3]
        last = [keys[0], dict(k3, revoked={"revoked_at": float(self.T0 + 10), "reason": "x"})]
        steps = [({"n": 0}, self.K1, 0)] + [(self.revoke(10, keys, kid=self.K3), self.K1, 1 + i) for i in range(99)] \
            + [(self.revoke(10, last, kid=self.K3, reason="x"), self.K1, 100)]
        files = self.package(steps, keys=keys)
        self.assertIn("key-record-100.json", files)
        checks = self.assertOnlyFails(files, [1], "key-record-100")
        self.assertIs(checks[11].passed, True)
        # keys.jwks the 100th's key set: not the last key record read's
        checks = self.assertOnlyFails(dict(files, **{"keys.jwks": jcs.canonical({"keys": last})}), [1, 11])
        self.assertIn("keys.jwks", checks[11].failure)



class Witnessing:
    """Three Ed25519 witnesses (§22.1) and a tlog-policy (§22.2) of a log whose checkpoints an
    ECDSA P-256 key signs: helpers of Policies and PackageWitnesses."""

    SEEDS = {"w1": b"\x01" * 32, "w2": b"\x02" * 32, "w3": b"\x03" * 32}
    TIME = 1800000100

    @staticmethod
    def key_name(w):
        return f"witness{w[1:]}.example"

    @classmethod
    def wvkey(cls, w, seed=None, name=None):
        from spec_verifier.policy import key_id_of
        from spec_verifier.util import b64std_encode
        name = name or cls.key_name(w)
        public = craft.ed25519_public(seed or cls.SEEDS[w])
        return f"{name}+{key_id_of(name, 4, public).hex()}+{b64std_encode(bytes([4]) + public)}"

    @classmethod
    def log_ed25519(cls, w, name):
        """A 0x01 (log, Ed25519) vkey of witness w's key under `name`."""
        from spec_verifier.policy import key_id_of
        from spec_verifier.util import b64std_encode
        public = craft.ed25519_public(cls.SEEDS[w])
        return f"{name}+{key_id_of(name, 1, public).hex()}+{b64std_encode(bytes([1]) + public)}"

    @staticmethod
    def log_vkey(origin, d):
        """§22.1 0x02: `<origin>+<SHA-256(SPKI DER)[:4] hex>+<base64(0x02 ‖ SPKI DER)>`."""
        from spec_verifier.util import b64std_encode, sha256
        spki = ecdsa.spki_der(*ecdsa.public_of(d))
        return f"{origin}+{sha256(spki)[:4].hex()}+{b64std_encode(bytes([2]) + spki)}"

    def policy_text(self, origin, d=D, quorum="2 w1 w2 w3"):
        return (f"# {origin} and three witnesses, two of which must cosign\n"
                f"log {self.log_vkey(origin, d)}\n"
                f"witness w1 {self.wvkey('w1')}\n"
                f"witness\tw2   {self.wvkey('w2')} https://w2.example/\n"
                f"witness w3 {self.wvkey('w3')}\n"
                f"group two-of-three {quorum}\n"
                "quorum two-of-three\n")

    @classmethod
    def cosignature(cls, w, body, t=None, seed=None):
        """`— <key name> <base64(key ID ‖ timestamp ‖ Ed25519 signature)>` and a line feed, over
        `cosignature/v1`, `time T` and the checkpoint text (§22.1)."""
        from spec_verifier.policy import cosigned_message, key_id_of
        from spec_verifier.util import b64std_encode
        t = cls.TIME if t is None else t
        seed = seed or cls.SEEDS[w]
        name = cls.key_name(w)
        kid = key_id_of(name, 4, craft.ed25519_public(seed))
        sig = craft.ed25519_sign(seed, cosigned_message(t, body.encode()))
        return "\u2014 " + name + " " + b64std_encode(kid + t.to_bytes(8, "big") + sig) + "\n"


class Policies(Witnessing, unittest.TestCase):
    """§22.1 vkeys and cosignatures, §22.2 reading and evaluating a tlog-policy."""

    ORIGIN = "example.com/witnessed"
    BODY = ORIGIN + "\n5\n" + "A" * 43 + "=\n"

    def read(self, text):
        from spec_verifier.policy import read_policy
        return code(lambda: read_policy(text.encode() if isinstance(text, str) else text))

    def test_reading(self):
        from spec_verifier.policy import read_policy
        good = self.policy_text(self.ORIGIN)
        p = read_policy(good.encode())
        self.assertEqual([n for n, _ in p.witnesses], ["w1", "w2", "w3"])
        self.assertEqual(p.groups["two-of-three"], (2, ["w1", "w2", "w3"]))
        self.assertEqual(p.logs[0].name, self.ORIGIN)
        self.assertIsNone(self.read(good.rstrip("\n")))  # the last line may lack its line feed
        self.assertIsNone(self.read(good.replace("\n", "\n\n  \t\n# comment\n", 1)))
        self.assertIsNone(self.read(good.replace("2 w1", "any w1")))
        self.assertIsNone(self.read(good.replace("2 w1", "all w1")))
        self.assertIsNone(self.read(good.replace("quorum two-of-three", "quorum none")))
        self.assertIsNone(self.read(good.replace("quorum two-of-three", "quorum w3")))
        w1 = f"witness w1 {self.wvkey('w1')}\n"
        bad = {
            "no quorum": good.replace("quorum two-of-three\n", ""),
            "two quorums": good + "quorum w1\n",
            "a quorum not defined": good.replace("quorum two-of-three", "quorum nobody"),
            "a quorum of two names": good.replace("quorum two-of-three", "quorum w1 w2"),
            "k 0": good.replace("2 w1", "0 w1"),
            "k above n": good.replace("2 w1", "4 w1"),
            "k with a leading zero": good.replace("2 w1", "02 w1"),
            "no member": good.replace("two-of-three 2 w1 w2 w3", "two-of-three any"),
            "a member twice": good.replace("w2 w3\n", "w2 w3\ngroup g2 any w1\n"),
            "a member not defined before": good.replace("w2 w3\n", "w2 w3 w4\n"),
            "none a member": good.replace("w2 w3\n", "w2 w3 none\n"),
            "none defined": good.replace("witness w3", "witness none"),
            "a name defined twice": good.replace("witness w3", "witness w1"),
            "a witness key twice": good.replace(self.wvkey("w3"), self.wvkey("w1", name=self.key_name("w3"))),
            "a witness named as the log": good.replace("witness w1 ", f"witness {self.ORIGIN} ")
                                             .replace("three 2 w1", f"three 2 {self.ORIGIN}"),
            "a witness key named as the log": good.replace(self.wvkey("w1"), self.wvkey("w1", name=self.ORIGIN)),
            "a trailing comment": good.replace("https://w2.example/", "https://w2.example/ #comment"),
            "an unknown line": good + "logs x\n",
            "a carriage return": good.replace("\n", "\r\n"),
            "a NUL byte": good.replace("# ", "#\0"),
            "a witness key of type 0x01": good.replace(self.wvkey("w1"), self.log_ed25519("w1", self.key_name("w1"))),
            "a log key of type 0x04": good.replace(self.log_vkey(self.ORIGIN, D), self.wvkey("w1", name=self.ORIGIN)),
            "a wrong key ID": good.replace(self.wvkey("w1"), self.swap_key_id(self.wvkey("w1"), lambda k: k[::-1])),
            "a key ID in upper case": good.replace(self.wvkey("w1"), self.swap_key_id(self.wvkey("w1"), str.upper)),
            "a witness's key a log's": good.replace(f"log {self.log_vkey(self.ORIGIN, D)}",
                                                    f"log {self.log_ed25519('w1', self.ORIGIN)}"),
            "too large": good + "#" * (64 * 1024) + "\n",
        }
        for why, text in bad.items():
            self.assertEqual(self.read(text), "POLICY_MALFORMED", why)
        # depth: 32 nested groups are read, 33 are not
        nested = w1 + "group g1 any w1\n" + "".join(f"group g{i} any g{i - 1}\n" for i in range(2, 33))
        self.assertIsNone(self.read(f"log {self.log_vkey(self.ORIGIN, D)}\n" + nested + "quorum g32\n"))
        self.assertEqual(self.read(f"log {self.log_vkey(self.ORIGIN, D)}\n" + nested + "group g33 any g32\nquorum g33\n"),
                         "POLICY_MALFORMED")

    @staticmethod
    def swap_key_id(vkey, f):
        name, kid, key = vkey.split("+", 2)
        assert f(kid) != kid
        return f"{name}+{f(kid)}+{key}"

    def test_vkeys(self):
        from spec_verifier.policy import read_vkey
        self.assertEqual(read_vkey(self.wvkey("w1"), (4,)).name, "witness1.example")
        self.assertEqual(code(lambda: read_vkey(self.wvkey("w1"), (1, 2))), "KEY_UNSUPPORTED")
        self.assertEqual(code(lambda: read_vkey(self.wvkey("w1", name="other"), (4,)).key_id), None)
        wrong = self.wvkey("w1", name="other").replace("other", "witness1.example")
        self.assertEqual(code(lambda: read_vkey(wrong, (4,))), "KEY_MALFORMED")
        # a y of 2 (0x02 and 31 zero bytes) has no x on the curve: not a point
        from spec_verifier.policy import key_id_of
        from spec_verifier.util import b64std_encode
        off = b"\x02" + b"\0" * 31
        vk = f"n+{key_id_of('n', 4, off).hex()}+{b64std_encode(bytes([4]) + off)}"
        self.assertEqual(code(lambda: read_vkey(vk, (4,))), "KEY_INVALID")
        self.assertEqual(code(lambda: read_vkey("n+00000000", (4,))), "KEY_MALFORMED")

    def test_evaluating(self):
        from spec_verifier.policy import evaluate, read_policy
        p = read_policy(self.policy_text(self.ORIGIN).encode())
        note = craft.note_sign(D, self.ORIGIN, self.BODY)
        ev = evaluate((note + self.cosignature("w3", self.BODY) + self.cosignature("w1", self.BODY, t=5)).encode(), p)
        self.assertEqual([(n, t) for n, _, t in ev.cosigned], [("w1", 5), ("w3", self.TIME)])  # policy order
        self.assertEqual([vk.name for vk in ev.signed_by], [self.ORIGIN])
        # a witness with two valid lines counts once, with its first timestamp; lines of other keys are ignored
        twice = note + self.cosignature("w1", self.BODY, t=7) + self.cosignature("w1", self.BODY, t=9) \
            + self.cosignature("w2", self.BODY, seed=b"\x09" * 32) + "\u2014 stranger AAAAAAAA\n"
        self.assertEqual(code(lambda: evaluate(twice.encode(), p)), "POLICY_NOT_SATISFIED")
        ev = evaluate((twice + self.cosignature("w3", self.BODY)).encode(), p)
        self.assertEqual([(n, t) for n, _, t in ev.cosigned], [("w1", 7), ("w3", self.TIME)])
        # a timestamp of 2^63 (the line signed over it) is no cosignature
        big = note + self.cosignature("w1", self.BODY) + self.cosignature("w2", self.BODY, t=2 ** 63)
        self.assertEqual(code(lambda: evaluate(big.encode(), p)), "COSIGNATURE_INVALID")
        # a cosignature over another text
        other = self.BODY.replace("\n5\n", "\n6\n")
        moved = note + self.cosignature("w1", self.BODY) + self.cosignature("w2", other)
        self.assertEqual(code(lambda: evaluate(moved.encode(), p)), "COSIGNATURE_INVALID")
        # the log's line: signed by another key under the origin, or a line of the policy's key that fails
        stranger = craft.note_sign(0x1234, self.ORIGIN, self.BODY) + self.cosignature("w1", self.BODY) \
            + self.cosignature("w2", self.BODY)
        self.assertEqual(code(lambda: evaluate(stranger.encode(), p)), "CHECKPOINT_SIGNATURE_INVALID")
        forged = craft.note_sign(D, self.ORIGIN, other).replace(other, self.BODY)
        self.assertEqual(code(lambda: evaluate((forged + self.cosignature("w1", self.BODY)).encode(), p)),
                         "CHECKPOINT_SIGNATURE_INVALID")
        # the quorum none needs no witness; an Ed25519 log key (0x01) verifies its own line
        none = read_policy(self.policy_text(self.ORIGIN).replace("quorum two-of-three", "quorum none").encode())
        self.assertEqual(evaluate(note.encode(), none).cosigned, [])
        ed_log = read_policy(f"log {self.log_ed25519('w1', self.ORIGIN)}\nquorum none\n".encode())
        from spec_verifier.policy import key_id_of
        from spec_verifier.util import b64std_encode
        kid = key_id_of(self.ORIGIN, 1, craft.ed25519_public(self.SEEDS["w1"]))
        ed_line = "\u2014 " + self.ORIGIN + " " + b64std_encode(kid + craft.ed25519_sign(self.SEEDS["w1"], self.BODY.encode())) + "\n"
        self.assertEqual(len(evaluate((note + ed_line).encode(), ed_log).signed_by), 1)
        self.assertEqual(code(lambda: evaluate(note.encode(), ed_log)), "CHECKPOINT_SIGNATURE_INVALID")
        self.assertEqual(code(lambda: evaluate(self.BODY.encode(), p)), "CHECKPOINT_MALFORMED")

    def test_spec_example_message(self):
        # c2sp.org/tlog-cosignature's example: the message a timestamp and a checkpoint text give
        from spec_verifier.policy import cosigned_message
        self.assertEqual(cosigned_message(1679315147, b"example.com/behind-the-sofa\n20852163\n"),
                         b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n")


class PackageWitnesses(Witnessing, PackageSteps, unittest.TestCase):
    """§19 check 12 (the witnesses): a package carrying cosigned-checkpoint.txt, its checkpoint
    as witnesses cosigned it, and witness-policy.txt, the tlog-policy it meets."""

    def witnessed(self, batch=False, witnesses=("w1", "w3"), policy=None):
        """A valid package of one record (no key records), with its checkpoint cosigned by
        `witnesses` and a 2-of-3 policy whose log key is the package's key."""
        files = self.package(self.honest()[:1], batch=batch, keys=[JWK])
        body = files["checkpoint-body.txt"].decode()
        sigs = files["checkpoint.txt"].decode()[len(body) + 1:]
        files["cosigned-checkpoint.txt"] = (body + "\n" + sigs
                                            + "".join(self.cosignature(w, body) for w in witnesses)).encode()
        files["witness-policy.txt"] = (policy or self.policy_text(self.LOG)).encode()
        return files

    def test_valid_two_of_three(self):
        import hashlib
        from spec_verifier.package import package_valid
        for batch in (False, True):
            files = self.witnessed(batch=batch)
            checks = self.assertOnlyFails(files, [])
            self.assertTrue(package_valid(checks))
            self.assertIs(checks[12].applies, True)
            self.assertIs(checks[12].passed, True)
            self.assertIn(hashlib.sha256(files["witness-policy.txt"]).hexdigest(), checks[12].detail)
            self.assertEqual(list(checks)[-1], 12)
        self.assertOnlyFails(self.witnessed(witnesses=("w3", "w2", "w1")), [])

    def test_not_witnessed_check_12_not_reported(self):
        checks = self.assertOnlyFails(self.package(self.honest()[:1], keys=[JWK]), [])
        self.assertNotIn(12, checks)

    def test_quorum_not_met(self):
        self.assertOnlyFails(self.witnessed(witnesses=("w2",)), [12], "POLICY_NOT_SATISFIED")
        self.assertOnlyFails(self.witnessed(witnesses=()), [12], "POLICY_NOT_SATISFIED")
        self.assertOnlyFails(self.witnessed(witnesses=("w1", "w2"), policy=self.policy_text(self.LOG, quorum="all w1 w2 w3")),
                             [12], "POLICY_NOT_SATISFIED")

    def test_flipped_cosignature_byte(self):
        from spec_verifier.util import b64std_encode
        files = self.witnessed()
        lines = files["cosigned-checkpoint.txt"].decode().split("\n")
        name, b64 = lines[-2][2:].split(" ")
        raw = bytearray(b64std_decode(b64))
        raw[-1] ^= 0x01
        lines[-2] = "\u2014 " + name + " " + b64std_encode(bytes(raw))
        files["cosigned-checkpoint.txt"] = "\n".join(lines).encode()
        self.assertOnlyFails(files, [12], "COSIGNATURE_INVALID")

    def test_body_mismatch(self):
        files = self.witnessed()
        body = files["checkpoint-body.txt"].decode()
        other = body.replace("\n1\n", "\n2\n")
        self.assertNotEqual(other, body)
        # a note of another text, its log line and cosignatures over that text
        files["cosigned-checkpoint.txt"] = (craft.note_sign(D, self.LOG, other)
                                            + self.cosignature("w1", other) + self.cosignature("w3", other)).encode()
        self.assertOnlyFails(files, [12], "does not start with checkpoint-body.txt")
        # the body's text, but cosignatures over another
        files = self.witnessed()
        files["cosigned-checkpoint.txt"] += (self.cosignature("w2", other)).encode()
        self.assertOnlyFails(files, [12], "COSIGNATURE_INVALID")

    def test_one_file_without_the_other(self):
        for name in ("cosigned-checkpoint.txt", "witness-policy.txt"):
            files = self.witnessed()
            del files[name]
            checks = self.assertOnlyFails(files, [12], f"{name} is missing")
            self.assertIs(checks[12].applies, True)

    def test_policy_without_quorum_line(self):
        files = self.witnessed(policy=self.policy_text(self.LOG).replace("quorum two-of-three\n", ""))
        self.assertOnlyFails(files, [12], "POLICY_MALFORMED")

    def test_policy_of_another_log_key(self):
        # the policy's log key under the origin is not the key that signed: no trusted key signed
        files = self.witnessed(policy=self.policy_text(self.LOG, d=self.D2))
        self.assertOnlyFails(files, [12], "CHECKPOINT_SIGNATURE_INVALID")
        # a log of another origin only
        files = self.witnessed(policy=self.policy_text("example.com/other"))
        self.assertOnlyFails(files, [12], "CHECKPOINT_SIGNATURE_INVALID")

    @staticmethod
    def uncanonical(note):
        """The note with its last line's base64 ending in non-zero unused bits (76 bytes: `==`)."""
        import string
        alphabet = (string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/").encode()
        assert note.endswith(b"==\n")
        last = note[-4]
        return note[:-4] + bytes([alphabet[alphabet.index(last) ^ 1]]) + b"==\n"

    def test_note_form(self):
        files = self.witnessed()
        note = files["cosigned-checkpoint.txt"]
        body = files["checkpoint-body.txt"]
        for why, bad in {
            "no line feed at the end": note[:-1],
            "no signature line": body + b"\n",
            "base64 not canonical": self.uncanonical(note),
            "a name with a +": note.replace(b"witness1.example", b"witness+1.example"),
            "a CR": note[:-1] + b"\r\n",
            "101 signature lines": note + self.cosignature("w2", body.decode()).encode() * 100,
        }.items():
            self.assertOnlyFails(dict(files, **{"cosigned-checkpoint.txt": bad}), [12], None)
        # larger than 64 KiB
        self.assertOnlyFails(dict(files, **{"cosigned-checkpoint.txt": note + b"\xe2\x80\x94 x AAAAAAAA\n" * 6000}),
                             [12], "64 KiB")

    def test_check_12_without_a_record(self):
        # judged from checkpoint-body.txt and its own files: still reported when the record is unreadable
        files = self.witnessed()
        files["record.json"] = b"{}"
        checks = self.checks(files)
        self.assertIs(checks[12].passed, True)
        del files["witness-policy.txt"]
        self.assertIs(self.checks(files)[12].passed, False)


class CommitmentDocumentInAPackage(unittest.TestCase):
    """§19 check 13 reads event.json as §26.2's commitment document: digests of 32 bytes in
    base64url (no spare bits in the last character), sorted by their bytes, each listed once."""

    def failure(self, digests, disclosed):
        from spec_verifier.package import disclosures_failure
        record = b'{"event":"sha256:' + b"0" * 64 + b'","kid":"k","log_id":"l","prev":null,"seq":0,' \
            b'"time":"2026-01-01T00:00:00Z","v":2}'
        event = jcs.canonical({"_sd": digests, "_sd_alg": "sha-256"})
        return disclosures_failure(record, event, (disclosed + "\n").encode())

    def test_sorted_once_and_canonical(self):
        import base64
        import hashlib
        lines = [b64url_encode(jcs.canonical(["salt%d" % i, "m%d" % i, i])) for i in range(3)]
        digests = sorted(base64.urlsafe_b64encode(hashlib.sha256(line.encode()).digest()).rstrip(b"=").decode()
                         for line in lines)
        self.assertIsNone(self.failure(digests, lines[0]))
        self.assertIsNotNone(self.failure(list(reversed(digests)), lines[0]))
        self.assertIsNotNone(self.failure(digests + digests[-1:], lines[0]))
        # A digest's last character carries 4 bits: the next character sets a spare one.
        spare = digests[:-1] + [digests[-1][:-1] + chr(ord(digests[-1][-1]) + 1)]
        self.assertIsNotNone(self.failure(sorted(spare), lines[0]))


if __name__ == "__main__":
    unittest.main()
