// Command signed-note-check verifies a signed note with Go's reference
// implementation of C2SP signed notes, golang.org/x/mod/sumdb/note, and reads it
// as a C2SP checkpoint with golang.org/x/mod/sumdb/tlog's hash format.
//
// Usage: signed-note-check VKEY NOTE-FILE
//
// It prints the verified text and exits 0, or prints why and exits 1. Evidentia's
// tests run it on checkpoints signed with a log's Ed25519 note key.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: signed-note-check VKEY NOTE-FILE")
		os.Exit(2)
	}
	verifier, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fail("verifier key: %v", err)
	}
	msg, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("%v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("not a checkpoint of %s", verifier.Name())
	}
	if _, err := strconv.ParseUint(lines[1], 10, 64); err != nil {
		fail("tree size: %v", err)
	}
	if _, err := tlog.ParseHash(lines[2]); err != nil {
		fail("root hash: %v", err)
	}
	fmt.Print(n.Text)
	for _, sig := range n.Sigs {
		fmt.Printf("verified: %s %08x\n", sig.Name, sig.Hash)
	}
	fmt.Printf("ignored: %d other signature(s)\n", len(n.UnverifiedSigs))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "signed-note-check: "+format+"\n", args...)
	os.Exit(1)
}
