"""Go standard-library behaviours the webhook reproduces (strconv, encoding/csv, path.Clean)."""

from __future__ import annotations

import pytest

from irsa.webhook.parsing import (
    go_csv_first_record,
    go_path_clean,
    go_path_join,
    is_region,
    looks_like_role_arn,
)


@pytest.mark.parametrize(
    ("text", "record"),
    [
        ("a,b", ["a", "b"]),
        ("a,", ["a", ""]),
        ('"a""b",c', ['a"b', "c"]),
        ('"multi\nline",x', ["multi\nline", "x"]),
        ("a\r\nb", ["a"]),
        ("a\r", ["a"]),
        ("", None),
        ("\n", None),
        ('a"', None),
        ('"a" ', None),
    ],
)
def test_go_csv_first_record(text, record):
    assert go_csv_first_record(text) == record


@pytest.mark.parametrize(
    ("path", "clean"),
    [("", "."), ("/", "/"), ("//a//b/", "/a/b"), ("a/../..", ".."), ("/../a", "/a"), ("./x/.", "x")],
)
def test_go_path_clean(path, clean):
    assert go_path_clean(path) == clean


def test_go_path_join():
    assert go_path_join("/var/run/", "token") == "/var/run/token"
    assert go_path_join("", "") == ""
    assert go_path_join("", "token") == "token"


def test_region_and_role_arn_shapes():
    assert is_region("us-east-1") and is_region("ap-southeast-2") and is_region("us-gov-west-1") and is_region("eu-isoe-west-1")
    assert not is_region("us-east") and not is_region("x" * 40) and not is_region("US-EAST-1")
    assert looks_like_role_arn("arn:aws:iam::111122223333:role/path/name@x")
    assert looks_like_role_arn("arn:aws-cn:iam::111122223333:role/r")
    assert not looks_like_role_arn("arn:aws:iam::1111:role/r")
    assert not looks_like_role_arn("arn:aws:iam::111122223333:user/r")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("100ms", 0.1), ("1m30s", 90.0), ("2s", 2.0), ("0", 0.0), ("1.5", 1.5), (".5s", 0.5), ("1h", 3600.0),
     ("", None), ("abc", None), ("1s2", None), ("ms", None), ("1d", None)],
)
def test_go_parse_duration(text, seconds):
    from irsa.webhook.parsing import go_parse_duration

    assert go_parse_duration(text) == seconds
