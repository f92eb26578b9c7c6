"""A minimal KMS (symmetric encryption keys, aliases, envelope encryption) for functions'
code that calls KMS: docs/security.md "KMS"."""
