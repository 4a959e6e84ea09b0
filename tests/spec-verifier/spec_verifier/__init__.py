"""An independent Evidentia verifier written from SPEC.md alone (standard library only)."""
