"""Table tests for the pod mutation, one group per rule of shared/docs/reference/webhook.md §1-§2."""

from __future__ import annotations

import copy
import json

import jsonpatch
import kubernetes_validate
import pytest
from webhook_support import (
    CC_MOUNT_PATH,
    CC_TOKEN_FILE,
    CC_URI,
    KUBE_API_MOUNT,
    KUBE_API_VOLUME,
    ROLE,
    WI_MOUNT,
    WI_MOUNT_PATH,
    WI_TOKEN_FILE,
    container,
    env,
    make_pod,
    make_sa,
    mutate,
    normalise,
    role_sa,
    wi_env,
)

from irsa.webhook.identity import (
    IdentityConfig,
    Mode,
    ServiceAccount,
    parse_config_map,
    parse_container_credentials,
)
from irsa.webhook.mutation import MalformedPod, mutate_pod
from irsa.webhook.settings import WebhookSettings

WI_VOLUME = {
    "name": "aws-iam-token",
    "projected": {"sources": [{"serviceAccountToken": {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}]},
}


def token_source(result, name="aws-iam-token"):
    vols = [v for v in result.pod["spec"]["volumes"] if v["name"] == name]
    assert len(vols) == 1
    return vols[0]["projected"]["sources"][0]["serviceAccountToken"]


# --- §2.7 worked example, compared with upstream's whole-array patch (§5) -------------------------


def test_worked_example_matches_upstream_patch():
    pod = make_pod()
    sa = make_sa({"eks.amazonaws.com/role-arn": ROLE, "eks.amazonaws.com/sts-regional-endpoints": "true"})
    result = mutate(pod, sa, settings=WebhookSettings(aws_default_region="us-west-2"))
    upstream_patch = [
        {"op": "add", "path": "/spec/volumes/0", "value": WI_VOLUME},
        {
            "op": "add",
            "path": "/spec/containers",
            "value": [
                {
                    "name": "app",
                    "image": "x",
                    "env": [
                        env("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
                        env("AWS_DEFAULT_REGION", "us-west-2"),
                        env("AWS_REGION", "us-west-2"),
                        env("AWS_ROLE_ARN", ROLE),
                        env("AWS_WEB_IDENTITY_TOKEN_FILE", WI_TOKEN_FILE),
                    ],
                    "resources": {},
                    "volumeMounts": [KUBE_API_MOUNT, WI_MOUNT],
                }
            ],
        },
    ]
    expected = jsonpatch.apply_patch(pod, upstream_patch)
    assert normalise(result.pod) == normalise(expected)
    assert result.mode is Mode.WEB_IDENTITY
    assert result.pod["spec"]["volumes"][0] == WI_VOLUME
    assert result.pod["spec"]["volumes"][1] == KUBE_API_VOLUME
    # patches are additive: no whole-array replacement of containers
    assert all(op["op"] == "add" and op["path"] != "/spec/containers" for op in result.patch)


# --- §2.1 mode decision ------------------------------------------------------------------------


def test_sa_without_role_is_not_mutated():
    result = mutate(make_pod(), make_sa({"eks.amazonaws.com/audience": "x"}))
    assert result.mode is None and result.patch == [] and result.skip_reason == "no-role"


def test_unknown_sa_is_not_mutated():
    result = mutate(make_pod(), None)
    assert result.mode is None and result.patch == [] and result.skip_reason == "service-account-not-found"


def test_empty_role_arn_counts_as_no_role():
    assert mutate(make_pod(), make_sa({"eks.amazonaws.com/role-arn": ""})).patch == []


def test_malformed_role_arn_is_still_injected():
    result = mutate(make_pod(), make_sa({"eks.amazonaws.com/role-arn": "not-an-arn"}))
    assert container(result)["env"] == wi_env(role="not-an-arn")


def test_sa_name_used_as_is_and_namespace_from_request():
    pod = make_pod(sa="builder")
    sa = ServiceAccount("team-a", "builder", {"eks.amazonaws.com/role-arn": ROLE})
    result = mutate(pod, sa, namespace="team-a")
    assert result.mode is Mode.WEB_IDENTITY
    assert "name" not in result.pod["metadata"] and "namespace" not in result.pod["metadata"]


def test_cc_lookup_uses_request_namespace():
    result = mutate(make_pod(), None, namespace="team-a", cc=frozenset({("team-a", "app")}), jitter=lambda lo, hi: lo)
    assert result.mode is Mode.CONTAINER_CREDENTIALS
    assert mutate(make_pod(), None, namespace="team-b", cc=frozenset({("team-a", "app")})).mode is None


# --- §1.1 SA annotations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "flag", "expected"),
    [
        (None, "sts.amazonaws.com", "sts.amazonaws.com"),
        (None, "custom-default", "custom-default"),
        ("my-audience", "sts.amazonaws.com", "my-audience"),
        ("", "sts.amazonaws.com", ""),  # used verbatim, even empty
    ],
)
def test_audience(annotation, flag, expected):
    ann = {"eks.amazonaws.com/role-arn": ROLE}
    if annotation is not None:
        ann["eks.amazonaws.com/audience"] = annotation
    result = mutate(make_pod(), make_sa(ann), settings=WebhookSettings(token_audience=flag))
    assert token_source(result)["audience"] == expected


@pytest.mark.parametrize("value", ["1", "t", "T", "TRUE", "true", "True"])
def test_regional_sts_true_values(value):
    result = mutate(make_pod(), role_sa(sts_regional_endpoints=value))
    assert container(result)["env"][0] == env("AWS_STS_REGIONAL_ENDPOINTS", "regional")


@pytest.mark.parametrize("value", ["0", "f", "F", "FALSE", "false", "False"])
def test_regional_sts_false_values_override_flag(value):
    result = mutate(make_pod(), role_sa(sts_regional_endpoints=value), settings=WebhookSettings(sts_regional_endpoint=True))
    assert container(result)["env"] == wi_env()


@pytest.mark.parametrize("value", ["yes", "tRUE", " true", "", "2"])
@pytest.mark.parametrize("flag", [True, False])
def test_regional_sts_invalid_uses_flag(value, flag):
    result = mutate(make_pod(), role_sa(sts_regional_endpoints=value), settings=WebhookSettings(sts_regional_endpoint=flag))
    names = [e["name"] for e in container(result)["env"]]
    assert ("AWS_STS_REGIONAL_ENDPOINTS" in names) is flag


def test_regional_sts_flag_default_applies_without_annotation():
    result = mutate(make_pod(), role_sa(), settings=WebhookSettings(sts_regional_endpoint=True))
    assert container(result)["env"] == [env("AWS_STS_REGIONAL_ENDPOINTS", "regional"), *wi_env()]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3600", 3600),
        ("600", 600),
        ("599", 600),
        ("100", 600),
        ("0", 600),
        ("-5", 600),
        ("+7200", 7200),
        ("007200", 7200),
        ("99999999", 99999999),  # no upper bound
        ("9223372036854775807", 9223372036854775807),
        ("9223372036854775808", 86400),  # int64 overflow: ignored
        ("abc", 86400),
        ("1e4", 86400),
        (" 3600", 86400),
        ("3_600", 86400),
        ("", 86400),
    ],
)
def test_sa_token_expiration(value, expected):
    result = mutate(make_pod(), role_sa(token_expiration=value))
    assert token_source(result)["expirationSeconds"] == expected


def test_flag_token_expiration_used_and_clamped():
    assert token_source(mutate(make_pod(), role_sa(), settings=WebhookSettings(token_expiration=3600)))["expirationSeconds"] == 3600
    assert WebhookSettings(token_expiration=10).token_expiration == 600
    assert token_source(mutate(make_pod(), role_sa(), settings=WebhookSettings(token_expiration=10)))["expirationSeconds"] == 600


# --- §1.2 pod annotations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pod_value", "expected"),
    [("1200", 1200), ("0", 600), ("30", 600), ("bogus", 7200), ("12.5", 7200)],
)
def test_pod_token_expiration_overrides_sa(pod_value, expected):
    pod = make_pod(annotations={"eks.amazonaws.com/token-expiration": pod_value})
    result = mutate(pod, role_sa(token_expiration="7200"))
    assert token_source(result)["expirationSeconds"] == expected
    assert bool(result.notes) is (expected == 7200)  # a malformed value is reported


def test_role_audience_regional_not_read_from_pod():
    pod = make_pod(
        annotations={
            "eks.amazonaws.com/role-arn": "arn:aws:iam::999999999999:role/other",
            "eks.amazonaws.com/audience": "pod-aud",
            "eks.amazonaws.com/sts-regional-endpoints": "true",
        }
    )
    assert mutate(pod, make_sa()).patch == []
    result = mutate(pod, role_sa())
    assert container(result)["env"] == wi_env()
    assert token_source(result)["audience"] == "sts.amazonaws.com"


def test_skip_containers_on_sa_is_ignored():
    result = mutate(make_pod(), role_sa(skip_containers="app"))
    assert container(result)["env"] == wi_env()


@pytest.mark.parametrize(
    ("annotation", "skipped"),
    [
        ("app", {"app"}),
        ("app,sidecar", {"app", "sidecar"}),
        ("app, sidecar", {"app"}),  # no trimming: " sidecar" matches nothing
        ('"app,sidecar",init', {"init"}),  # quoted field holds a comma
        ('"app","sidecar"', {"app", "sidecar"}),
        ("init\nsidecar", {"init"}),  # first record only
        ("\n\napp", {"app"}),  # empty lines skipped
        ('app"x', set()),  # bare quote: parse error, nothing skipped
        ('"app', set()),  # unterminated quote
        ('"app"x', set()),  # text after closing quote
        ("", set()),  # empty: nothing skipped
    ],
)
def test_skip_containers(annotation, skipped):
    containers = [{"name": n, "image": "x"} for n in ("app", "sidecar")]
    init = [{"name": "init", "image": "x"}]
    pod = make_pod(containers, init=init, annotations={"eks.amazonaws.com/skip-containers": annotation})
    result = mutate(pod, role_sa())
    for kind, ctrs in (("containers", containers), ("initContainers", init)):
        for i, original in enumerate(ctrs):
            got = result.pod["spec"][kind][i]
            if original["name"] in skipped:
                assert got == original
            else:
                assert got["env"] == wi_env() and got["volumeMounts"] == [WI_MOUNT]
    assert result.pod["spec"]["volumes"][0]["name"] == "aws-iam-token"


def test_skipping_every_container_still_adds_volume():
    pod = make_pod(annotations={"eks.amazonaws.com/skip-containers": "app"})
    result = mutate(pod, role_sa())
    assert result.pod["spec"]["containers"] == pod["spec"]["containers"]
    assert result.pod["spec"]["volumes"][0]["name"] == "aws-iam-token"


# --- annotation prefix and hard-coded labels (§1.3) --------------------------------------------


def test_custom_annotation_prefix():
    settings = WebhookSettings(annotation_prefix="iam.example.com")
    sa = make_sa({"iam.example.com/role-arn": ROLE, "iam.example.com/token-expiration": "1800"})
    pod = make_pod(annotations={"iam.example.com/skip-containers": "other", "eks.amazonaws.com/token-expiration": "900"})
    result = mutate(pod, sa, settings=settings)
    assert token_source(result)["expirationSeconds"] == 1800
    assert container(result)["env"] == wi_env()
    assert mutate(make_pod(), role_sa(), settings=settings).patch == []  # eks.amazonaws.com/role-arn ignored


def test_cc_label_ignores_annotation_prefix():
    settings = WebhookSettings(annotation_prefix="iam.example.com")
    result = mutate(make_pod(), None, settings=settings, cc=frozenset({("default", "app")}), jitter=lambda lo, hi: lo)
    assert result.pod["metadata"]["labels"] == {"eks.amazonaws.com/pod-identity": "enabled"}


# --- §2.2 env and mount rules -------------------------------------------------------------------

REGION = WebhookSettings(aws_default_region="eu-west-1", sts_regional_endpoint=True)


@pytest.mark.parametrize(
    ("existing", "added"),
    [
        ([], ["AWS_STS_REGIONAL_ENDPOINTS", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]),
        (["AWS_ROLE_ARN"], ["AWS_STS_REGIONAL_ENDPOINTS", "AWS_DEFAULT_REGION", "AWS_REGION"]),
        (["AWS_WEB_IDENTITY_TOKEN_FILE"], ["AWS_STS_REGIONAL_ENDPOINTS", "AWS_DEFAULT_REGION", "AWS_REGION"]),
        (["AWS_REGION"], ["AWS_STS_REGIONAL_ENDPOINTS", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]),
        (["AWS_DEFAULT_REGION"], ["AWS_STS_REGIONAL_ENDPOINTS", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]),
        (["AWS_STS_REGIONAL_ENDPOINTS"], ["AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]),
        (["AWS_CONTAINER_CREDENTIALS_FULL_URI"], ["AWS_STS_REGIONAL_ENDPOINTS", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]),
    ],
)
def test_env_never_overwritten_and_pairs(existing, added):
    original_env = [env(name, "preset") for name in existing]
    pod = make_pod([{"name": "app", "image": "x", "env": copy.deepcopy(original_env)}])
    result = mutate(pod, role_sa(), settings=REGION)
    got = container(result)["env"]
    assert got[: len(original_env)] == original_env  # kept, in place, values untouched
    assert [e["name"] for e in got[len(original_env) :]] == added
    assert container(result)["volumeMounts"] == [WI_MOUNT]


def test_early_exit_leaves_container_unchanged_but_adds_volume():
    preset = [env(n, "preset") for n in ("AWS_ROLE_ARN", "AWS_REGION", "AWS_STS_REGIONAL_ENDPOINTS")]
    pod = make_pod([{"name": "app", "image": "x", "env": copy.deepcopy(preset)}])
    result = mutate(pod, role_sa(), settings=REGION)
    assert container(result) == pod["spec"]["containers"][0]  # no env, no mount
    assert result.pod["spec"]["volumes"][0]["name"] == "aws-iam-token"


def test_no_early_exit_without_region_var_even_when_region_flag_empty():
    preset = [env(n, "preset") for n in ("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_STS_REGIONAL_ENDPOINTS")]
    pod = make_pod([{"name": "app", "image": "x", "env": copy.deepcopy(preset)}])
    result = mutate(pod, role_sa())
    assert container(result)["env"] == preset
    assert container(result)["volumeMounts"] == [WI_MOUNT]


def test_env_appended_after_existing_vars_and_env_from_ignored():
    ctr = {
        "name": "app",
        "image": "x",
        "env": [env("FOO", "1")],
        "envFrom": [{"configMapRef": {"name": "aws-settings"}}],
    }
    result = mutate(make_pod([ctr]), role_sa(), settings=WebhookSettings(aws_default_region="us-east-2"))
    assert container(result)["env"] == [
        env("FOO", "1"),
        env("AWS_DEFAULT_REGION", "us-east-2"),
        env("AWS_REGION", "us-east-2"),
        *wi_env(),
    ]
    assert container(result)["envFrom"] == ctr["envFrom"]


def test_no_region_flag_no_region_vars():
    result = mutate(make_pod(), role_sa())
    assert container(result)["env"] == wi_env()


def test_existing_mount_with_same_name_is_left_alone():
    ctr = {"name": "app", "image": "x", "volumeMounts": [{"name": "aws-iam-token", "mountPath": "/elsewhere"}]}
    result = mutate(make_pod([ctr]), role_sa())
    assert container(result)["volumeMounts"] == [{"name": "aws-iam-token", "mountPath": "/elsewhere"}]
    assert container(result)["env"] == wi_env()  # still points at the default path


def test_init_containers_are_mutated_and_ephemeral_are_not():
    init = [{"name": "init", "image": "x"}, {"name": "sidecar", "image": "x", "restartPolicy": "Always"}]
    pod = make_pod(init=init)
    pod["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox"}]
    result = mutate(pod, role_sa())
    for i in range(2):
        assert container(result, i, "initContainers")["env"] == wi_env()
        assert container(result, i, "initContainers")["volumeMounts"] == [WI_MOUNT]
    assert container(result, 1, "initContainers")["restartPolicy"] == "Always"  # unlike upstream before PR #209
    assert result.pod["spec"]["ephemeralContainers"] == [{"name": "debug", "image": "busybox"}]


def test_unknown_fields_survive():
    pod = make_pod([{"name": "app", "image": "x", "futureField": {"a": 1}}])
    pod["spec"]["futureSpecField"] = True
    result = mutate(pod, role_sa(), validate=False)
    kubernetes_validate.validate(result.pod, "1.32", strict=False)  # strict mode rejects unknown fields by design
    assert container(result)["futureField"] == {"a": 1}
    assert result.pod["spec"]["futureSpecField"] is True


def test_container_without_env_or_mounts_gets_new_lists():
    result = mutate(make_pod([{"name": "app", "image": "x"}]), role_sa())
    assert {op["path"] for op in result.patch} >= {"/spec/containers/0/env", "/spec/containers/0/volumeMounts"}


# --- §2.3 volume -------------------------------------------------------------------------------


def test_volume_when_volumes_absent():
    result = mutate(make_pod(volumes=None), role_sa())
    assert {"op": "add", "path": "/spec/volumes", "value": [WI_VOLUME]} in result.patch
    assert result.pod["spec"]["volumes"] == [WI_VOLUME]


def test_volume_when_volumes_empty_list():
    result = mutate(make_pod(volumes=[]), role_sa())
    assert {"op": "add", "path": "/spec/volumes/0", "value": WI_VOLUME} in result.patch


def test_existing_volume_with_same_name_is_not_replaced():
    host = {"name": "aws-iam-token", "hostPath": {"path": "/tmp"}}
    result = mutate(make_pod(volumes=[host]), role_sa())
    assert result.pod["spec"]["volumes"] == [host]
    assert container(result)["env"] == wi_env()


def test_volume_has_no_default_mode():
    assert "defaultMode" not in mutate(make_pod(), role_sa()).pod["spec"]["volumes"][0]["projected"]


# --- Windows (§2.2) and token path joining --------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "windows"),
    [
        ({"kubernetes.io/os": "windows"}, True),
        ({"beta.kubernetes.io/os": "windows"}, True),
        ({"kubernetes.io/os": "Windows"}, False),
        ({"kubernetes.io/os": "linux"}, False),
        ({}, False),
    ],
)
def test_windows_token_path(selector, windows):
    result = mutate(make_pod(node_selector=selector), role_sa())
    expected = "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token" if windows else WI_TOKEN_FILE
    assert container(result)["env"][1] == env("AWS_WEB_IDENTITY_TOKEN_FILE", expected)
    assert container(result)["volumeMounts"][-1]["mountPath"] == WI_MOUNT_PATH  # stays Unix


def test_spec_os_is_not_considered():
    pod = make_pod()
    pod["spec"]["os"] = {"name": "windows"}
    assert container(mutate(pod, role_sa()))["env"][1]["value"] == WI_TOKEN_FILE


@pytest.mark.parametrize(
    ("mount_path", "token_file"),
    [("/var/run/x/", "/var/run/x/token"), ("/var//run/x", "/var/run/x/token"), ("/a/./b/../c", "/a/c/token")],
)
def test_token_file_is_path_joined_and_mount_path_raw(mount_path, token_file):
    result = mutate(make_pod(), role_sa(), settings=WebhookSettings(token_mount_path=mount_path))
    assert container(result)["env"][1]["value"] == token_file
    assert container(result)["volumeMounts"][-1]["mountPath"] == mount_path


# --- §1.4 ConfigMap and precedence (§1.6) ---------------------------------------------------------

CM_TEXT = json.dumps(
    {
        "default/app": {"RoleARN": "arn:aws:iam::111122223333:role/from-cm", "Audience": "cm-aud", "UseRegionalSTS": True, "TokenExpiration": 3600},
        "*/shared": {"RoleARN": "arn:aws:iam::111122223333:role/wildcard"},
        "other/shared": {"RoleARN": "arn:aws:iam::111122223333:role/exact"},
        "test-*/app2": {"RoleARN": "arn:aws:iam::111122223333:role/never"},
        "default/short": {"RoleARN": "arn:aws:iam::111122223333:role/short", "TokenExpiration": 300},
    }
)


def cm() -> dict[str, IdentityConfig]:
    return parse_config_map(CM_TEXT, WebhookSettings())


def test_config_map_used_when_sa_has_no_role():
    result = mutate(make_pod(), make_sa(), config_map=cm())
    assert container(result)["env"] == [env("AWS_STS_REGIONAL_ENDPOINTS", "regional"), *wi_env("arn:aws:iam::111122223333:role/from-cm")]
    assert token_source(result) == {"audience": "cm-aud", "expirationSeconds": 3600, "path": "token"}


def test_config_map_used_when_sa_not_cached():
    assert mutate(make_pod(), None, config_map=cm()).mode is Mode.WEB_IDENTITY


def test_sa_role_wins_over_config_map():
    result = mutate(make_pod(), role_sa(), config_map=cm())
    assert container(result)["env"] == wi_env()
    assert token_source(result) == {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}


def test_config_map_wildcard_namespace_and_exact_first():
    pod = make_pod(sa="shared")
    assert container(mutate(pod, None, namespace="any", config_map=cm()))["env"][0]["value"].endswith("role/wildcard")
    assert container(mutate(pod, None, namespace="other", config_map=cm()))["env"][0]["value"].endswith("role/exact")


def test_config_map_glob_keys_match_nothing():
    assert mutate(make_pod(sa="app2"), None, namespace="test-ns", config_map=cm()).patch == []


def test_config_map_defaults_audience_empty_expiration_flag_not_clamped():
    settings = WebhookSettings(token_expiration=7200)
    mapping = parse_config_map(CM_TEXT, settings)
    wildcard = mutate(make_pod(sa="shared"), None, namespace="x", config_map=mapping, settings=settings)
    assert token_source(wildcard) == {"audience": "", "expirationSeconds": 7200, "path": "token"}
    short = mutate(make_pod(sa="short"), None, config_map=mapping, settings=settings)
    assert token_source(short)["expirationSeconds"] == 300  # not clamped to 600


def test_pod_annotation_overrides_config_map_expiration():
    pod = make_pod(annotations={"eks.amazonaws.com/token-expiration": "1000"})
    assert token_source(mutate(pod, None, config_map=cm()))["expirationSeconds"] == 1000


def test_config_map_field_names_are_case_insensitive_like_go():
    mapping = parse_config_map('{"ns/sa": {"rolearn": "arn:aws:iam::111122223333:role/r", "useregionalsts": true}}', WebhookSettings())
    assert mapping["ns/sa"].role_arn == "arn:aws:iam::111122223333:role/r" and mapping["ns/sa"].regional_sts


@pytest.mark.parametrize("text", ["[1]", '{"a/b": 1}', '{"a/b": {"RoleARN": 5}}', '{"a/b": {"TokenExpiration": "60"}}', "{"])
def test_bad_config_map_is_rejected(text):
    with pytest.raises(ValueError):
        parse_config_map(text, WebhookSettings())


# --- §1.5 / §2.6 container credentials ---------------------------------------------------------

CC = frozenset({("default", "app")})


def test_container_credentials_mode():
    result = mutate(make_pod(), None, cc=CC, jitter=lambda lo, hi: 80000)
    assert result.mode is Mode.CONTAINER_CREDENTIALS
    assert result.pod["metadata"]["labels"] == {"eks.amazonaws.com/pod-identity": "enabled"}
    assert {"op": "add", "path": "/metadata/labels", "value": {"eks.amazonaws.com/pod-identity": "enabled"}} in result.patch
    assert container(result)["env"] == [
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI", CC_URI),
        env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", CC_TOKEN_FILE),
    ]
    assert container(result)["volumeMounts"][-1] == {"name": "eks-pod-identity-token", "readOnly": True, "mountPath": CC_MOUNT_PATH}
    assert result.pod["spec"]["volumes"][0] == {
        "name": "eks-pod-identity-token",
        "projected": {
            "sources": [{"serviceAccountToken": {"audience": "pods.eks.amazonaws.com", "expirationSeconds": 80000, "path": "eks-pod-identity-token"}}]
        },
    }


def test_cc_label_added_to_existing_labels():
    result = mutate(make_pod(labels={"app": "web"}), None, cc=CC, jitter=lambda lo, hi: lo)
    assert {"op": "add", "path": "/metadata/labels/eks.amazonaws.com~1pod-identity", "value": "enabled"} in result.patch
    assert result.pod["metadata"]["labels"] == {"app": "web", "eks.amazonaws.com/pod-identity": "enabled"}


def test_cc_takes_precedence_over_role_and_keeps_existing_wi_vars():
    ctr = {"name": "app", "image": "x", "env": [env("AWS_ROLE_ARN", ROLE)]}
    sa = role_sa(sts_regional_endpoints="true", audience="ignored")
    result = mutate(make_pod([ctr]), sa, cc=CC, jitter=lambda lo, hi: lo, settings=WebhookSettings(aws_default_region="us-west-2"))
    assert result.mode is Mode.CONTAINER_CREDENTIALS
    assert container(result)["env"] == [
        env("AWS_ROLE_ARN", ROLE),
        env("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
        env("AWS_DEFAULT_REGION", "us-west-2"),
        env("AWS_REGION", "us-west-2"),
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI", CC_URI),
        env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", CC_TOKEN_FILE),
    ]
    assert token_source(result, "eks-pod-identity-token")["audience"] == "pods.eks.amazonaws.com"


def test_cc_pair_and_early_exit():
    one = {"name": "a", "image": "x", "env": [env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/t")]}
    full = {"name": "b", "image": "x", "env": [env(n, "p") for n in ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_DEFAULT_REGION", "AWS_STS_REGIONAL_ENDPOINTS")]}
    result = mutate(make_pod([one, full]), None, cc=CC, jitter=lambda lo, hi: lo, settings=REGION)
    # SA not cached and no ConfigMap entry: regionalSTS is the literal false of §2.1, not the flag
    assert [e["name"] for e in container(result, 0)["env"]] == [
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_DEFAULT_REGION", "AWS_REGION"
    ]
    assert container(result, 0)["volumeMounts"][-1]["name"] == "eks-pod-identity-token"
    assert container(result, 1) == full


@pytest.mark.parametrize(
    ("sa", "cm_text", "pod_exp", "expected", "jittered"),
    [
        (None, None, None, 86400, True),  # (false, 86400) default, then jitter
        (make_sa({"eks.amazonaws.com/token-expiration": "7200"}), None, None, 7200, False),
        (make_sa(), None, None, 3600, False),  # SA cached: its value is the flag (3600 below)
        (None, '{"default/app": {"TokenExpiration": 5000}}', None, 5000, False),
        (None, '{"*/app": {"TokenExpiration": 5000}}', None, 86400, True),  # no '*' fallback in this mode
        (None, None, "1800", 1800, False),
        (make_sa({"eks.amazonaws.com/token-expiration": "7200"}), None, "86400", 86400, True),
    ],
)
def test_cc_expiration_sources_and_jitter(sa, cm_text, pod_exp, expected, jittered):
    settings = WebhookSettings(token_expiration=3600)
    calls = []

    def jitter(lo, hi):
        calls.append((lo, hi))
        return 80001

    mapping = parse_config_map(cm_text, settings) if cm_text else None
    pod = make_pod(annotations={"eks.amazonaws.com/token-expiration": pod_exp} if pod_exp else None)
    result = mutate(pod, sa, cc=CC, config_map=mapping, jitter=jitter, settings=settings)
    got = token_source(result, "eks-pod-identity-token")["expirationSeconds"]
    if jittered:
        assert calls == [(79200, 86400)] and got == 80001
    else:
        assert calls == [] and got == expected


def test_cc_regional_sts_from_config_map_exact_key():
    mapping = parse_config_map('{"default/app": {"UseRegionalSTS": true}}', WebhookSettings())
    result = mutate(make_pod(), None, cc=CC, config_map=mapping, jitter=lambda lo, hi: lo)
    assert container(result)["env"][0] == env("AWS_STS_REGIONAL_ENDPOINTS", "regional")


def test_cc_custom_flags():
    settings = WebhookSettings(
        container_credentials_audience="aud",
        container_credentials_token_mount_path="/m",
        container_credentials_token_volume_name="vol",
        container_credentials_token_path="tok",
        container_credentials_full_uri="http://[fd00:ec2::23]/v1/credentials",
    )
    result = mutate(make_pod(), None, cc=CC, settings=settings, jitter=lambda lo, hi: lo)
    assert container(result)["env"] == [
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://[fd00:ec2::23]/v1/credentials"),
        env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/m/tok"),
    ]
    assert container(result)["volumeMounts"][-1] == {"name": "vol", "readOnly": True, "mountPath": "/m"}
    assert token_source(result, "vol") == {"audience": "aud", "expirationSeconds": 79200, "path": "tok"}


def test_web_identity_never_jitters():
    result = mutate(make_pod(annotations={"eks.amazonaws.com/token-expiration": "86400"}), role_sa())
    assert token_source(result)["expirationSeconds"] == 86400


def test_parse_container_credentials():
    text = '{"identities":[{"namespace":"foo","serviceAccount":"bar"},{"namespace":"a","serviceAccount":"b"}]}'
    assert parse_container_credentials(text) == {("foo", "bar"), ("a", "b")}
    assert parse_container_credentials("") == frozenset()
    with pytest.raises(ValueError):
        parse_container_credentials('{"identities":[{"namespace":1}]}')


# --- beyond upstream: fsGroup and per-pod region -------------------------------------------------


@pytest.mark.parametrize(
    ("pod_sc", "ctr_sc", "expected"),
    [
        ({"runAsUser": 1000}, None, {"runAsUser": 1000, "fsGroup": 65534}),
        (None, {"runAsUser": 1000}, {"fsGroup": 65534}),
        ({"runAsUser": 0}, None, {"runAsUser": 0}),
        ({"runAsUser": 1000, "fsGroup": 2000}, None, {"runAsUser": 1000, "fsGroup": 2000}),
        (None, None, None),
    ],
)
def test_fs_group_injection(pod_sc, ctr_sc, expected):
    ctr = {"name": "app", "image": "x"}
    if ctr_sc:
        ctr["securityContext"] = ctr_sc
    pod = make_pod([ctr], security_context=copy.deepcopy(pod_sc))
    result = mutate(pod, role_sa(), settings=WebhookSettings(fs_group=65534))
    assert result.pod["spec"].get("securityContext") == expected


def test_fs_group_off_by_default():
    pod = make_pod(security_context={"runAsUser": 1000})
    assert mutate(pod, role_sa()).pod["spec"]["securityContext"] == {"runAsUser": 1000}


@pytest.mark.parametrize(
    ("enabled", "value", "expected", "noted"),
    [
        (True, "ap-southeast-2", "ap-southeast-2", False),
        (True, "us-gov-west-1", "us-gov-west-1", False),
        (True, "not a region", "us-east-1", True),
        (True, "US-EAST-1", "us-east-1", True),
        (False, "ap-southeast-2", "us-east-1", False),
    ],
)
def test_pod_region_annotation(enabled, value, expected, noted):
    settings = WebhookSettings(aws_default_region="us-east-1", pod_region_annotation=enabled)
    result = mutate(make_pod(annotations={"eks.amazonaws.com/region": value}), role_sa(), settings=settings)
    assert container(result)["env"][:2] == [env("AWS_DEFAULT_REGION", expected), env("AWS_REGION", expected)]
    assert bool(result.notes) is noted


# --- malformed input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec_patch",
    [
        {"containers": {"name": "app"}},
        {"containers": ["app"]},
        {"containers": [{"name": "app", "env": {"A": "b"}}]},
        {"containers": [{"name": "app", "volumeMounts": "x"}]},
        {"volumes": {"a": 1}},
        {"nodeSelector": ["windows"]},
        {"serviceAccountName": 5},
    ],
)
def test_malformed_pod_raises(spec_patch):
    pod = make_pod()
    pod["spec"].update(spec_patch)
    sa = role_sa() if spec_patch.get("serviceAccountName") != 5 else None
    with pytest.raises(MalformedPod):
        mutate_pod(pod, "default", WebhookSettings(), service_account=sa)


def test_malformed_metadata_raises():
    with pytest.raises(MalformedPod):
        mutate_pod({"metadata": "x", "spec": {}}, "default", WebhookSettings(), service_account=None)
    with pytest.raises(MalformedPod):
        mutate_pod([], "default", WebhookSettings(), service_account=None)


def test_pod_without_metadata_gets_label_and_pod_without_spec_is_malformed():
    pod = make_pod()
    del pod["metadata"]
    result = mutate(pod, None, cc=CC, jitter=lambda lo, hi: lo)
    assert result.pod["metadata"] == {"labels": {"eks.amazonaws.com/pod-identity": "enabled"}}
    with pytest.raises(MalformedPod):
        mutate_pod({"metadata": {}}, "default", WebhookSettings(), service_account=None, container_credentials={("default", "")})


def test_container_credentials_patch_matches_upstream_shape():
    """§2.4: label op, volume op (volumes nil), then whole containers / initContainers arrays."""
    pod = make_pod([{"name": "app", "image": "x"}], init=[{"name": "init", "image": "x"}], volumes=None)
    result = mutate(pod, None, cc=CC, jitter=lambda lo, hi: 80000)
    cc_env = [env("AWS_CONTAINER_CREDENTIALS_FULL_URI", CC_URI), env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", CC_TOKEN_FILE)]
    mount = {"name": "eks-pod-identity-token", "readOnly": True, "mountPath": CC_MOUNT_PATH}
    upstream_patch = [
        {"op": "add", "path": "/metadata/labels", "value": {"eks.amazonaws.com/pod-identity": "enabled"}},
        {
            "op": "add",
            "path": "/spec/volumes",
            "value": [
                {
                    "name": "eks-pod-identity-token",
                    "projected": {"sources": [{"serviceAccountToken": {"audience": "pods.eks.amazonaws.com", "expirationSeconds": 80000, "path": "eks-pod-identity-token"}}]},
                }
            ],
        },
        {"op": "add", "path": "/spec/containers", "value": [{"name": "app", "image": "x", "env": cc_env, "resources": {}, "volumeMounts": [mount]}]},
        {"op": "add", "path": "/spec/initContainers", "value": [{"name": "init", "image": "x", "env": cc_env, "resources": {}, "volumeMounts": [mount]}]},
    ]
    assert normalise(result.pod) == normalise(jsonpatch.apply_patch(pod, upstream_patch))
