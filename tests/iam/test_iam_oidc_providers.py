"""IAM OIDC identity providers (sts-and-iam.md §2.1, §2.7, §3). Expected values come from the AWS docs:
the aws-cli example ``create-open-id-connect-provider --url https://server.example.com`` gives the ARN
``arn:aws:iam::123456789012:oidc-provider/server.example.com`` and ``get`` returns ``"Url": "server.example.com"``.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

THUMB = "990f4193972f2becf12ddeda5237f9c952f20d9e"  # 40 hex (the AWS CLI docs' example thumbprint)
EKS_URL = "https://oidc.eks.us-west-2.amazonaws.com/id/D43CF17C1B7CC34A7FD5D0D2D57C4E2B"


def _arn(account: str, rest: str) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{rest}"


def test_create_get_list_delete(call, account):
    out = call("CreateOpenIDConnectProvider", Url="https://server.example.com", ClientIDList=["my-application-id"], ThumbprintList=[THUMB])
    arn = _arn(account, "server.example.com")
    assert out == {"OpenIDConnectProviderArn": arn}
    got = call("GetOpenIDConnectProvider", OpenIDConnectProviderArn=arn)
    assert got["Url"] == "server.example.com"  # without the scheme
    assert got["ClientIDList"] == ["my-application-id"]
    assert got["ThumbprintList"] == [THUMB]
    assert got["Tags"] == []
    assert isinstance(got["CreateDate"], datetime) and got["CreateDate"].tzinfo is not None
    assert got["CreateDate"].utcoffset() == timezone.utc.utcoffset(None)
    assert call("ListOpenIDConnectProviders") == {"OpenIDConnectProviderList": [{"Arn": arn}]}
    assert call("DeleteOpenIDConnectProvider", OpenIDConnectProviderArn=arn) == {}
    assert call("ListOpenIDConnectProviders") == {"OpenIDConnectProviderList": []}


def test_arn_keeps_path_and_trailing_slash(call, account):
    out = call("CreateOpenIDConnectProvider", Url=EKS_URL, ClientIDList=["sts.amazonaws.com"])
    assert out["OpenIDConnectProviderArn"] == _arn(account, EKS_URL[len("https://"):])
    auth0 = call("CreateOpenIDConnectProvider", Url="https://auth-dev.mozilla.auth0.com/", ClientIDList=["x"])
    assert auth0["OpenIDConnectProviderArn"] == _arn(account, "auth-dev.mozilla.auth0.com/")
    # trailing slash and case are significant: these are different providers
    call("CreateOpenIDConnectProvider", Url="https://auth-dev.mozilla.auth0.com", ClientIDList=["x"])
    call("CreateOpenIDConnectProvider", Url="https://AUTH-dev.mozilla.auth0.com/", ClientIDList=["x"])
    assert len(call("ListOpenIDConnectProviders")["OpenIDConnectProviderList"]) == 4


def test_thumbprint_list_optional_and_tags_returned(call, account):
    out = call("CreateOpenIDConnectProvider", Url="https://token.actions.githubusercontent.com",
               ClientIDList=["sts.amazonaws.com"], Tags=[{"Key": "team", "Value": "ci"}])
    assert out["Tags"] == [{"Key": "team", "Value": "ci"}]
    got = call("GetOpenIDConnectProvider", OpenIDConnectProviderArn=out["OpenIDConnectProviderArn"])
    assert got["ThumbprintList"] == [] and got["Tags"] == [{"Key": "team", "Value": "ci"}]


def test_duplicate_url(call, aws_error):
    call("CreateOpenIDConnectProvider", Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"])
    with aws_error("EntityAlreadyExists", "Provider with url https://token.actions.githubusercontent.com already exists.") as info:
        call("CreateOpenIDConnectProvider", Url="https://token.actions.githubusercontent.com", ClientIDList=["other"])
    assert info.value.status == 409


@pytest.mark.parametrize(
    "url",
    [
        "http://server.example.com",  # not https
        "server.example.com",  # no scheme
        "https://",  # no host
        "https://server.example.com/?a=b",  # query
        "https://server.example.com/#frag",  # fragment
        "https://user@server.example.com",  # user info
        "https://server.example.com/a b",  # whitespace
        "https://server.example.com:99999",  # bad port
        "https://server.example.com:",  # empty port
        "https://a:b:1",  # not host:port
        "https://[::1",  # unclosed IPv6 literal
        "https://" + "a" * 248,  # 256 characters in total
    ],
)
def test_invalid_url(call, aws_error, url):
    with aws_error("InvalidInput", "Invalid Open ID Connect Provider URL"):
        call("CreateOpenIDConnectProvider", Url=url, ClientIDList=["a"])
    assert call("ListOpenIDConnectProviders") == {"OpenIDConnectProviderList": []}


def test_url_of_255_characters_and_port_allowed(call, account):
    url = "https://" + "a" * 247
    assert len(url) == 255
    assert call("CreateOpenIDConnectProvider", Url=url)["OpenIDConnectProviderArn"] == _arn(account, "a" * 247)
    call("CreateOpenIDConnectProvider", Url="https://127.0.0.1:8443/issuer")
    assert call("CreateOpenIDConnectProvider", Url="https://[::1]:8443")["OpenIDConnectProviderArn"] == _arn(account, "[::1]:8443")


def test_thumbprint_rules(call, aws_error):
    with aws_error("InvalidInput", "Thumbprint list must contain fewer than 5 entries."):
        call("CreateOpenIDConnectProvider", Url="https://a.example.com", ThumbprintList=[f"{i:040x}" for i in range(6)])
    with aws_error("ValidationError"):
        call("CreateOpenIDConnectProvider", Url="https://a.example.com", ThumbprintList=["abc"])
    with aws_error("InvalidInput"):
        call("CreateOpenIDConnectProvider", Url="https://a.example.com", ThumbprintList=["z" * 40])
    out = call("CreateOpenIDConnectProvider", Url="https://a.example.com", ThumbprintList=[f"{i:040x}" for i in range(5)])
    arn = out["OpenIDConnectProviderArn"]
    with aws_error("InvalidInput", "Thumbprint list must contain fewer than 5 entries."):
        call("UpdateOpenIDConnectProviderThumbprint", OpenIDConnectProviderArn=arn, ThumbprintList=[f"{i:040x}" for i in range(6)])
    call("UpdateOpenIDConnectProviderThumbprint", OpenIDConnectProviderArn=arn, ThumbprintList=[THUMB])
    assert call("GetOpenIDConnectProvider", OpenIDConnectProviderArn=arn)["ThumbprintList"] == [THUMB]


def test_client_ids(call, aws_error):
    arn = call("CreateOpenIDConnectProvider", Url="https://c.example.com", ClientIDList=["a"])["OpenIDConnectProviderArn"]
    call("AddClientIDToOpenIDConnectProvider", OpenIDConnectProviderArn=arn, ClientID="b")
    call("AddClientIDToOpenIDConnectProvider", OpenIDConnectProviderArn=arn, ClientID="b")  # idempotent
    assert call("GetOpenIDConnectProvider", OpenIDConnectProviderArn=arn)["ClientIDList"] == ["a", "b"]
    call("RemoveClientIDFromOpenIDConnectProvider", OpenIDConnectProviderArn=arn, ClientID="a")
    call("RemoveClientIDFromOpenIDConnectProvider", OpenIDConnectProviderArn=arn, ClientID="missing")  # idempotent
    assert call("GetOpenIDConnectProvider", OpenIDConnectProviderArn=arn)["ClientIDList"] == ["b"]
    with aws_error("ValidationError"):
        call("AddClientIDToOpenIDConnectProvider", OpenIDConnectProviderArn=arn, ClientID="x" * 256)


def test_client_id_limit(call, aws_error):
    quota = "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"
    with aws_error("LimitExceeded", quota):
        call("CreateOpenIDConnectProvider", Url="https://d.example.com", ClientIDList=[f"c{i}" for i in range(101)])
    arn = call("CreateOpenIDConnectProvider", Url="https://d.example.com", ClientIDList=[f"c{i}" for i in range(100)])["OpenIDConnectProviderArn"]
    with aws_error("LimitExceeded", quota) as info:
        call("AddClientIDToOpenIDConnectProvider", OpenIDConnectProviderArn=arn, ClientID="one-more")
    assert info.value.status == 409
    assert len(call("GetOpenIDConnectProvider", OpenIDConnectProviderArn=arn)["ClientIDList"]) == 100


def test_provider_limit_per_account(call, aws_error):
    for i in range(100):
        call("CreateOpenIDConnectProvider", Url=f"https://p{i}.example.com")
    with aws_error("LimitExceeded", "Cannot exceed quota for OpenIdConnectProvidersPerAccount: 100"):
        call("CreateOpenIDConnectProvider", Url="https://p100.example.com")
    assert len(call("ListOpenIDConnectProviders")["OpenIDConnectProviderList"]) == 100


def test_not_found_and_bad_arns(call, account, aws_error):
    missing = _arn(account, "nowhere.example.com")
    for op, extra in [
        ("GetOpenIDConnectProvider", {}),
        ("DeleteOpenIDConnectProvider", {}),  # decision: NoSuchEntity (model), not idempotent
        ("AddClientIDToOpenIDConnectProvider", {"ClientID": "a"}),
        ("RemoveClientIDFromOpenIDConnectProvider", {"ClientID": "a"}),
        ("UpdateOpenIDConnectProviderThumbprint", {"ThumbprintList": [THUMB]}),
        ("TagOpenIDConnectProvider", {"Tags": [{"Key": "k", "Value": "v"}]}),
        ("UntagOpenIDConnectProvider", {"TagKeys": ["k"]}),
        ("ListOpenIDConnectProviderTags", {}),
    ]:
        with aws_error("NoSuchEntity", f"OpenIDConnect Provider not found for arn {missing}") as info:
            call(op, OpenIDConnectProviderArn=missing, **extra)
        assert info.value.status == 404
    with aws_error("InvalidInput", "ARN arn:aws:iam::123456789012:role/x is not valid."):
        call("GetOpenIDConnectProvider", OpenIDConnectProviderArn="arn:aws:iam::123456789012:role/x")
    with aws_error("InvalidInput"):
        call("GetOpenIDConnectProvider", OpenIDConnectProviderArn="not-an-arn-but-long-enough")
    with aws_error("InvalidInput"):  # wrong partition
        call("GetOpenIDConnectProvider", OpenIDConnectProviderArn=f"arn:aws-cn:iam::{account}:oidc-provider/x.example.com")


def test_other_accounts_provider_is_invisible(iam, account, aws_error):
    other = "999999999999" if account != "999999999999" else "888888888888"
    arn = iam.call(other, "CreateOpenIDConnectProvider", {"Url": f"https://{account}.other.example.com"})["OpenIDConnectProviderArn"]
    with aws_error("NoSuchEntity"):
        iam.call(account, "GetOpenIDConnectProvider", {"OpenIDConnectProviderArn": arn})
    with aws_error("NoSuchEntity"):
        iam.call(account, "DeleteOpenIDConnectProvider", {"OpenIDConnectProviderArn": arn})
    assert arn not in [p["Arn"] for p in iam.call(account, "ListOpenIDConnectProviders", {})["OpenIDConnectProviderList"]]
    iam.call(other, "DeleteOpenIDConnectProvider", {"OpenIDConnectProviderArn": arn})


def test_tags_merge_untag_list_and_pagination(call, aws_error):
    arn = call("CreateOpenIDConnectProvider", Url="https://t.example.com", Tags=[{"Key": "Env", "Value": "dev"}])["OpenIDConnectProviderArn"]
    call("TagOpenIDConnectProvider", OpenIDConnectProviderArn=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "a"}])
    # keys are case-insensitive: "env" replaced "Env"
    assert call("ListOpenIDConnectProviderTags", OpenIDConnectProviderArn=arn) == {
        "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "a"}],
        "IsTruncated": False,
    }
    call("UntagOpenIDConnectProvider", OpenIDConnectProviderArn=arn, TagKeys=["ENV", "absent"])
    assert call("ListOpenIDConnectProviderTags", OpenIDConnectProviderArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    call("TagOpenIDConnectProvider", OpenIDConnectProviderArn=arn, Tags=[{"Key": f"k{i:02}", "Value": str(i)} for i in range(49)])
    with aws_error("LimitExceeded"):
        call("TagOpenIDConnectProvider", OpenIDConnectProviderArn=arn, Tags=[{"Key": "k-over", "Value": "x"}])
    # pages of 20: 50 tags -> 20, 20, 10
    seen, marker, pages = [], None, 0
    while True:
        params = {"OpenIDConnectProviderArn": arn, "MaxItems": 20}
        if marker:
            params["Marker"] = marker
        page = call("ListOpenIDConnectProviderTags", **params)
        pages += 1
        seen += [t["Key"] for t in page["Tags"]]
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
        assert len(marker) <= 320
    assert pages == 3 and len(seen) == 50 and len(set(seen)) == 50 and seen[0] == "team"
    with aws_error("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive."):
        call("TagOpenIDConnectProvider", OpenIDConnectProviderArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}])
    with aws_error("ValidationError"):
        call("ListOpenIDConnectProviderTags", OpenIDConnectProviderArn=arn, MaxItems=0)
    with aws_error("ValidationError"):
        call("ListOpenIDConnectProviderTags", OpenIDConnectProviderArn=arn, MaxItems=1001)
    with aws_error("ValidationError"):
        call("ListOpenIDConnectProviderTags", OpenIDConnectProviderArn=arn, Marker="%%%not-a-marker")


def test_failed_create_leaves_nothing(call, aws_error):
    with aws_error("LimitExceeded"):
        call("CreateOpenIDConnectProvider", Url="https://e.example.com", ClientIDList=[f"c{i}" for i in range(101)],
             Tags=[{"Key": "a", "Value": "b"}])
    with aws_error("InvalidInput"):
        call("CreateOpenIDConnectProvider", Url="https://e.example.com", Tags=[{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}])
    assert call("ListOpenIDConnectProviders") == {"OpenIDConnectProviderList": []}


def test_find_oidc_provider_exact_match(iam, call, account):
    arn = call("CreateOpenIDConnectProvider", Url=EKS_URL, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[THUMB],
               Tags=[{"Key": "cluster", "Value": "c1"}])["OpenIDConnectProviderArn"]
    found = iam.find_oidc_provider(account, EKS_URL)
    assert found is not None
    assert found.arn == arn and found.url == EKS_URL[len("https://"):] and found.issuer == EKS_URL
    assert found.client_ids == ("sts.amazonaws.com",) and found.thumbprints == (THUMB,)
    assert dict(found.tags) == {"cluster": "c1"}
    assert iam.find_oidc_provider(account, EKS_URL + "/") is None
    assert iam.find_oidc_provider(account, EKS_URL.lower()) is None
    assert iam.find_oidc_provider(account, "http://" + EKS_URL[len("https://"):]) is None
    assert iam.find_oidc_provider("000000000001", EKS_URL) is None
