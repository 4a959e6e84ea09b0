"""SPEC §23 key records: reading one (§23.1) and the `key_history` check of a log (§23.2)."""
from fractions import Fraction

from . import jcs
from .errors import EvError
from .keys import numeric_date_ns, read_key_set_value
from .util import parse_time

MEMBER = "evidentia_key_record"
ROTATE_MEMBERS = {"format", "change", "kid", "next", "at", "keys"}
REVOKE_MEMBERS = {"format", "change", "kid", "at", "reason", "keys"}


class KeyRecord:
    def __init__(self, change, kid, next_kid, at_ns, reason, key_set):
        self.change = change
        self.kid = kid
        self.next = next_kid
        self.at_ns = at_ns
        self.reason = reason
        self.keys = key_set  # a KeySet (keys.py)

    def entry(self, kid):
        """The one key of `keys` that `kid` names (explicit kid or thumbprint), or None."""
        return find(self.keys.keys, kid)


def find(keys, kid):
    found = [k for k in keys if k.kid == kid or k.thumbprint == kid]
    return found[0] if len(found) == 1 else None


def _bad(message):
    raise EvError("KEY_RECORD_MALFORMED", message)


def is_key_record(event_bytes):
    """§23.2: "An event is a key record when, read as JSON (§1), it is an object with the member
    `evidentia_key_record` (however the stored bytes spell the name)": the name is compared after
    unescaping (`evidentia_key_r\\u0065cord` is that member). An event that is not JSON (§1), or
    not an object, is none. Returns the parsed event or None."""
    try:
        obj = jcs.parse(event_bytes)
    except EvError:
        return None
    if isinstance(obj, dict) and MEMBER in obj:
        return obj
    return None


def read_key_record(obj):
    """§23.1: the event read as a key record, else KEY_RECORD_MALFORMED."""
    if set(obj) != {MEMBER}:
        _bad("the event has members other than evidentia_key_record")
    kr = obj[MEMBER]
    if not isinstance(kr, dict):
        _bad("evidentia_key_record is not an object")
    change = kr.get("change")
    if change == "rotate":
        allowed, required = ROTATE_MEMBERS, ROTATE_MEMBERS
    elif change == "revoke":
        allowed, required = REVOKE_MEMBERS, REVOKE_MEMBERS - {"reason"}
    else:
        _bad("change is neither rotate nor revoke")
    names = set(kr)
    if not names <= allowed:
        _bad("other members: " + ", ".join(sorted(names - allowed)))
    if not required <= names:
        _bad("missing members: " + ", ".join(sorted(required - names)))
    if not jcs.is_int(kr["format"]) or kr["format"] != 1:
        _bad("format is not 1")
    for m in ("kid", "next"):
        if m in kr and not isinstance(kr[m], str):
            _bad(f"{m} is not a string")
    try:
        # §6.1 times; a time that is not one makes the key record malformed (§23.1; §23.2 step 1
        # "else its code (KEY_RECORD_MALFORMED)" rather than TIME_INVALID).
        at_ns = parse_time(kr["at"])
    except EvError:
        _bad("at is not a time (§6.1)")
    reason = kr.get("reason")
    if "reason" in kr and (not isinstance(reason, str) or not 1 <= len(reason.encode("utf-8")) <= 1024):
        _bad("reason is not a string of 1-1024 bytes")
    keys = kr["keys"]
    # "a JWKS (§4) of public keys": a JWKS object (a bare JWK, which §4 also reads as a set of
    # one, is not a JWKS object, §23.1), readable by §4.
    if not isinstance(keys, dict) or "keys" not in keys:
        _bad("keys is not a JWKS object")
    try:
        key_set = read_key_set_value(keys)
    except EvError as e:
        _bad(f"keys is not readable by §4 ({e.name})")
    if any("d" in k.jwk for k in key_set.keys):
        _bad("a key of keys has a private member d")
    rec = KeyRecord(change, kr["kid"], kr.get("next"), at_ns, reason, key_set)
    # "a change the key set does not show". Which key `kid` and `next` name: the one entry whose
    # explicit kid or thumbprint it is (§4 key selection, §23.1).
    outgoing = rec.entry(rec.kid)
    if outgoing is None:
        _bad("kid names no key (or several) of keys")
    if change == "rotate":
        incoming = rec.entry(rec.next)
        if incoming is None:
            _bad("next names no key (or several) of keys")
        if outgoing.exp != at_ns or incoming.nbf != at_ns:
            _bad("the rotation is not shown: kid's exp and next's nbf are not both at")
    else:
        rv = outgoing.jwk.get("revoked")
        if outgoing.revoked_at != at_ns or not isinstance(rv, dict) or rv.get("reason") != reason:
            _bad("the revocation is not shown: kid's revoked_at is not at or its reason not reason")
    return rec


# --- comparing key sets (§23.2 step 3 and the end of the log) ---

def numeric_date(ns):
    """§4.1 "A writer stores an instant as the double nearest to it"."""
    return float(Fraction(ns, 10 ** 9))


def _normal_entry(jwk):
    """An entry as a written key set holds it (SPEC §23.2 step 3): its members other than `nbf`,
    `exp` and `revoked` as they are, `nbf` and `exp` as the NumericDates of the instants they
    denote, and `revoked` as {"revoked_at": NumericDate} plus "reason" when there is one."""
    out = dict(jwk)
    for m in ("nbf", "exp"):
        if m in out:
            out[m] = numeric_date(numeric_date_ns(out[m]))
    if isinstance(out.get("revoked"), dict) and "revoked_at" in out["revoked"]:
        rv = {"revoked_at": numeric_date(numeric_date_ns(out["revoked"]["revoked_at"]))}
        if "reason" in out["revoked"]:
            rv["reason"] = out["revoked"]["reason"]
        out["revoked"] = rv
    return out


def canonical_set(entries):
    """The canonical JSON of a key set "written as keys.jwks is": {"keys": [entries]}."""
    return jcs.canonical({"keys": [_normal_entry(e) for e in entries]})


def applied(prev, rec):
    """`prev`'s keys with `rec`'s change applied (§23.2 step 3), as a list of JWK dicts; None when
    the change cannot apply to them."""
    entries = [k.jwk for k in prev.keys.keys]
    target = find(prev.keys.keys, rec.kid)
    if target is None:
        return None
    pos = prev.keys.keys.index(target)
    new = dict(target.jwk)
    if rec.change == "rotate":
        # "the outgoing key, which has neither exp nor revoked, gets exp = at, and the incoming
        # key, not in the set before, is added with nbf = at" (added at the end, §23.2).
        if "exp" in new or "revoked" in new:
            return None
        incoming = rec.entry(rec.next)
        taken = {k.thumbprint for k in prev.keys.keys} | {k.kid for k in prev.keys.keys if k.kid is not None}
        if incoming.thumbprint in taken or (incoming.kid is not None and incoming.kid in taken) \
                or any(k.kid == rec.next or k.thumbprint == rec.next for k in prev.keys.keys):
            return None
        new["exp"] = numeric_date(rec.at_ns)
        added = dict(incoming.jwk)
        added["nbf"] = numeric_date(rec.at_ns)
        return entries[:pos] + [new] + entries[pos + 1:] + [added]
    # "the key, not yet revoked, gets revoked with at and reason"
    if "revoked" in new:
        return None
    new["revoked"] = {"revoked_at": numeric_date(rec.at_ns)}
    if rec.reason is not None:
        new["revoked"]["reason"] = rec.reason
    return entries[:pos] + [new] + entries[pos + 1:]


def history(key_set):
    """What the end of the log compares (§23.2): for each key, by thumbprint, its `nbf`, `exp`,
    `revoked_at` (as instants, §4.1) and revocation `reason`; the order of the entries and their
    other members are not compared."""
    out = {}
    for k in key_set.keys:
        rv = k.jwk.get("revoked")
        reason = rv.get("reason") if isinstance(rv, dict) else None
        out[k.thumbprint] = (k.nbf, k.exp, k.revoked_at, reason)
    return out


def in_force(key_set):
    """The keys of a key set usable for ES256 with neither `exp` nor `revoked` (§23.2 step 2:
    others cannot sign and are not counted)."""
    return [k for k in key_set.keys if k.usable and "exp" not in k.jwk and "revoked" not in k.jwk]


def ended_by(key_set, bound_ns):
    """Whether every other ES256 key's validity ends, the earlier of its `exp` and `revoked_at`,
    at or before bound_ns (§23.2 step 2)."""
    for k in key_set.keys:
        if not k.usable or ("exp" not in k.jwk and "revoked" not in k.jwk):
            continue
        if min(t for t in (k.exp, k.revoked_at) if t is not None) > bound_ns:
            return False
    return True


def names(key, kid):
    """Whether `kid` names `key` as §23.1 says: its explicit kid or its thumbprint."""
    return kid is not None and (kid == key.thumbprint or (key.kid is not None and kid == key.kid))


class KeyHistory:
    """The `key_history` check of §23.2 over a log, entry by entry."""

    def __init__(self, report):
        self.report = report
        self.any = False  # the log holds a key record (the check is not skipped)
        # The last key record step 1 read, whether or not steps 2 and 3 passed for it: "an earlier
        # key record was read" (step 3) and "the last key record" (the end); a malformed one is
        # passed over (§23.2).
        self.last = None
        self.last_index = None
        # The keys rotations read so far (step 1) handed over from: "A rotation's key record is its
        # outgoing key's last record" (§23.2), each as its rotation's keys hold it.
        self.retired = []

    def push(self, i, rec, event_bytes):
        """A readable record `rec` at index `i`; `event_bytes` its stored event when it matches the
        record (§13 step 3), else None."""
        kr = None
        obj = is_key_record(event_bytes) if event_bytes is not None else None
        if obj is not None:
            self.any = True
            # 1. read as §23.1 says; else its code, and nothing else is checked for it.
            try:
                kr = read_key_record(obj)
            except EvError as e:
                self.report.fail("key_history", e.name, i, e.message)
            else:
                self._steps(i, rec, kr)
        # "every later record (readable, of any event) whose kid names a key that a rotation read
        # so far handed over from is KEY_HISTORY_MISMATCH at that record": listed after the
        # record's own key record findings, also after KEY_RECORD_MALFORMED (§23.2 step 4).
        if any(names(k, rec.kid) for k in self.retired):
            self.report.fail("key_history", "KEY_HISTORY_MISMATCH", i,
                             "a record by a key a rotation handed over from, after that rotation's key record")
        if kr is not None and kr.change == "rotate":
            self.retired.append(kr.entry(kr.kid))

    def _steps(self, i, rec, kr):
        r = self.report
        # 2. who signed it: the record's kid selects a key of the record's own keys, valid at the
        # record's time; a rotation's is the outgoing key; a revocation's the log's current key,
        # "the one key of keys with neither exp nor revoked, and not the revoked key". After the
        # change, of the ES256 keys, exactly one has neither exp nor revoked (a rotation's incoming
        # key, a revocation's signer), and every other one's validity ends at or before at (a
        # rotation) or the record's time (a revocation): §23.2 step 2.
        key, failure = kr.keys.select(rec.kid)
        current = in_force(kr.keys)
        if failure is not None or key.validity_failure(rec.time_ns) is not None:
            r.fail("key_history", "KEY_HISTORY_MISMATCH", i,
                   "the record's kid selects no key of the record's keys valid at its time")
        elif kr.change == "rotate" and key is not kr.entry(kr.kid):
            r.fail("key_history", "KEY_HISTORY_MISMATCH", i, "a rotation not signed by the outgoing key")
        elif kr.change == "rotate" and (len(current) != 1 or current[0] is not kr.entry(kr.next)):
            r.fail("key_history", "KEY_HISTORY_MISMATCH", i,
                   "after the rotation, the incoming key is not the one key with neither exp nor revoked")
        elif kr.change == "revoke" and "exp" not in kr.entry(kr.kid).jwk:
            r.fail("key_history", "KEY_HISTORY_MISMATCH", i, "a revocation of a key that is not retired (no exp)")
        elif kr.change == "revoke" and (key is kr.entry(kr.kid) or len(current) != 1 or current[0] is not key):
            r.fail("key_history", "KEY_HISTORY_MISMATCH", i,
                   "a revocation not signed by the log's current key (the one key with neither exp nor revoked)")
        elif not ended_by(kr.keys, kr.at_ns if kr.change == "rotate" else rec.time_ns):
            r.fail("key_history", "KEY_HISTORY_MISMATCH", i,
                   "after the change another key stays valid past the current key's start")
        # 3. when an earlier key record was read: its keys with this change applied, compared as
        # written key sets.
        if self.last is not None:
            want = applied(self.last, kr)
            if want is None or canonical_set(want) != canonical_set([k.jwk for k in kr.keys.keys]):
                r.fail("key_history", "KEY_HISTORY_MISMATCH", i,
                       "the key record does not follow from the one before it")
        self.last = kr
        self.last_index = i

    def finish(self, key_set):
        """At the end of the log: the key set verified with must hold the same history as the last
        key record's keys (§23.2)."""
        if not self.any:
            self.report.skip("key_history")
            return
        if self.last is None:
            return
        if history(key_set) != history(self.last.keys):
            self.report.fail("key_history", "KEY_HISTORY_MISMATCH", self.last_index,
                             "the key set used does not hold the last key record's history")
