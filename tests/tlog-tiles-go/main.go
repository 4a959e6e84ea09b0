// Command tlog-tiles-check reads a log published as C2SP tlog-tiles from a
// folder with Go's reference implementation of the tiled tree,
// golang.org/x/mod/sumdb/tlog (the tile hashes of C2SP tlog-tiles are its tiles
// of height 8), and golang.org/x/mod/sumdb/note for the checkpoint.
//
// Usage: tlog-tiles-check VKEY DIR
//
// It verifies the checkpoint's signature by VKEY, reads the tree's hashes through
// tlog.TileHashReader (which checks every tile it reads against the checkpoint's
// root), recomputes the root with tlog.TreeHash, and for every entry in the
// entry bundles checks that its record hash is the level-0 hash and that
// tlog.ProveRecord gives a proof tlog.CheckRecord accepts. It prints the number
// of entries and exits 0, or prints why and exits 1.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tiles reads tiles from a tlog-tiles folder: tlog names a tile of height 8
// tile/8/L/N[.p/W], and tlog-tiles drops the height.
type tiles struct{ dir string }

func (t tiles) Height() int { return 8 }

func (t tiles) ReadTiles(list []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(list))
	for i, tile := range list {
		path := "tile/" + strings.TrimPrefix(tile.Path(), "tile/8/")
		b, err := os.ReadFile(filepath.Join(t.dir, path))
		if err != nil {
			return nil, err
		}
		data[i] = b
	}
	return data, nil
}

func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tlog-tiles-check VKEY DIR")
		os.Exit(2)
	}
	dir := os.Args[2]
	verifier, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fail("verifier key: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("not a checkpoint of %s", verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("tree size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("root hash: %v", err)
	}
	tree := tlog.Tree{N: size, Hash: root}
	hashes := tlog.TileHashReader(tree, tiles{dir})
	got, err := tlog.TreeHash(size, hashes)
	if err != nil {
		fail("tree hash: %v", err)
	}
	if got != root {
		fail("the tiles give the root %v, the checkpoint says %v", got, root)
	}
	var index int64
	for bundle := int64(0); index < size; bundle++ {
		width := size - bundle*256
		if width > 256 {
			width = 256
		}
		tile := tlog.Tile{H: 8, L: 0, N: bundle, W: int(width)}
		path := "tile/entries/" + strings.TrimPrefix(tile.Path(), "tile/8/0/")
		data, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			fail("%v", err)
		}
		for len(data) > 0 {
			if len(data) < 2 || len(data) < 2+int(binary.BigEndian.Uint16(data)) {
				fail("%s: an entry is cut short", path)
			}
			length := int(binary.BigEndian.Uint16(data))
			entry := data[2 : 2+length]
			data = data[2+length:]
			leaf := tlog.RecordHash(entry)
			stored, err := hashes.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
			if err != nil {
				fail("entry %d: %v", index, err)
			}
			if stored[0] != leaf {
				fail("entry %d does not hash to its level-0 tile hash", index)
			}
			proof, err := tlog.ProveRecord(size, index, hashes)
			if err != nil {
				fail("entry %d: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, size, root, index, leaf); err != nil {
				fail("entry %d: %v", index, err)
			}
			index++
		}
		if index != bundle*256+width {
			fail("%s holds %d entries, not %d", path, index-bundle*256, width)
		}
	}
	fmt.Printf("verified: %d entries, root %v\n", size, root)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tlog-tiles-check: "+format+"\n", args...)
	os.Exit(1)
}
