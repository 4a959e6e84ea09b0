"""SPEC §24: a log published as C2SP tlog-tiles, and §24.2 verifying a publication."""
import os

from . import checkpoints, merkle
from .errors import EvError
from .log import LogVerifier

WIDTH = 256


def _corrupt(msg):
    raise EvError("LOG_CORRUPT", msg)


def index_path(n, width):
    """§24: N in zero-padded groups of three digits, all but the last prefixed with x; then
    `.p/<W>` for a partial tile."""
    groups = []
    while True:
        groups.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    path = "/".join([f"x{g:03d}" for g in groups[:-1]] + [f"{groups[-1]:03d}"])
    return path if width == WIDTH else f"{path}.p/{width}"


def tiles_at(size, level):
    """(index, width) of the tiles of level `level` for a tree of `size` leaves, one by one: the
    full ones, then a partial one."""
    nodes = size // (WIDTH ** level)
    for n in range(nodes // WIDTH):
        yield n, WIDTH
    if nodes % WIDTH:
        yield nodes // WIDTH, nodes % WIDTH


def width_of(size, level, n):
    """The width of tile `n` of level `level` in a tree of `size` leaves."""
    nodes = size // (WIDTH ** level)
    return WIDTH if n < nodes // WIDTH else nodes % WIDTH


def _read(root, path, limit):
    """A file of the publication; none at all, or more than `limit` bytes (more than any such
    file holds), is LOG_CORRUPT."""
    p = os.path.join(root, *path.split("/"))
    if os.path.islink(p) or not os.path.isfile(p):
        _corrupt(f"{path} is missing")
    with open(p, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        _corrupt(f"{path} is longer than any such file")
    return data


def read_tile(root, level, n, width):
    data = _read(root, f"tile/{level}/{index_path(n, width)}", 32 * WIDTH)
    if len(data) != 32 * width:
        _corrupt(f"tile {level}/{n} is {len(data)} bytes, not {32 * width}")
    return [data[i:i + 32] for i in range(0, len(data), 32)]


def read_bundle(root, n, width):
    data = _read(root, f"tile/entries/{index_path(n, width)}", WIDTH * (2 + 65535))
    entries = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            _corrupt(f"bundle {n}: a length is cut short")
        length = int.from_bytes(data[pos:pos + 2], "big")
        if pos + 2 + length > len(data):
            _corrupt(f"bundle {n}: an entry is cut short")
        entries.append(data[pos + 2:pos + 2 + length])
        pos += 2 + length
    if len(entries) != width:
        _corrupt(f"bundle {n} holds {len(entries)} entries, not {width}")
    return entries


class _TilesVerifier(LogVerifier):
    """§13 over the bundles' records as a batch-signed log; step 9's stored hashes are the tiles'
    (a tree node at level 8L is hash number i % 256 of tile i // 256 of level L)."""

    def __init__(self, key_set, cp, root):
        super().__init__(key_set, "batch", expected_log_id=cp.origin, require_events=False, checkpoints_list=[cp])
        self.root_dir = root
        self.size = cp.size
        self.tiles = {}  # level -> (index, hashes)

    def _stored(self, level, node):
        n = node // WIDTH
        held = self.tiles.get(level)
        if held is None or held[0] != n:
            held = (n, read_tile(self.root_dir, level, n, width_of(self.size, level, n)))
            self.tiles[level] = held
        return held[1][node % WIDTH]

    def _tree_push(self, leaf, i):
        nodes = self.tree.push(leaf)
        j = self.tree.size - 1
        for level, h in nodes:
            if level % 8:
                continue
            node = (j + 1) // (2 ** level) - 1
            if h is None or self._stored(level // 8, node) != h:
                self.report.fail("tree", "TREE_MISMATCH", i)


def verify_publication(root, key_set):
    """§24.2: the checkpoint read and its signature checked alone (§10) first; then each level-0
    tile's bundle and tile, every record verified (§13, batch-signed, no events) and every tile
    hash compared as the record completing it is pushed; the checkpoint as a stored one last."""
    # §24.2: read as §10 reads a checkpoint: more than a note may hold is CHECKPOINT_MALFORMED.
    p = os.path.join(root, "checkpoint")
    if not os.path.lexists(p):
        _corrupt("checkpoint is missing")
    if os.path.islink(p) or not os.path.isfile(p):
        raise EvError("CHECKPOINT_MALFORMED", "checkpoint is not a file")
    with open(p, "rb") as f:
        cp = checkpoints.read(f.read(checkpoints.MAX_NOTE + 1))
    checkpoints.verify_alone(cp, key_set)
    v = _TilesVerifier(key_set, cp, root)
    for n, width in tiles_at(cp.size, 0):
        entries = read_bundle(root, n, width)
        read_tile(root, 0, n, width)  # its length is checked before any of its records (step 1)
        for entry in entries:
            v.push((2, entry, None))
    return v.finish()
