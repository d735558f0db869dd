"""Local clusters: issuer, signing keys, ServiceAccount registry and projected tokens."""
