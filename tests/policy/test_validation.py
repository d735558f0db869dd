"""MalformedPolicyDocument: one test per message in reference §1.5 (AWS's words, as recorded in moto's
AWS-derived policy tests and the AWS reports the reference cites), plus size counting (§1.6)."""

from __future__ import annotations

import json

import pytest

from irsa import errors
from irsa.errors import AwsError
from irsa.policy import PolicyKind, compile_policy, policy_size, validate_policy
from irsa.policy.limits import check_size

I = PolicyKind.IDENTITY


def doc(*statements: dict, version: str | None = "2012-10-17", **top: object) -> str:
    d: dict = {}
    if version is not None:
        d["Version"] = version
    d.update(top)
    d["Statement"] = list(statements) if len(statements) != 1 else statements[0]
    return json.dumps(d)


def allow(**kw: object) -> dict:
    st: dict = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    st.update(kw)
    return {k: v for k, v in st.items() if v is not None}


def rejected(text: str, kind: PolicyKind = I) -> str:
    with pytest.raises(AwsError) as info:
        compile_policy(text, kind)
    assert info.value.error is errors.MALFORMED_POLICY_DOCUMENT
    assert validate_policy(text, kind)[0].message == info.value.message
    return info.value.message


SYNTAX = "Syntax errors in policy."


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}',  # truncated
        doc(allow(), Foo="bar"),  # unknown top-level key
        doc(allow(Extra="x")),  # unknown statement key
        doc(allow(Action=1)),  # wrong type for Action
        doc(allow(Resource={"a": "b"})),  # wrong type for Resource
        doc(allow(Sid=["a"])),  # wrong type for Sid
        doc(allow(), Id=["x"]),  # wrong type for Id
        '{"Version":"2012-10-17","Statement":[]}',  # empty Statement list
        doc(allow(Effect="invalid")),
        doc(allow(NotAction="s3:PutObject")),  # both Action and NotAction
        doc(allow(NotResource="arn:aws:s3:::b")),  # both Resource and NotResource
        doc(allow(Condition={"StringEqualz": {"aws:username": "x"}})),  # unknown operator
        doc(allow(Condition={"ForAnyValue::StringEquals": {"aws:TagKeys": "x"}})),
        doc(allow(Condition={"StringEquals": "x"})),  # Condition block is not a map
        doc(allow(), version="2013-01-01"),  # a Version that is not one of the two
        '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Action":"s3:Get*","Resource":"*"}}',
    ],
)
def test_syntax_errors(text: str) -> None:
    assert rejected(text) == SYNTAX


def test_unknown_operator_with_empty_block_is_accepted() -> None:
    assert validate_policy(doc(allow(Condition={"Foo": {}})), I) == []


def test_legacy_parsing_effect_case() -> None:
    assert rejected(doc(allow(Effect="aLLow"))) == "The policy failed legacy parsing"


def test_legacy_parsing_malformed_arn() -> None:
    assert rejected(doc(allow(Resource="arn:aws:s3::bucket"))) == "The policy failed legacy parsing"


def test_legacy_parsing_bad_date() -> None:
    text = doc(allow(Condition={"DateGreaterThan": {"aws:CurrentTime": "not-a-date"}}))
    assert rejected(text) == "The policy failed legacy parsing"


@pytest.mark.parametrize("version", [None, "2008-10-17"])
def test_identity_policy_version(version: str | None) -> None:
    assert rejected(doc(allow(), version=version)) == "Policy document must be version 2012-10-17 or greater."


def test_trust_policy_accepts_2008_version() -> None:
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"},
                version="2008-10-17")
    assert validate_policy(trust, PolicyKind.TRUST) == []


def test_statement_must_contain_actions() -> None:
    assert rejected(doc({"Effect": "Allow", "Resource": "*"})) == "Policy statement must contain actions."


def test_actions_need_vendor() -> None:
    assert rejected(doc(allow(Action="GetObject"))) == (
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    )


def test_actions_one_colon() -> None:
    assert rejected(doc(allow(Action="s3:Get:Object"))) == "Actions/Condition can contain only one colon."


def test_vendor_not_valid() -> None:
    assert rejected(doc(allow(Action="s:3:GetObject".replace("s:3", "s_3")))) == "Vendor s_3 is not valid"


def test_resource_must_be_arn() -> None:
    assert rejected(doc(allow(Resource="bucket"))) == 'Resource bucket must be in ARN format or "*".'


def test_statement_must_contain_resources() -> None:
    assert rejected(doc({"Effect": "Allow", "Action": "s3:*"})) == "Policy statement must contain resources."


def test_partition_not_valid() -> None:
    assert rejected(doc(allow(Resource="arn:aaa:s3:::b"))) == (
        'Partition "aaa" is not valid for resource "arn:aaa:s3:::b".'
    )
    assert rejected(doc(allow(Resource="arn:bbb:"))) == 'Partition "bbb" is not valid for resource "arn:bbb:*:*:*:*".'


def test_iam_resource_path() -> None:
    assert rejected(doc(allow(Resource="arn:aws:iam::123456789012:thing/x"))) == (
        'IAM resource path must either be "*" or start with user/, federated-user/, role/, group/, '
        "instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, "
        "report/, access-report/."
    )


def test_resource_vendor_fully_qualified() -> None:
    assert rejected(doc(allow(Resource="arn:aws"))) == (
        "Resource vendor must be fully qualified and cannot contain regexes."
    )


def test_iam_resource_region() -> None:
    res = "arn:aws:iam:us-east-1:123456789012:role/x"
    assert rejected(doc(allow(Resource=res))) == f"IAM resource {res} cannot contain region information."


def test_s3_resource_region() -> None:
    res = "arn:aws:s3:us-east-1::bucket"
    assert rejected(doc(allow(Resource=res))) == f"Resource {res} can not contain region information."
    # access points are regional and allowed
    assert validate_policy(doc(allow(Resource="arn:aws:s3:us-east-1:123456789012:accesspoint/ap")), I) == []


def test_sid_unique() -> None:
    assert rejected(doc(allow(Sid="A"), allow(Sid="A"))) == "Statement IDs (SID) in a single policy must be unique."


def test_sid_alphanumeric_in_iam_documents() -> None:
    msg = rejected(doc(allow(Sid="has space")))
    assert msg.startswith("Statement IDs (SID) must be alpha-numeric.")
    # resource (e.g. bucket) policies accept such Sids
    rp = doc(allow(Sid="has space", Principal="*"))
    assert validate_policy(rp, PolicyKind.RESOURCE) == []


def test_identity_policy_with_principal() -> None:
    assert rejected(doc(allow(Principal={"AWS": "123456789012"}))) == (
        "Policy document should not specify a principal."
    )


def test_trust_policy_with_resource() -> None:
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole",
                 "Resource": "*"})
    assert rejected(trust, PolicyKind.TRUST) == "Has prohibited field Resource."


def test_invalid_principal_form() -> None:
    trust = doc({"Effect": "Allow", "Principal": {"AWS": "not-an-arn"}, "Action": "sts:AssumeRole"})
    assert rejected(trust, PolicyKind.TRUST) == 'Invalid principal in policy: "AWS":"not-an-arn"'
    partial = doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/*"}, "Action": "sts:AssumeRole"})
    assert rejected(partial, PolicyKind.TRUST) == 'Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/*"'


def test_findings_carry_statement_position() -> None:
    text = '{"Version": "2012-10-17",\n "Statement": [\n  {"Effect": "Allow", "Action": "s3:*"}]}'
    (finding,) = validate_policy(text, I)
    assert finding.message == "Policy statement must contain resources."
    assert (finding.statement_index, finding.line, finding.column) == (0, 3, 4)


def test_validate_lists_all_findings_in_order() -> None:
    text = doc({"Effect": "Allow", "Resource": "*"}, allow(Action="nocolon"))
    assert [f.message for f in validate_policy(text, I)] == [
        "Policy statement must contain actions.",
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
    ]


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    text = '{"Version":"2012-10-17","Statement":' + "[" * 5000 + "]" * 5000 + "}"
    assert rejected(text) == SYNTAX


def test_policy_size_ignores_whitespace_outside_strings() -> None:
    compact = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}'
    pretty = json.dumps(json.loads(compact), indent=4)
    assert policy_size(pretty) == policy_size(compact) == len(compact)
    # whitespace inside strings counts
    assert policy_size('{"a b": " "}') == len('{"a b": " "}') - 1


def test_size_quotas() -> None:
    big = doc(allow(Action=[f"s3:Get{i:05d}" for i in range(500)]))
    with pytest.raises(AwsError) as info:
        check_size(big, PolicyKind.IDENTITY)
    assert info.value.error is errors.LIMIT_EXCEEDED
    assert info.value.message == "Cannot exceed quota for PolicySize: 6144"
    with pytest.raises(AwsError) as info:
        check_size(big, PolicyKind.TRUST)
    assert info.value.message == "Cannot exceed quota for ACLSizePerRole: 2048"
    check_size(doc(allow()), PolicyKind.IDENTITY)  # small: no error
