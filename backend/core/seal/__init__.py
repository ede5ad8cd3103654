"""Seal-style encryption, pure: Shamir t-of-m over GF(256), X25519 share envelopes and the
versioned encrypted-blob header (docs/seal.md)."""
