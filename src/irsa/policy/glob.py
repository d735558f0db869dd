"""IAM wildcard matching (``*`` and ``?`` only; no character classes, no escapes), in linear time.

A glob becomes a Python regular expression in which every ``*`` except the last is an *atomic* lazy
scan up to the next literal chunk: ``(?>.*?chunk)``. Atomic groups (Python >= 3.11) never give back what
they matched, so the engine cannot backtrack combinatorially: the leftmost occurrence of each middle chunk
is always the right choice for globs, and the final ``.*`` plus a fixed-length suffix costs O(n·k).
``*a*a*a*a*b`` against 2,000 characters is decided in microseconds (see benchmarks/policy_bench.py).

Variable substitution produces *literal* pieces: callers pass a sequence of ``(is_pattern, text)`` parts and
only pattern parts have their ``*``/``?`` treated as wildcards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

# A piece of a pattern: (True, "glob text") or (False, "literal text").
Part = tuple[bool, str]


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def _tokens(parts: Iterable[Part]) -> list[str | None]:
    """Flatten parts into literal strings and ``None`` for each ``*``; ``?`` becomes the token ``"\\x00?"``."""
    out: list[str | None] = []
    for is_pattern, text in parts:
        if not is_pattern:
            out.append(re.escape(text))
            continue
        buf: list[str] = []
        for ch in text:
            if ch == "*":
                out.append("".join(buf))
                buf = []
                out.append(None)
            elif ch == "?":
                buf.append("\x00ANY\x00")
            else:
                buf.append(re.escape(ch))
        out.append("".join(buf))
    return out


def glob_regex_source(parts: Iterable[Part], star: str = ".", one: str = ".") -> str:
    """Regex source (to be used with ``fullmatch`` and DOTALL) for a glob given as parts.

    ``star``/``one`` are the character class a ``*``/``?`` may consume (``.`` or ``[^:]``).
    """
    tokens = _tokens(parts)
    # Merge adjacent literals and collapse runs of stars.
    chunks: list[str] = []  # literal chunks between stars
    stars = 0
    current = ""
    prev_star = False
    for tok in tokens:
        if tok is None:
            if not prev_star:
                chunks.append(current)
                current = ""
                stars += 1
            prev_star = True
        else:
            current += tok
            if tok:
                prev_star = False
    chunks.append(current)
    chunks = [c.replace("\x00ANY\x00", one) for c in chunks]
    if stars == 0:
        return chunks[0]
    out = [chunks[0]]
    for middle in chunks[1:-1]:
        out.append(f"(?>{star}*?{middle})")
    out.append(f"{star}*{chunks[-1]}")
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_glob(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """A compiled matcher for one glob; use ``.fullmatch(text)``."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(glob_regex_source([(True, pattern)]), flags)


def glob_match(pattern: str, text: str, ignore_case: bool = False) -> bool:
    if not has_wildcard(pattern):
        return pattern.lower() == text.lower() if ignore_case else pattern == text
    return compile_glob(pattern, ignore_case).fullmatch(text) is not None


def alternation(sources: Sequence[str], flags: int = re.DOTALL) -> re.Pattern[str]:
    """One regex matching any of several glob regex sources (use ``fullmatch``)."""
    return re.compile("|".join(f"(?:{s})" for s in sources), flags)


# --- ARN-aware matching (Resource, NotResource, Arn* condition operators) -------------------------

def arn_regex_source(parts: Sequence[Part]) -> str:
    """Regex source for an ARN pattern given as parts (variables already resolved into literal parts).

    Wildcards stay inside their colon-separated segment for the first five segments (``arn``, partition,
    service, region, account); in the resource segment (after the 5th colon) ``*`` and ``?`` match any
    character, including ``/`` and ``:``. A ``*`` that ends a pattern with fewer than six segments expands
    across the remaining colons ("if the * wildcard is the last character of a resource ARN segment, it
    can expand to match beyond the colon boundaries", reference §1.3).
    """
    # Split the parts into segments at the first five colons of pattern text and literal text alike.
    segments: list[list[Part]] = [[]]
    for is_pattern, text in parts:
        while text:
            if len(segments) == 6:
                segments[-1].append((is_pattern, text))
                break
            head, sep, rest = text.partition(":")
            if head:
                segments[-1].append((is_pattern, head))
            if not sep:
                break
            segments.append([])
            text = rest
    out: list[str] = []
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        if i == 5:
            out.append(glob_regex_source(seg, ".", "."))
        elif i == last and seg and seg[-1][0] and seg[-1][1].endswith("*"):
            # trailing star of a short pattern crosses the remaining colons
            body = glob_regex_source(seg[:-1] + [(True, seg[-1][1][:-1])], "[^:]", "[^:]")
            out.append(f"(?>{body})" + ".*" if body else ".*")
        else:
            out.append(glob_regex_source(seg, "[^:]", "[^:]"))
    return ":".join(out)


@lru_cache(maxsize=4096)
def compile_arn(pattern: str) -> re.Pattern[str]:
    return re.compile(arn_regex_source([(True, pattern)]), re.DOTALL)
