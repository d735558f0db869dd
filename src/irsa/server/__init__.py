"""The HTTP adapter of the identity service."""
