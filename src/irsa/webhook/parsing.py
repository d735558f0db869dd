"""Value parsers that reproduce the Go standard-library behaviour upstream relies on.

All parsers are linear in the input and never raise on bad input: they return ``None``.
"""

from __future__ import annotations

import re

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_INT_RE = re.compile(r"[+-]?[0-9]{1,19}")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z]+){1,3}-[0-9]{1,2}")
_ROLE_ARN_RE = re.compile(r"arn:aws[a-z0-9-]*:iam::[0-9]{12}:role/[\w\-/.@+=,]+", re.ASCII)
_DURATION_PART_RE = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_SECONDS_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
MAX_REGION_LENGTH = 32
MAX_ROLE_ARN_LENGTH = 2048


def go_parse_bool(text: str) -> bool | None:
    """``strconv.ParseBool``: exactly 1,t,T,TRUE,true,True / 0,f,F,FALSE,false,False."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    return None


def go_parse_int64(text: str) -> int | None:
    """``strconv.ParseInt(s, 10, 64)``: optional sign, ASCII digits, int64 range; no spaces or '_'."""
    if not _INT_RE.fullmatch(text):
        return None
    value = int(text)
    if value < _INT64_MIN or value > _INT64_MAX:
        return None
    return value


def go_parse_duration(text: str) -> float | None:
    """``time.ParseDuration`` (e.g. ``100ms``, ``1m30s``, ``-2s``, ``0``) in seconds; a bare number is
    also accepted as seconds. ``None`` when invalid."""
    if len(text) > 64:
        return None
    if _SECONDS_RE.fullmatch(text):
        return float(text)
    return _go_duration(text)


def _go_duration(text: str) -> float | None:
    sign = -1.0 if text.startswith("-") else 1.0
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    if not body:
        return None
    total, pos = 0.0, 0
    while pos < len(body):
        match = _DURATION_PART_RE.match(body, pos)
        if match is None:
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    return sign * total


def go_csv_first_record(text: str) -> list[str] | None:
    """The first record of Go ``encoding/csv`` (default Reader: ',' separator, strict quotes, no trimming).

    Returns ``None`` where Go's ``Reader.Read`` returns an error (empty input = io.EOF, bare or
    unterminated quotes).
    """
    s = text.replace("\r\n", "\n")
    if s.endswith("\r"):
        s = s[:-1]
    n = len(s)
    pos = 0
    while pos < n and s[pos] == "\n":  # empty lines are skipped
        pos += 1
    if pos >= n:
        return None
    fields: list[str] = []
    while True:
        if pos >= n or s[pos] != '"':
            end = pos
            while end < n and s[end] != "," and s[end] != "\n":
                end += 1
            field = s[pos:end]
            if '"' in field:
                return None  # ErrBareQuote
            fields.append(field)
            if end < n and s[end] == ",":
                pos = end + 1
                continue
            return fields
        pos += 1
        parts: list[str] = []
        while True:
            quote = s.find('"', pos)
            if quote < 0:
                return None  # unterminated quoted field (ErrQuote)
            parts.append(s[pos:quote])
            pos = quote + 1
            if pos < n and s[pos] == '"':
                parts.append('"')
                pos += 1
                continue
            if pos < n and s[pos] == ",":
                fields.append("".join(parts))
                pos += 1
                break
            if pos >= n or s[pos] == "\n":
                fields.append("".join(parts))
                return fields
            return None  # ErrQuote: text after a closing quote


def go_path_clean(path: str) -> str:
    """``path.Clean``: collapse '//', drop '.', resolve '..', no trailing slash."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    joined = "/".join(out)
    if rooted:
        return "/" + joined
    return joined or "."


def go_path_join(*elements: str) -> str:
    """``filepath.Join`` on Unix: empty elements ignored, result cleaned, "" when all are empty."""
    kept = [e for e in elements if e]
    if not kept:
        return ""
    return go_path_clean("/".join(kept))


def windows_path(path: str) -> str:
    """The Windows form upstream writes into the token-file env var: ``"C:" + path with '\\'``."""
    return "C:" + path.replace("/", "\\")


def is_region(text: str) -> bool:
    """A syntactically valid AWS region name such as ``us-west-2`` or ``us-gov-east-1``."""
    return len(text) <= MAX_REGION_LENGTH and _REGION_RE.fullmatch(text) is not None


def looks_like_role_arn(text: str) -> bool:
    """Upstream's role-ARN check (a mismatch only logs a warning; the value is still used)."""
    return len(text) <= MAX_ROLE_ARN_LENGTH and _ROLE_ARN_RE.fullmatch(text) is not None
