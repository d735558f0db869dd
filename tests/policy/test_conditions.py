"""Condition operators, one family at a time, plus set operators, missing keys and policy variables.

Every expectation is derived by hand from AWS's documented rules (reference §1.4: condition operators page,
"multiple context keys or values" page, policy-variables page), not from what the code prints.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from irsa.policy import Context, PolicyKind, Principal, Request, compile_policy, evaluate

USER = Principal("arn:aws:iam::111122223333:user/alice", "111122223333", kind="user")


def allowed(condition: dict[str, Any], context: Context | None = None, version: str = "2012-10-17",
            resource_policy: bool = False, resource: str = "*") -> bool:
    st: dict[str, Any] = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource, "Condition": condition}
    doc: dict[str, Any] = {"Version": version, "Statement": st} if version else {"Statement": st}
    if resource_policy:
        st["Principal"] = {"AWS": "arn:aws:iam::111122223333:user/alice"}
        p = compile_policy(json.dumps(doc), PolicyKind.RESOURCE, "rp")
        return evaluate(Request(USER, "s3:GetObject", "arn:aws:s3:::b/k", context), resource_policy=p).allowed
    p = compile_policy(json.dumps(doc), PolicyKind.IDENTITY, "p")
    return evaluate(Request(USER, "s3:GetObject", "*", context), identity=[p]).allowed


def ctx(**values: Any) -> Context:
    return Context.from_strings({k.replace("__", ":"): v for k, v in values.items()})


# --- String ---------------------------------------------------------------------------------------


def test_string_equals_is_case_sensitive() -> None:
    c = {"StringEquals": {"aws:username": "alice"}}
    assert allowed(c, ctx(aws__username="alice"))
    assert not allowed(c, ctx(aws__username="Alice"))


def test_string_equals_ignore_case() -> None:
    c = {"StringEqualsIgnoreCase": {"aws:username": "ALICE"}}
    assert allowed(c, ctx(aws__username="alice"))
    assert not allowed({"StringNotEqualsIgnoreCase": {"aws:username": "ALICE"}}, ctx(aws__username="alice"))


def test_string_like_wildcards() -> None:
    c = {"StringLike": {"s3:prefix": ["home/alice/*", "pub?"]}}
    assert allowed(c, ctx(s3__prefix="home/alice/docs/x"))
    assert allowed(c, ctx(s3__prefix="pubs"))
    assert not allowed(c, ctx(s3__prefix="pub"))
    assert not allowed(c, ctx(s3__prefix="home/bob/x"))


def test_string_like_star_crosses_colons_unlike_arn_like() -> None:
    # reference §1.4 "StringLike vs ArnLike" example
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    # StringLike: the * crosses the colons... but the account segment 999.. is literal text in the middle:
    # "*" after "someservice:" swallows "us-east-2:999999999999:store/abc" and ":111122223333:finance/" follows.
    assert allowed({"StringLike": {"aws:SourceArn": pattern}}, ctx(aws__SourceArn=value))
    assert not allowed({"ArnLike": {"aws:SourceArn": pattern}}, ctx(aws__SourceArn=value))


def test_negated_string_operator_over_several_values_is_nor() -> None:
    # "the request value must match none of them"
    c = {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
    assert allowed(c, ctx(aws__RequestedRegion="ap-south-1"))
    assert not allowed(c, ctx(aws__RequestedRegion="eu-west-1"))
    assert not allowed({"StringNotLike": {"aws:RequestedRegion": ["us-*", "eu-*"]}}, ctx(aws__RequestedRegion="us-west-2"))


def test_positive_operator_over_several_values_is_or() -> None:
    c = {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
    assert allowed(c, ctx(aws__RequestedRegion="eu-west-1"))


def test_condition_key_names_are_case_insensitive() -> None:
    c = {"StringEquals": {"AWS:SourceIP": "x"}}
    assert allowed(c, ctx(aws__sourceip="x"))
    assert allowed({"StringEquals": {"aws:ResourceTag/TagKey1": "v"}}, ctx(**{"aws__resourcetag/tagkey1": "v"}))


def test_several_operators_and_keys_are_anded() -> None:
    c = {"StringEquals": {"aws:username": "alice", "aws:RequestedRegion": "us-east-1"},
         "Bool": {"aws:SecureTransport": "true"}}
    full = ctx(aws__username="alice", aws__RequestedRegion="us-east-1", aws__SecureTransport="true")
    assert allowed(c, full)
    assert not allowed(c, ctx(aws__username="alice", aws__RequestedRegion="us-east-1", aws__SecureTransport="false"))
    assert not allowed(c, ctx(aws__username="alice", aws__SecureTransport="true"))


# --- Numeric ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "policy", "request_value", "expected"),
    [
        ("NumericEquals", "10", "10.0", True),
        ("NumericEquals", "10", "11", False),
        ("NumericNotEquals", "10", "11", True),
        ("NumericLessThan", "10", "9.5", True),
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10", True),
        ("NumericGreaterThan", "10", "-1", False),
        ("NumericGreaterThanEquals", "10", "10", True),
        ("NumericLessThan", "10", "not-a-number", False),
    ],
)
def test_numeric(op: str, policy: str, request_value: str, expected: bool) -> None:
    c = Context().add("s3:max-keys", request_value, "numeric")
    assert allowed({op: {"s3:max-keys": policy}}, c) is expected


def test_numeric_policy_value_as_json_number() -> None:
    # The grammar allows numbers as condition values.
    assert allowed({"NumericLessThanEquals": {"s3:max-keys": 10}}, Context().add("s3:max-keys", 3, "numeric"))


# --- Date ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "policy", "request_value", "expected"),
    [
        ("DateGreaterThan", "2018-08-16T12:00:00Z", "2019-04-25T11:00:00Z", True),  # aws-cli example
        ("DateGreaterThan", "2018-08-16T12:00:00Z", "2014-04-25T11:00:00Z", False),  # aws-cli example
        ("DateEquals", "2020-01-01T00:00:00Z", "1577836800", True),  # epoch seconds
        ("DateEquals", "2020-01-01", "2020-01-01T00:00:00+00:00", True),
        ("DateLessThan", "2020-01-01T01:00:00+01:00", "2020-01-01T00:00:00Z", False),  # same instant
        ("DateLessThanEquals", "2020-01-01T01:00:00+01:00", "2020-01-01T00:00:00Z", True),
        ("DateNotEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", True),
        ("DateGreaterThanEquals", "1577836800", "2020-01-01T00:00:00.5Z", True),
    ],
)
def test_date(op: str, policy: str, request_value: str, expected: bool) -> None:
    c = Context().add("aws:CurrentTime", request_value, "date")
    assert allowed({op: {"aws:CurrentTime": policy}}, c) is expected


# --- Bool, Binary ------------------------------------------------------------------------------------


def test_bool() -> None:
    assert allowed({"Bool": {"aws:SecureTransport": "true"}}, Context().add("aws:SecureTransport", True, "boolean"))
    assert not allowed({"Bool": {"aws:SecureTransport": "true"}}, Context().add("aws:SecureTransport", False, "boolean"))
    assert allowed({"Bool": {"aws:SecureTransport": False}}, ctx(aws__SecureTransport="false"))
    # The classic "deny unless MFA" uses BoolIfExists; without the key it is true.
    assert allowed({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, ctx())


def test_binary_equals() -> None:
    # base64 of the bytes, compared byte for byte
    assert allowed({"BinaryEquals": {"k:bin": "QmluYXJ5VmFsdWU="}}, ctx(k__bin="QmluYXJ5VmFsdWU="))
    assert not allowed({"BinaryEquals": {"k:bin": "QmluYXJ5VmFsdWU="}}, ctx(k__bin="QmluYXJ5VmFsdWF="))


# --- IP ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "cidr", "ip", "expected"),
    [
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
        ("IpAddress", "203.0.113.0/24", "203.0.114.7", False),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),  # a bare address means /32
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
        ("NotIpAddress", "203.0.113.0/24", "203.0.113.1", False),
        ("IpAddress", "2001:DB8:1234:5678::/64", "2001:db8:1234:5678::abcd", True),
        ("IpAddress", "2001:DB8:1234:5678::/64", "2001:db8:1234:5679::1", False),
        ("IpAddress", "2001:DB8::/32", "203.0.113.7", False),  # families do not mix
    ],
)
def test_ip(op: str, cidr: str, ip: str, expected: bool) -> None:
    assert allowed({op: {"aws:SourceIp": cidr}}, Context().add("aws:SourceIp", ip, "ip")) is expected


# --- ARN ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "pattern", "value", "expected"),
    [
        ("ArnLike", "arn:aws:iam::111122223333:role/*", "arn:aws:iam::111122223333:role/dev/app", True),
        ("ArnLike", "arn:aws:iam::*:role/app", "arn:aws:iam::444455556666:role/app", True),
        ("ArnEquals", "arn:aws:iam::111122223333:role/app", "arn:aws:iam::111122223333:role/app", True),
        ("ArnEquals", "arn:aws:iam::111122223333:role/app", "arn:aws:iam::111122223333:role/App", False),
        ("ArnNotLike", "arn:aws:iam::111122223333:*", "arn:aws:iam::444455556666:role/app", True),
        ("ArnNotEquals", "arn:aws:iam::111122223333:role/app", "arn:aws:iam::111122223333:role/app", False),
    ],
)
def test_arn(op: str, pattern: str, value: str, expected: bool) -> None:
    assert allowed({op: {"aws:PrincipalArn": pattern}}, ctx(aws__PrincipalArn=value)) is expected


# --- Null and missing keys ---------------------------------------------------------------------------


def test_null() -> None:
    assert allowed({"Null": {"aws:TokenIssueTime": "true"}}, ctx())  # absent -> "true" holds
    assert not allowed({"Null": {"aws:TokenIssueTime": "true"}}, ctx(aws__TokenIssueTime="2020-01-01T00:00:00Z"))
    assert allowed({"Null": {"aws:TokenIssueTime": "false"}}, ctx(aws__TokenIssueTime="2020-01-01T00:00:00Z"))
    assert not allowed({"Null": {"aws:TokenIssueTime": "false"}}, ctx())


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        # absent key: positive operator false, negated true, IfExists true (reference §1.4 table)
        ("StringEquals", False),
        ("StringNotEquals", True),
        ("StringLike", False),
        ("StringNotLike", True),
        ("NumericEquals", False),
        ("NumericNotEquals", True),
        ("DateEquals", False),
        ("DateNotEquals", True),
        ("IpAddress", False),
        ("NotIpAddress", True),
        ("ArnLike", False),
        ("ArnNotLike", True),
        ("StringEqualsIfExists", True),
        ("NumericLessThanIfExists", True),
        ("IpAddressIfExists", True),
        ("ArnLikeIfExists", True),
        ("DateLessThanIfExists", True),
        ("BoolIfExists", True),
        ("BinaryEqualsIfExists", True),
    ],
)
def test_absent_key(op: str, expected: bool) -> None:
    values = {"Numeric": "1", "Date": "2020-01-01T00:00:00Z", "IpAddr": "10.0.0.0/8", "NotIpAddr": "10.0.0.0/8",
              "ArnLik": "arn:aws:iam::1:x", "ArnNotLik": "arn:aws:iam::1:x", "Bool": "true", "Binary": "AA=="}
    value = next((v for k, v in values.items() if op.startswith(k)), "x")
    assert allowed({op: {"k:absent": value}}, ctx(other="1")) is expected


def test_if_exists_still_compares_when_present() -> None:
    assert not allowed({"StringEqualsIfExists": {"ec2:InstanceType": "t3.micro"}}, ctx(ec2__InstanceType="m5.large"))
    assert allowed({"StringEqualsIfExists": {"ec2:InstanceType": "t3.micro"}}, ctx(ec2__InstanceType="t3.micro"))


# --- set operators -----------------------------------------------------------------------------------


def tags(*values: str) -> Context:
    return Context().add("aws:TagKeys", list(values), "stringList")


def test_for_all_values() -> None:
    c = {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}
    assert allowed(c, tags("environment"))
    assert allowed(c, tags("environment", "cost-center"))
    assert not allowed(c, tags("environment", "owner"))
    # absent key and empty set -> true ("also returns true if ... a null data set")
    assert allowed(c, ctx())
    assert allowed(c, tags())


def test_for_any_value() -> None:
    c = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}
    assert allowed(c, tags("owner", "environment"))
    assert not allowed(c, tags("owner"))
    # absent key and empty set -> false
    assert not allowed(c, ctx())
    assert not allowed(c, tags())


def test_for_all_values_with_negated_operator() -> None:
    # every request value equals none of the policy values
    c = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret", "admin"]}}
    assert allowed(c, tags("a", "b"))
    assert not allowed(c, tags("a", "admin"))
    c_any = {"ForAnyValue:StringNotLike": {"aws:TagKeys": ["sec*"]}}
    assert allowed(c_any, tags("secret", "public"))
    assert not allowed(c_any, tags("secret", "security"))


def test_for_all_values_like() -> None:
    c = {"ForAllValues:StringLike": {"aws:TagKeys": ["team-*"]}}
    assert allowed(c, tags("team-a", "team-b"))
    assert not allowed(c, tags("team-a", "owner"))


def test_single_valued_operator_on_multi_valued_key_never_matches() -> None:
    assert not allowed({"StringEquals": {"aws:TagKeys": "a"}}, tags("a", "b"))
    assert allowed({"StringEquals": {"aws:TagKeys": "a"}}, tags("a"))


def test_for_any_value_null_acts_as_null() -> None:
    assert allowed({"ForAnyValue:Null": {"aws:TagKeys": "true"}}, ctx())


# --- policy variables --------------------------------------------------------------------------------


def test_variable_in_condition() -> None:
    c = {"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}
    assert allowed(c, ctx(aws__username="alice", **{"aws__PrincipalTag/team": "alice"}))
    assert not allowed(c, ctx(aws__username="alice", **{"aws__PrincipalTag/team": "bob"}))


def test_variable_key_name_case_insensitive() -> None:
    c = {"StringEquals": {"s3:prefix": "${AWS:UserName}"}}
    assert allowed(c, ctx(aws__username="alice", s3__prefix="alice"))


def test_substituted_value_is_literal() -> None:
    # a * inside a tag value is not a wildcard (iam-simulate StringLike tests, reference §1.4)
    c = {"StringLike": {"s3:prefix": "home/${aws:PrincipalTag/dir}"}}
    assert allowed(c, ctx(s3__prefix="home/*", **{"aws__PrincipalTag/dir": "*"}))
    assert not allowed(c, ctx(s3__prefix="home/anything", **{"aws__PrincipalTag/dir": "*"}))
    # the policy's own text stays a pattern
    c2 = {"StringLike": {"s3:prefix": "home/${aws:username}/*"}}
    assert allowed(c2, ctx(s3__prefix="home/alice/x/y", aws__username="alice"))


def test_special_variables() -> None:
    assert allowed({"StringEquals": {"s3:prefix": "a${*}b${?}c${$}"}}, ctx(s3__prefix="a*b?c$"))
    assert not allowed({"StringLike": {"s3:prefix": "a${*}"}}, ctx(s3__prefix="abc"))


def test_variable_default() -> None:
    c = {"StringEquals": {"s3:prefix": "${aws:PrincipalTag/team, 'company-wide'}"}}
    assert allowed(c, ctx(s3__prefix="company-wide"))
    assert allowed(c, ctx(s3__prefix="blue", **{"aws__PrincipalTag/team": "blue"}))


def test_unresolved_variable_is_null() -> None:
    # positive operators do not match, negated ones do
    assert not allowed({"StringEquals": {"s3:prefix": "${aws:username}"}}, ctx(s3__prefix="x"))
    assert allowed({"StringNotEquals": {"s3:prefix": "${aws:username}"}}, ctx(s3__prefix="x"))
    assert not allowed({"StringLike": {"s3:prefix": "${aws:username}*"}}, ctx(s3__prefix="x"))
    assert allowed({"StringNotLike": {"s3:prefix": "${aws:username}*"}}, ctx(s3__prefix="x"))


def test_multi_valued_key_is_not_a_variable() -> None:
    c = {"StringEquals": {"s3:prefix": "${aws:TagKeys}"}}
    assert not allowed(c, Context().add("aws:TagKeys", ["a", "b"], "stringList").add("s3:prefix", "a"))


@pytest.mark.parametrize("version", ["2008-10-17", ""])
def test_variables_are_literal_without_2012_version(version: str) -> None:
    # Under 2008-10-17 or without Version variables are not substituted (resource policy: accepts both).
    c = {"StringEquals": {"s3:prefix": "${aws:username}"}}
    assert allowed(c, ctx(s3__prefix="${aws:username}", aws__username="alice"), version=version, resource_policy=True)
    assert not allowed(c, ctx(s3__prefix="alice", aws__username="alice"), version=version, resource_policy=True)


def test_variable_in_resource() -> None:
    # the resource part of the ARN substitutes; an unresolved variable there matches nothing
    res = "arn:aws:s3:::bucket/home/${aws:username}/*"
    p = compile_policy(json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": res}}), PolicyKind.IDENTITY)
    alice = ctx(aws__username="alice")
    assert evaluate(Request(USER, "s3:GetObject", "arn:aws:s3:::bucket/home/alice/f", alice), identity=[p]).allowed
    assert not evaluate(Request(USER, "s3:GetObject", "arn:aws:s3:::bucket/home/bob/f", alice), identity=[p]).allowed
    assert not evaluate(Request(USER, "s3:GetObject", "arn:aws:s3:::bucket/home//f", ctx()), identity=[p]).allowed
    tricky = ctx(aws__username="*")
    assert not evaluate(Request(USER, "s3:GetObject", "arn:aws:s3:::bucket/home/bob/f", tricky), identity=[p]).allowed
