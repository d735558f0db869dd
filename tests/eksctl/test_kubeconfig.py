"""The kubeconfig path: ServiceAccounts applied to a Kubernetes API through lightkube (here a small in-test
server speaking the Kubernetes API for namespaces and serviceaccounts), with IAM in `irsa up`."""

from __future__ import annotations

import pytest

from tests.eksctl.helpers import S3_READ_ONLY, boto, environments, role_names, run
from tests.eksctl.kube_api import KubernetesServiceAccountApi
from tests.service.helpers import irsa


@pytest.fixture
def kube_api():
    api = KubernetesServiceAccountApi().start()
    try:
        yield api
    finally:
        api.stop()


def test_create_get_delete_through_kubeconfig(irsa_up, kube_api, tmp_path):
    _port, _issuer_port, data, env = irsa_up
    d = ["--data-dir", str(data)]
    irsa("cluster", "create", "prod", *d, env=env)
    cli, inproc = environments(data, env, tmp_path)
    iam = boto(cli, "iam")
    kc = ["--kubeconfig", str(kube_api.write_kubeconfig(tmp_path / "kubeconfig"))]
    run(inproc, "utils", "associate-iam-oidc-provider", "--cluster", "prod", "--approve", *d)

    def create(namespace: str, name: str, *extra: str, code: int = 0):
        return run(inproc, "create", "iamserviceaccount", "--cluster", "prod", "--namespace", namespace, "--name", name,
                   "--attach-policy-arn", S3_READ_ONLY, *kc, *extra, *d, code=code)

    # a namespace that does not exist is created (eksctl does), then the SA; the plan touches nothing
    create("web", "frontend")
    assert "web" not in kube_api.namespaces and not kube_api.serviceaccounts and role_names(iam) == []
    create("web", "frontend", "--approve")
    (role,) = iam.list_roles()["Roles"]
    sa = kube_api.serviceaccounts[("web", "frontend")]
    assert "web" in kube_api.namespaces
    assert sa["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "eksctl"}
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role["Arn"]}

    # an existing SA: refused, then merged with --override-existing-serviceaccounts (a merge patch keeps its metadata)
    kube_api.serviceaccounts[("default", "worker")] = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "name": "worker", "namespace": "default", "labels": {"app": "worker"}, "annotations": {"team": "b"}}}
    assert "already exists" in create("default", "worker", "--approve", code=1).stderr
    assert len(role_names(iam)) == 1
    create("default", "worker", "--override-existing-serviceaccounts", "--approve")
    worker = kube_api.serviceaccounts[("default", "worker")]["metadata"]
    worker_role = worker["annotations"]["eks.amazonaws.com/role-arn"]
    assert worker["labels"] == {"app": "worker", "app.kubernetes.io/managed-by": "eksctl"}
    assert worker["annotations"] == {"team": "b", "eks.amazonaws.com/role-arn": worker_role}
    assert ("PATCH", "/api/v1/namespaces/default/serviceaccounts/worker") in kube_api.requests

    table = run(inproc, "get", "iamserviceaccount", "--cluster", "prod", *kc, *d).stdout.splitlines()
    assert [line.split() for line in table[1:]] == [["default", "worker", worker_role], ["web", "frontend", role["Arn"]]]

    # the Kubernetes API refuses the SA after the role was made: the role and the namespace it created are rolled back
    kube_api.fail[("POST", "serviceaccounts")] = (403, "Forbidden", 'serviceaccounts is forbidden: User "ci" cannot create resource')
    failed = create("jobs", "batch", "--approve", code=1)
    assert "Forbidden" in failed.stderr and "rolled back" in failed.stderr and "deleted namespace jobs" in failed.stderr
    assert "still exists: nothing created by this command" in failed.stderr
    assert "jobs" not in kube_api.namespaces and len(role_names(iam)) == 2
    del kube_api.fail[("POST", "serviceaccounts")]

    # delete both: roles and SAs gone, the namespace stays (as eksctl leaves it)
    for namespace, name in (("web", "frontend"), ("default", "worker")):
        run(inproc, "delete", "iamserviceaccount", "--cluster", "prod", "--namespace", namespace, "--name", name, "--approve", *kc, *d)
    assert role_names(iam) == [] and kube_api.serviceaccounts == {} and "web" in kube_api.namespaces

    # an unusable kubeconfig: a clear error before anything is created
    bad = run(inproc, "create", "iamserviceaccount", "--cluster", "prod", "--name", "x", "--attach-policy-arn", S3_READ_ONLY,
              "--kubeconfig", str(tmp_path / "missing"), "--approve", *d, code=1)
    assert "does not exist" in bad.stderr and role_names(iam) == []
