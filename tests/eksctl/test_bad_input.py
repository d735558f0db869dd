"""Bad input and failures part-way: clear message, exit 1, nothing half-created (brief; §3.2 preconditions,
§3.8 UX bugs). Checked against `irsa up` with boto3 and the registry CLI."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from irsa.cli.cluster import sa_app
from irsa.policy.managed import list_managed_policies
from tests.eksctl.helpers import (
    S3_READ_ONLY,
    boto,
    environments,
    registry_sa,
    role_names,
    run,
)
from tests.service.helpers import irsa


def test_bad_input_rollback_and_foreign_roles(irsa_up, tmp_path):
    _port, _issuer_port, data, env = irsa_up
    d = ["--data-dir", str(data)]
    irsa("cluster", "create", "demo", *d, env=env)
    cli, inproc = environments(data, env, tmp_path)
    iam = boto(cli, "iam")

    def create(*args: str, code: int = 1):
        return run(inproc, "create", "iamserviceaccount", "--cluster", "demo", "--namespace", "apps", *args, *d, code=code)

    def nothing_created(roles: list[str] | None = None) -> None:
        assert role_names(iam) == (roles or [])
        assert registry_sa(data, "demo", "apps", "app") is None

    # unknown cluster, for every command
    for cmd in (["utils", "associate-iam-oidc-provider", "--cluster", "nope"],
                ["create", "iamserviceaccount", "--cluster", "nope", "--name", "app", "--attach-policy-arn", S3_READ_ONLY, "--approve"],
                ["get", "iamserviceaccount", "--cluster", "nope"],
                ["delete", "iamserviceaccount", "--cluster", "nope", "--name", "app", "--approve"]):
        assert "cluster 'nope' not found" in run(inproc, *cmd, *d, code=1).stderr
    # no provider yet: eksctl's precondition
    out = create("--name", "app", "--attach-policy-arn", S3_READ_ONLY, "--approve")
    assert "no IAM OIDC provider associated with cluster" in out.stderr and "associate-iam-oidc-provider" in out.stderr
    nothing_created()
    run(inproc, "utils", "associate-iam-oidc-provider", "--cluster", "demo", "--approve", *d)

    # policies: missing, unknown, not an ARN; the boundary too; bad tags; bad names
    assert "--attach-policy-arn or --attach-role-arn is required" in create("--name", "app", "--approve").stderr
    assert "arn:aws:iam::aws:policy/NoSuchPolicyHere does not exist" in create(
        "--name", "app", "--attach-policy-arn", S3_READ_ONLY, "--attach-policy-arn", "arn:aws:iam::aws:policy/NoSuchPolicyHere", "--approve").stderr
    assert "not an IAM policy ARN" in create("--name", "app", "--attach-policy-arn", "AmazonS3ReadOnlyAccess", "--approve").stderr
    assert "does not exist" in create("--name", "app", "--attach-policy-arn", S3_READ_ONLY, "--permissions-boundary",
                                      "arn:aws:iam::210987654321:policy/missing-boundary", "--approve").stderr
    assert "--tags" in create("--name", "app", "--attach-policy-arn", S3_READ_ONLY, "--tags", "novalue", "--approve").stderr
    assert "invalid serviceaccount name" in create("--name", "App_1", "--attach-policy-arn", S3_READ_ONLY, "--approve").stderr
    nothing_created()

    # unwritable output path: refused before anything is created
    missing_dir = create("--name", "app", "--attach-policy-arn", S3_READ_ONLY, "--output", "yaml",
                         "--output-file", str(tmp_path / "no-such-dir" / "sa.yaml"), "--approve")
    assert "does not exist" in missing_dir.stderr
    assert "is a directory" in create("--name", "app", "--attach-policy-arn", S3_READ_ONLY, "--output", "yaml",
                                      "--output-file", str(tmp_path), "--approve").stderr
    nothing_created()

    # a role name taken by a role this tool did not create; --attach-role-arn conflicts and unknown roles
    foreign = iam.create_role(RoleName="foreign-role", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]
    taken = create("--name", "app", "--attach-policy-arn", S3_READ_ONLY, "--role-name", "foreign-role", "--approve")
    assert "'foreign-role' already exists" in taken.stderr and "not created by irsa" in taken.stderr
    assert "cannot be used with --role-name" in create("--name", "app", "--attach-role-arn", foreign["Arn"], "--role-name", "x", "--approve").stderr
    assert "does not exist" in create("--name", "app", "--attach-role-arn", "arn:aws:iam::210987654321:role/nope", "--approve").stderr
    nothing_created(["foreign-role"])

    # failure part-way: the 11th attachment exceeds IAM's 10-per-role quota -> the role just made is rolled back
    eleven = [p.arn for p in list_managed_policies()][:11]
    failed = create("--name", "app", *[a for arn in eleven for a in ("--attach-policy-arn", arn)], "--approve")
    assert "LimitExceeded" in failed.stderr and "rolled back" in failed.stderr
    assert "still exists: nothing created by this command" in failed.stderr
    nothing_created(["foreign-role"])

    # an SA that exists: refused without --override-existing-serviceaccounts; merged with it
    made = CliRunner().invoke(sa_app, ["create", "app", "--cluster", "demo", "--namespace", "apps", "--annotation", "team=a", *d],
                              env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None})
    assert made.exit_code == 0, made.output
    exists = create("--name", "app", "--attach-policy-arn", S3_READ_ONLY, "--approve")
    assert "serviceaccount apps/app already exists" in exists.stderr and "--override-existing-serviceaccounts" in exists.stderr
    assert role_names(iam) == ["foreign-role"]
    create("--name", "app", "--attach-policy-arn", S3_READ_ONLY, "--role-name", "app-role", "--override-existing-serviceaccounts",
           "--approve", code=0)
    sa = registry_sa(data, "demo", "apps", "app")
    role_arn = iam.get_role(RoleName="app-role")["Role"]["Arn"]
    assert sa["metadata"]["annotations"] == {"team": "a", "eks.amazonaws.com/role-arn": role_arn}
    run(inproc, "delete", "iamserviceaccount", "--cluster", "demo", "--namespace", "apps", "--name", "app", "--approve", *d)
    assert role_names(iam) == ["foreign-role"] and registry_sa(data, "demo", "apps", "app") is None

    # --output yaml: the role is created, the SA printed (with the role's ARN) and not applied
    printed = create("--name", "printed", "--attach-policy-arn", S3_READ_ONLY, "--role-name", "printed-role", "--output", "yaml",
                     "--approve", code=0)
    doc = yaml.safe_load(printed.stdout)
    assert doc["kind"] == "ServiceAccount" and doc["metadata"]["namespace"] == "apps" and doc["metadata"]["name"] == "printed"
    assert doc["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": iam.get_role(RoleName="printed-role")["Role"]["Arn"]}
    assert registry_sa(data, "demo", "apps", "printed") is None
    run(inproc, "delete", "iamserviceaccount", "--cluster", "demo", "--namespace", "apps", "--name", "printed", "--approve", *d)
    assert role_names(iam) == ["foreign-role"]

    # --attach-role-arn: only the SA is ours; delete removes it and leaves the role
    create("--name", "app", "--attach-role-arn", foreign["Arn"], "--approve", code=0)
    assert registry_sa(data, "demo", "apps", "app")["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": foreign["Arn"]}
    rows = run(inproc, "get", "iamserviceaccount", "--cluster", "demo", "-o", "json", *d).stdout
    assert json.loads(rows) == [{"metadata": {"name": "app", "namespace": "apps"}, "status": {"roleARN": foreign["Arn"]}}]
    deleted = run(inproc, "delete", "iamserviceaccount", "--cluster", "demo", "--namespace", "apps", "--name", "app", "--approve", *d)
    assert "leaving IAM role" in deleted.stderr and foreign["Arn"] in deleted.stderr
    nothing_created(["foreign-role"])

    # a role made by eksctl (its CloudFormation name, its stack tags propagated) for the same SA: shown, never deleted
    eksctl_role = "eksctl-demo-addon-iamserviceaccount-apps-app-Role1-EKSCTLMADE001"
    iam.create_role(RoleName=eksctl_role, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        Tags=[{"Key": "alpha.eksctl.io/iamserviceaccount-name", "Value": "apps/app"}, {"Key": "alpha.eksctl.io/cluster-name", "Value": "demo"}])
    listed = run(inproc, "get", "iamserviceaccount", "--cluster", "demo", *d).stdout
    assert eksctl_role in listed
    refused = run(inproc, "delete", "iamserviceaccount", "--cluster", "demo", "--namespace", "apps", "--name", "app", "--approve", *d, code=1)
    assert "not found" in refused.stderr and "not created by irsa" in refused.stderr
    assert role_names(iam) == [eksctl_role, "foreign-role"]
