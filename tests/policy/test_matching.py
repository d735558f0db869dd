"""Action / Resource matching and the JSON position tokenizer.

Expected values are from AWS's policy-element pages as quoted in reference §1.3: actions match
case-insensitively; resources case-sensitively, wildcards per ARN segment, ``*`` crossing ``/`` in the
resource part, a trailing ``*`` crossing colons.
"""

from __future__ import annotations

import json

import pytest

from irsa.policy import Context, PolicyKind, Principal, Request, compile_policy, evaluate
from irsa.policy.glob import compile_arn, compile_glob, glob_match
from irsa.policy.jsontext import JsonSyntaxError, LineIndex, parse

USER = Principal("arn:aws:iam::111122223333:user/alice", "111122223333", kind="user")


def identity(statement: dict) -> object:
    return compile_policy(json.dumps({"Version": "2012-10-17", "Statement": statement}), PolicyKind.IDENTITY, "p")


def decide(statement: dict, action: str, resource: str = "*", context: Context | None = None) -> str:
    return evaluate(Request(USER, action, resource, context), identity=[identity(statement)]).result  # type: ignore[list-item]


# --- actions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["iam:ListAccessKeys", "IAM:listaccesskeys", "Iam:LISTACCESSKEYS"])
def test_action_case_insensitive(action: str) -> None:
    # "iam:ListAccessKeys is the same as IAM:listaccesskeys" (reference_policies_elements_action)
    assert decide({"Effect": "Allow", "Action": "iam:listAccessKeys", "Resource": "*"}, action) == "allowed"


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:Get*", "s3:GetObject", "allowed"),
        ("s3:Get*", "s3:PutObject", "implicitDeny"),
        ("s3:Get*", "s3-object-lambda:GetObject", "implicitDeny"),  # the vendor is not a prefix match
        ("s3:*Object", "s3:GetObject", "allowed"),
        ("s3:Get?bject", "s3:GetObject", "allowed"),
        ("s3:Get?bject", "s3:GetObjject", "implicitDeny"),
        ("*", "ec2:RunInstances", "allowed"),
        ("s3:*", "S3:anything", "allowed"),
        ("s3:[G]etObject", "s3:GetObject", "implicitDeny"),  # no character classes in IAM globs
    ],
)
def test_action_wildcards(pattern: str, action: str, expected: str) -> None:
    assert decide({"Effect": "Allow", "Action": pattern, "Resource": "*"}, action) == expected


def test_not_action_scopes_across_all_services() -> None:
    # NotAction matches every action that matches none of the listed patterns, in every service.
    st = {"Effect": "Allow", "NotAction": ["iam:*", "s3:Delete*"], "Resource": "*"}
    assert decide(st, "ec2:RunInstances") == "allowed"
    assert decide(st, "s3:GetObject") == "allowed"
    assert decide(st, "s3:DeleteBucket") == "implicitDeny"
    assert decide(st, "IAM:CreateUser") == "implicitDeny"


# --- resources --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "resource", "expected"),
    [
        # the S3 example of reference_policies_elements_resource: * crosses "/" in the resource part
        ("arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/1///test///object.jpg", True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k", True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::B/k", False),  # case-sensitive
        ("arn:aws:s3:::b/k", "arn:aws:s3:::b/K", False),
        ("arn:aws:iam::111122223333:user/Alice", "arn:aws:iam::111122223333:user/alice", False),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/k", True),
        ("arn:aws:s3:::b/?", "arn:aws:s3:::b/kk", False),
        # wildcards stay in their segment before the resource part
        ("arn:aws:ec2:*:111122223333:instance/*", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", True),
        ("arn:aws:ec2:us-*:111122223333:instance/*", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", True),
        ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:111122223333:volume/v-1", False),
        ("arn:aws:ec2:*1:111122223333:instance/x", "arn:aws:ec2:us-east-1:9:111122223333:instance/x", False),
        # a trailing * of a short pattern expands beyond the colons
        ("arn:aws:ec2:*", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", True),
        ("arn:aws:ec2:us-east-1:*", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", True),
        ("arn:aws:ec2:us-west-2:*", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", False),
        # the resource part keeps its colons
        ("arn:aws:logs:us-east-1:111122223333:log-group:g:*", "arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s", True),
    ],
)
def test_resource_patterns(pattern: str, resource: str, expected: bool) -> None:
    st = {"Effect": "Allow", "Action": "*", "Resource": pattern}
    assert (decide(st, "svc:Do", resource) == "allowed") is expected


def test_not_resource() -> None:
    st = {"Effect": "Allow", "Action": "s3:*", "NotResource": ["arn:aws:s3:::secret", "arn:aws:s3:::secret/*"]}
    assert decide(st, "s3:GetObject", "arn:aws:s3:::public/k") == "allowed"
    assert decide(st, "s3:GetObject", "arn:aws:s3:::secret/k") == "implicitDeny"


def test_wildcard_only_action_resources() -> None:
    # Decision for reference §6 item 1: "*" and an all-resources-of-the-service pattern grant a wildcard-only
    # action (AWS's own example grants s3:ListAllMyBuckets with "arn:aws:s3:::*"); a bucket ARN does not.
    assert decide({"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}, "s3:ListAllMyBuckets") == "allowed"
    assert decide({"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::*"},
                  "s3:ListAllMyBuckets") == "allowed"
    assert decide({"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "arn:aws:s3:::my-bucket"},
                  "s3:ListAllMyBuckets") == "implicitDeny"
    assert decide({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:ec2:::*"}, "s3:ListAllMyBuckets") == "implicitDeny"


# --- glob engine ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*", "", True),
        ("", "", True),
        ("a*", "a", True),
        ("*a", "ba", True),
        ("*a*b", "xaxxb", True),
        ("*a*b", "xbxxa", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("**", "xyz", True),
        ("a.c", "abc", False),  # regex metacharacters are literal
        ("a+(b)|c", "a+(b)|c", True),
        ("*ab*ab*", "abab", True),
        ("*ab*ab*", "aba", False),
    ],
)
def test_glob(pattern: str, text: str, expected: bool) -> None:
    assert glob_match(pattern, text) is expected


def test_pathological_patterns_are_decided() -> None:
    # Naive translation needs exponential time here (reference §5: 84 s at 400 chars); ours is linear.
    long = "a" * 2000
    assert compile_glob("*a*a*a*a*b").fullmatch(long) is None
    assert compile_glob("*a*a*a*a*a*a*a*a*a*a*").fullmatch(long) is not None
    assert compile_arn("arn:aws:s3:::*a*a*a*a*b").fullmatch("arn:aws:s3:::" + long) is None
    st = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::*a*a*a*a*b"}
    assert decide(st, "s3:GetObject", "arn:aws:s3:::" + long) == "implicitDeny"


# --- tokenizer --------------------------------------------------------------------------------


def test_positions_of_statements() -> None:
    # aws-cli simulate-custom-policy example: Start {1, 38}, End {1, 167} for this 167-char document.
    text = ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
            '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}')
    assert len(text) == 167
    (st,) = compile_policy(text, PolicyKind.IDENTITY).statements
    assert (st.start, st.end) == ((1, 38), (1, 167))


def test_positions_multiline() -> None:
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",\n     "Action": "s3:*",' \
           ' "Resource": "*"\n    },\n    {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}\n  ]\n}'
    a, b = compile_policy(text, PolicyKind.IDENTITY).statements
    assert a.start == (4, 6) and a.end == (6, 6)
    # closing "}" is at 0-based index 62 of line 7, so the column is 62 + 2 (reference §4.2 derived rule)
    assert b.start == (7, 6) and b.end == (7, 64)


def test_tokenizer_rejects_bad_json() -> None:
    for bad in ['{"a":1,}', "[1 2]", '{"a" 1}', '"\x01"', "01", "{'a':1}", '{"a":1}{}', "tru"]:
        with pytest.raises(JsonSyntaxError):
            parse(bad)


def test_tokenizer_spans_and_lines() -> None:
    node = parse(' {"k": [1, "x"]} ')
    assert (node.start, node.end) == (1, 16)
    assert LineIndex("ab\ncd\n").line_col(4) == (2, 2)
