"""Query protocol: targeted cases from the reference texts (sts-and-iam.md §1.1, §1.2, §1.5, §6)
and from real-AWS captures of STS (message texts quoted below)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from botocore.parsers import create_parser

from irsa import errors
from irsa.errors import AwsError
from irsa.wire.query import MAX_FORM_BYTES, QueryProtocol, parse_form

STS = QueryProtocol("sts")
IAM = QueryProtocol("iam")
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
ROLE = "arn:aws:iam::123456789012:role/app"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
PATTERN_SESSION = r"[\w+=,.@-]*"


def sts_awrwi(**overrides: str | None) -> dict[str, str]:
    params = {
        "Action": "AssumeRoleWithWebIdentity",
        "Version": "2011-06-15",
        "RoleArn": ROLE,
        "RoleSessionName": "my-session",
        "WebIdentityToken": TOKEN,
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def error_of(qp: QueryProtocol, params: dict[str, str]) -> AwsError:
    with pytest.raises(AwsError) as ei:
        qp.parse(params)
    return ei.value


# --- Action / Version -----------------------------------------------------------------------------


def test_awrwi_parses():
    op, args = STS.parse(sts_awrwi(DurationSeconds="900"))
    assert op == "AssumeRoleWithWebIdentity"
    assert args == {"RoleArn": ROLE, "RoleSessionName": "my-session", "WebIdentityToken": TOKEN, "DurationSeconds": 900}


@pytest.mark.parametrize(
    "action, version, message",
    [
        ("NoSuchAction", "2011-06-15", "Could not find operation NoSuchAction for version 2011-06-15"),
        ("GetCallerIdentity", None, "Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED"),
        ("GetCallerIdentity", "", "Could not find operation GetCallerIdentity for version "),
        ("GetCallerIdentity", "2000-01-01", "Could not find operation GetCallerIdentity for version 2000-01-01"),
        ("", "2011-06-15", "Could not find operation  for version 2011-06-15"),
        ("CreateRole", "2011-06-15", "Could not find operation CreateRole for version 2011-06-15"),
    ],
)
def test_invalid_action_texts(action, version, message):
    params = {"Action": action} | ({} if version is None else {"Version": version})
    err = error_of(STS, params)
    assert (err.code, err.status, err.message) == ("InvalidAction", 400, message)


def test_missing_action():
    err = error_of(STS, {"Version": "2011-06-15"})
    assert err.code == "MissingAction" and err.status == 400


def test_first_value_of_repeated_parameter_wins():
    params = parse_form(b"Action=GetCallerIdentity&Action=NoSuchAction&Version=2011-06-15&Version=2000-01-01", "")
    assert STS.parse(params) == ("GetCallerIdentity", {})
    params = parse_form(b"Action=NoSuchAction&Action=GetCallerIdentity&Version=2011-06-15", "")
    assert error_of(STS, params).message == "Could not find operation NoSuchAction for version 2011-06-15"


def test_unknown_parameters_ignored():
    assert STS.parse({"Action": "GetCallerIdentity", "Version": "2011-06-15", "Unknown": "value"}) == ("GetCallerIdentity", {})
    op, args = STS.parse(sts_awrwi(Bogus="1", **{"RoleArn.member.1": "x", "PolicyArns.foo": "y"}))
    assert "Bogus" not in args and args["RoleArn"] == ROLE


# --- validation: texts of real STS answers --------------------------------------------------------


@pytest.mark.parametrize(
    "name, message",
    [
        (None, "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"),
        ("", "1 validation error detected: Value '' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"),
        ("a", "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"),
        ("a:b", f"1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {PATTERN_SESSION}"),
        ("bad/name", f"1 validation error detected: Value 'bad/name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {PATTERN_SESSION}"),
        ("a" * 65, f"1 validation error detected: Value '{'a' * 65}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"),
        ("!", f"2 validation errors detected: Value '!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {PATTERN_SESSION}; Value '!' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"),
        ("/" * 65, f"2 validation errors detected: Value '{'/' * 65}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {PATTERN_SESSION}; Value '{'/' * 65}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"),
        ("é", f"2 validation errors detected: Value 'é' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {PATTERN_SESSION}; Value 'é' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"),
        ("😀", f"2 validation errors detected: Value '😀' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: {PATTERN_SESSION}; Value '😀' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"),
    ],
)
def test_role_session_name_messages(name, message):
    err = error_of(STS, sts_awrwi(RoleSessionName=name))
    assert (err.code, err.status, err.message) == ("ValidationError", 400, message)


def test_session_name_boundaries_accepted():
    for name in ("aa", "b" * 64, "a_b+c=d,e.f@g-h"):
        assert STS.parse(sts_awrwi(RoleSessionName=name))[1]["RoleSessionName"] == name


def test_duration_range():
    err = error_of(STS, sts_awrwi(DurationSeconds="43201"))
    assert err.message == "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"
    err = error_of(STS, sts_awrwi(DurationSeconds="899"))
    assert err.message.endswith("Member must have value greater than or equal to 900")
    assert STS.parse(sts_awrwi(DurationSeconds="43200"))[1]["DurationSeconds"] == 43200


def test_sensitive_value_never_echoed():
    err = error_of(STS, sts_awrwi(WebIdentityToken="abc"))
    assert err.message == "1 validation error detected: Value '*** Sensitive Data Redacted ***' at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"
    long_token = "x" * 20001
    err = error_of(STS, sts_awrwi(WebIdentityToken=long_token))
    assert long_token not in err.message and "Member must have length less than or equal to 20000" in err.message


def test_several_faults_counted_and_joined():
    err = error_of(STS, sts_awrwi(RoleArn=None, RoleSessionName="a:b", DurationSeconds="1"))
    assert err.message.startswith("3 validation errors detected: ")
    faults = err.message.split(": ", 1)[1].split("; ")
    assert faults[0] == "Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    assert len(faults) == 3


def test_iam_required_and_nested_paths():
    err = error_of(IAM, {"Action": "CreateRole", "Version": "2010-05-08", "AssumeRolePolicyDocument": "{}"})
    assert err.message == "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"
    params = {
        "Action": "CreateRole", "Version": "2010-05-08", "RoleName": "r", "AssumeRolePolicyDocument": "{}",
        "Tags.member.1.Key": "k" * 129, "Tags.member.1.Value": "v",
    }
    err = error_of(IAM, params)
    assert err.message == (
        f"1 validation error detected: Value '{'k' * 129}' at 'tags.1.member.key' failed to satisfy constraint: "
        "Member must have length less than or equal to 128"
    )


def test_list_element_paths_and_enum():
    params = {
        "Action": "CreateOpenIDConnectProvider", "Version": "2010-05-08", "Url": "https://oidc.example",
        "ThumbprintList.member.1": "a" * 40, "ThumbprintList.member.2": "b" * 41,
    }
    err = error_of(IAM, params)
    assert err.message == (
        f"1 validation error detected: Value '{'b' * 41}' at 'thumbprintList.2.member' failed to satisfy constraint: "
        "Member must have length less than or equal to 40"
    )
    params = {"Action": "ListPolicies", "Version": "2010-05-08", "Scope": "Everything"}
    assert error_of(IAM, params).message == (
        "1 validation error detected: Value 'Everything' at 'scope' failed to satisfy constraint: "
        "Member must satisfy enum value set: [All, AWS, Local]"
    )


def test_list_size_limit_message():
    params = {"Action": "CreateOpenIDConnectProvider", "Version": "2010-05-08", "Url": "https://oidc.example"}
    params |= {f"Tags.member.{i}.Key": f"k{i}" for i in range(1, 52)}
    params |= {f"Tags.member.{i}.Value": "v" for i in range(1, 52)}
    err = error_of(IAM, params)
    assert err.message.startswith("1 validation error detected: Value '[")
    assert err.message.endswith("' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")


# --- shapes: lists, structs, maps, scalars ------------------------------------------------------------


def test_lists_structs_and_lowercase_member_names():
    body = urlencode({
        "Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": ROLE, "RoleSessionName": "s",
        "WebIdentityToken": TOKEN, "PolicyArns.member.2.arn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "PolicyArns.member.1.arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    }).encode()
    params = parse_form(body, "")
    params["RoleSessionName"] = "ss"
    _, args = STS.parse(params)
    assert args["PolicyArns"] == [
        {"arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"},
        {"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
    ]


def test_empty_list_and_gaps():
    base = {"Action": "CreateOpenIDConnectProvider", "Version": "2010-05-08", "Url": "https://oidc.example"}
    assert IAM.parse(base | {"ThumbprintList": "", "ClientIDList": ""})[1] == {"Url": "https://oidc.example", "ThumbprintList": [], "ClientIDList": []}
    _, args = IAM.parse(base | {"ClientIDList.member.3": "c", "ClientIDList.member.1": "a", "ClientIDList.member.0": "zero", "ClientIDList.member.01": "x"})
    assert args["ClientIDList"] == ["a", "c"]


def test_booleans_and_ints():
    _, args = IAM.parse({"Action": "ListPolicies", "Version": "2010-05-08", "OnlyAttached": "true", "MaxItems": "10"})
    assert args == {"OnlyAttached": True, "MaxItems": 10}
    _, args = IAM.parse({"Action": "ListPolicies", "Version": "2010-05-08", "OnlyAttached": "false"})
    assert args == {"OnlyAttached": False}
    for bad in ({"OnlyAttached": "yes"}, {"MaxItems": "ten"}, {"MaxItems": "1e3"}, {"MaxItems": "99999999999"}):
        err = error_of(IAM, {"Action": "ListPolicies", "Version": "2010-05-08"} | bad)
        assert err.code == "InvalidParameterValue" and err.status == 400


def test_map_input():
    params = {
        "Action": "PutAccountProperties", "Version": "2010-05-08",
        "Properties.entry.1.key": "Alpha", "Properties.entry.1.value": "one",
        "Properties.entry.2.key": "Beta", "Properties.entry.2.value": "two",
    }
    op = IAM.model.operation_model("PutAccountProperties")
    member = next(k for k, v in op.input_shape.members.items() if v.type_name == "map")
    params = {k.replace("Properties", member): v for k, v in params.items()}
    _, args = IAM.parse(params)
    assert args[member] == {"Alpha": "one", "Beta": "two"}


# --- parse_form ----------------------------------------------------------------------------------


def test_parse_form_decoding():
    assert parse_form(b"a=x+y%2Bz&b=%E2%82%AC&c&d=", "") == {"a": "x y+z", "b": "€", "c": "", "d": ""}
    assert parse_form(b"a=body&b=2", "a=query&c=3") == {"a": "query", "c": "3", "b": "2"}


@pytest.mark.parametrize("body", [b"a=%ff", b"a=%E2%82", b"a=%zz", b"a=%4", b"%C0%AF=x"])
def test_parse_form_rejects_bad_encoding(body):
    with pytest.raises(AwsError) as ei:
        parse_form(body, "")
    assert ei.value.code == "InvalidParameterValue" and ei.value.status == 400


def test_parse_form_size_bound():
    with pytest.raises(AwsError) as ei:
        parse_form(b"a=" + b"x" * MAX_FORM_BYTES, "")
    assert ei.value.code == "RequestEntityTooLarge" and ei.value.status == 413
    parse_form(b"a=" + b"x" * (MAX_FORM_BYTES - 2), "")


def test_deep_and_many_keys_are_handled():
    deep = b"Action=GetCallerIdentity&Version=2011-06-15&" + b"." * (MAX_FORM_BYTES // 2) + b"=1"
    assert STS.parse(parse_form(deep, "")) == ("GetCallerIdentity", {})
    many = b"&".join(b"Tags.member.%d.Key=k&Tags.member.%d.Value=v" % (i, i) for i in range(1, 20000))
    params = parse_form(b"Action=CreateOpenIDConnectProvider&Version=2010-05-08&Url=https://x&" + many, "")
    err = error_of(IAM, params)
    assert err.message.endswith("at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")


# --- serialize ----------------------------------------------------------------------------------------


def test_awrwi_response_document():
    exp = datetime(2026, 11, 22, 6, 22, 11, tzinfo=timezone.utc)
    out = {
        "Credentials": {"AccessKeyId": "ASIAEXAMPLEEXAMPLE12", "SecretAccessKey": "s" * 40, "SessionToken": "tok", "Expiration": exp},
        "SubjectFromWebIdentityToken": "system:serviceaccount:ns:sa",
        "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:my-session", "Arn": "arn:aws:sts::123456789012:assumed-role/app/my-session"},
        "Provider": "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/AB",
        "Audience": "sts.amazonaws.com",
    }
    body = STS.serialize("AssumeRoleWithWebIdentity", out, "5959ed62-13ac-4205-a0f6-811f00bced6b").decode()
    assert body.startswith(f'<AssumeRoleWithWebIdentityResponse xmlns="{STS_NS}"><AssumeRoleWithWebIdentityResult>')
    assert "<Expiration>2026-11-22T06:22:11Z</Expiration>" in body
    assert body.endswith(
        "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>5959ed62-13ac-4205-a0f6-811f00bced6b"
        "</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>"
    )
    shape = STS.model.operation_model("AssumeRoleWithWebIdentity").output_shape
    parsed = create_parser("query").parse({"body": body.encode(), "headers": {}, "status_code": 200}, shape)
    assert parsed["Credentials"]["Expiration"] == exp
    assert parsed["Provider"] == out["Provider"]


def test_timestamps_are_utc_seconds_z():
    shape_out = lambda ts: STS.serialize("GetSessionToken", {"Credentials": {"AccessKeyId": "A" * 16, "SecretAccessKey": "s", "SessionToken": "t", "Expiration": ts}}, "r")
    utc = datetime(2026, 11, 22, 6, 22, 11, tzinfo=timezone.utc)
    assert b"<Expiration>2026-11-22T06:22:11Z</Expiration>" in shape_out(utc)
    assert b"<Expiration>2026-11-22T06:22:11Z</Expiration>" in shape_out(utc.astimezone(timezone(timedelta(hours=2))))
    assert b"<Expiration>2026-11-22T06:22:11Z</Expiration>" in shape_out(utc.replace(tzinfo=None, microsecond=999))


def test_no_output_operation_document():
    assert IAM.serialize("DeleteOpenIDConnectProvider", None, "r-1") == (
        f'<DeleteOpenIDConnectProviderResponse xmlns="{IAM_NS}"><ResponseMetadata><RequestId>r-1</RequestId>'
        "</ResponseMetadata></DeleteOpenIDConnectProviderResponse>"
    ).encode()


def test_lists_use_member_elements_and_empty_list_parses_to_empty():
    body = IAM.serialize("GetOpenIDConnectProvider", {"Url": "oidc.example", "ClientIDList": ["a", "b"], "ThumbprintList": [], "Tags": []}, "r")
    assert b"<ClientIDList><member>a</member><member>b</member></ClientIDList>" in body
    assert b"<ThumbprintList></ThumbprintList>" in body
    shape = IAM.model.operation_model("GetOpenIDConnectProvider").output_shape
    parsed = create_parser("query").parse({"body": body, "headers": {}, "status_code": 200}, shape)
    assert parsed["ThumbprintList"] == [] and parsed["Tags"] == [] and parsed["ClientIDList"] == ["a", "b"]


def test_unknown_output_member_is_a_programming_error():
    with pytest.raises(TypeError):
        IAM.serialize("GetOpenIDConnectProvider", {"Nope": 1}, "r")


def test_error_envelope():
    err = AwsError(errors.INVALID_IDENTITY_TOKEN, "No OpenIDConnect provider found in your account for https://a<b>&c/")
    body = STS.serialize_error(err, "26603485-0bd5-11ea-a642-b7dfa91cf04b")
    assert body == (
        f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>'
        "<Message>No OpenIDConnect provider found in your account for https://a&lt;b&gt;&amp;c/</Message></Error>"
        "<RequestId>26603485-0bd5-11ea-a642-b7dfa91cf04b</RequestId></ErrorResponse>"
    ).encode()
    parsed = create_parser("query").parse({"body": body, "headers": {}, "status_code": 400}, None)
    assert parsed["Error"] == {"Type": "Sender", "Code": "InvalidIdentityToken", "Message": "No OpenIDConnect provider found in your account for https://a<b>&c/"}
    assert parsed["ResponseMetadata"]["RequestId"] == "26603485-0bd5-11ea-a642-b7dfa91cf04b"
    server = IAM.serialize_error(AwsError(errors.SERVICE_FAILURE, "x"), "r")
    assert server.startswith(f'<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Receiver</Type>'.encode())


def test_error_message_with_control_characters_stays_well_formed():
    err = error_of(STS, sts_awrwi(RoleSessionName="a\x01b\rc"))
    body = STS.serialize_error(err, "r")
    parsed = create_parser("query").parse({"body": body, "headers": {}, "status_code": 400}, None)
    assert parsed["Error"]["Code"] == "ValidationError"
    assert "a\ufffdb\rc" in parsed["Error"]["Message"]


def test_operation_has_auth():
    assert STS.operation_has_auth("AssumeRoleWithWebIdentity") is False
    assert STS.operation_has_auth("AssumeRoleWithSAML") is False
    assert STS.operation_has_auth("GetCallerIdentity") is True
    assert STS.operation_has_auth("AssumeRole") is True
    assert IAM.operation_has_auth("CreateRole") is True
    with pytest.raises(AwsError):
        STS.operation_has_auth("Nope")


def test_missing_field_inside_list_element():
    params = {"Action": "TagRole", "Version": "2010-05-08", "RoleName": "r", "Tags.member.1.Key": "k", "Tags.member.2.Key": "k2", "Tags.member.2.Value": "v"}
    err = error_of(IAM, params)
    assert err.message == "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null"
