"""When to refresh a projected token: the kubelet's rule (reference issuer-cli-and-doctor.md §1.9).

The kubelet rotates a projected service-account token when it is older than 80% of its lifetime, or
older than 24 hours, whichever comes first, minus a small random jitter (up to 10 s in the kubelet's
token manager) so that many pods do not refresh in lockstep. Pure: times are plain seconds on any clock.
"""

from __future__ import annotations

REFRESH_FRACTION = 0.8
MAX_TOKEN_AGE = 24 * 3600.0
MAX_JITTER = 10.0
RETRY_SECONDS = 10.0  # after a failed TokenRequest the old token stays in place; try again this much later


def refresh_at(issued_at: float, expires_at: float, jitter: float = 0.0) -> float:
    """The time to fetch a new token for one issued at ``issued_at`` that expires at ``expires_at``.

    ``jitter`` (0 <= jitter <= MAX_JITTER) moves the refresh earlier, never before issuance.
    """
    if not 0.0 <= jitter <= MAX_JITTER:
        raise ValueError(f"jitter must be within [0, {MAX_JITTER}]")
    lifetime = max(0.0, expires_at - issued_at)
    return max(issued_at, issued_at + min(lifetime * REFRESH_FRACTION, MAX_TOKEN_AGE) - jitter)


def retry_at(now: float) -> float:
    """The next attempt after a failed refresh."""
    return now + RETRY_SECONDS
