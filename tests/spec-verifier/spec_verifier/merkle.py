"""SPEC §9: RFC 6962/9162 Merkle tree, inclusion and consistency proofs and their JSON forms."""
import hashlib

from . import jcs
from .errors import EvError
from .util import b64std_decode

MAX_COUNT = 2 ** 53 - 1


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def root_of(leaves):
    """MTH of a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


class CompactTree:
    """Incremental root: a stack of perfect-subtree hashes (None for an unknown leaf)."""

    def __init__(self):
        self.stack = []  # (height, hash or None)
        self.size = 0
        self.completed = []  # per leaf: list of (level, hash) nodes it completes

    def push(self, h):
        nodes = [(0, h)]
        level = 0
        cur = h
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            cur = None if left is None or cur is None else node_hash(left, cur)
            level += 1
            nodes.append((level, cur))
        self.stack.append((level, cur))
        self.size += 1
        return nodes

    def root(self):
        if not self.stack:
            return EMPTY_ROOT
        acc = None
        for _, h in reversed(self.stack):
            if h is None:
                return None
            acc = h if acc is None else node_hash(h, acc)
        return acc


class InclusionProof:
    def __init__(self, leaf_index, tree_size, hashes):
        self.leaf_index = leaf_index
        self.tree_size = tree_size
        self.hashes = hashes


class ConsistencyProof:
    def __init__(self, old_size, new_size, hashes):
        self.old_size = old_size
        self.new_size = new_size
        self.hashes = hashes


def _count(v):
    if not jcs.is_int(v) or v < 0 or v > MAX_COUNT:
        raise EvError("PROOF_MALFORMED", "a count is not an integer in 0..2^53-1")
    return int(v)


def _hashes(v):
    if not isinstance(v, list):
        raise EvError("PROOF_MALFORMED", "hashes is not an array")
    out = []
    for h in v:
        raw = b64std_decode(h) if isinstance(h, str) else None
        if raw is None or len(raw) != 32:
            raise EvError("PROOF_MALFORMED", "a hash is not 32 bytes of standard base64")
        out.append(raw)
    return out


def _read_obj(data, members, typ):
    if isinstance(data, (bytes, str)):
        try:
            obj = jcs.parse(data)
        except EvError as e:
            raise EvError("PROOF_MALFORMED", "proof is not JSON: " + e.message)
    else:
        obj = data
    if not isinstance(obj, dict) or set(obj) != set(members):
        raise EvError("PROOF_MALFORMED", "proof members are not exactly " + ", ".join(members))
    if obj["type"] != typ:
        raise EvError("PROOF_MALFORMED", "proof type is not " + typ)
    return obj


def read_inclusion(data):
    o = _read_obj(data, ("hashes", "leaf_index", "tree_size", "type"), "inclusion")
    hashes = _hashes(o["hashes"])
    idx, size = _count(o["leaf_index"]), _count(o["tree_size"])
    if idx >= size:
        raise EvError("PROOF_MALFORMED", "leaf index not below the tree size")
    return InclusionProof(idx, size, hashes)


def read_consistency(data):
    o = _read_obj(data, ("hashes", "new_size", "old_size", "type"), "consistency")
    hashes = _hashes(o["hashes"])
    old, new = _count(o["old_size"]), _count(o["new_size"])
    if old == 0:
        raise EvError("PROOF_MALFORMED", "consistency proof from the empty tree")
    if old > new:
        raise EvError("PROOF_MALFORMED", "old size above the new size")
    return ConsistencyProof(old, new, hashes)


def inclusion_root(index, size, leaf, hashes):
    """RFC 9162 §2.1.3.2: the root the audit path leads to, or None when it cannot."""
    if index >= size:
        return None
    fn, sn = index, size - 1
    r = leaf
    for p in hashes:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(proof, leaf, root):
    return inclusion_root(proof.leaf_index, proof.tree_size, leaf, proof.hashes) == root


def verify_consistency(old_size, new_size, hashes, old_root, new_root):
    """RFC 9162 §2.1.4.2 (old_size >= 1)."""
    if old_size == new_size:
        return not hashes and old_root == new_root
    if old_size > new_size or old_size == 0:
        return False
    if not hashes:
        return False
    path = list(hashes)
    if old_size & (old_size - 1) == 0:  # a power of two
        path = [old_root] + path
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
