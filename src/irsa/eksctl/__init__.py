"""eksctl-style IRSA workflows: ``utils associate-iam-oidc-provider`` and ``create|get|delete iamserviceaccount``.

Modules: ``naming`` (pure: trust policy, role names, tags, ServiceAccount objects), ``thumbprint`` (the TLS
chain an issuer presents), ``aws`` (botocore clients for the configured endpoint), ``serviceaccounts``
(where ServiceAccounts go: ``irsa up``'s registry, a real cluster via kubeconfig), ``provider`` and
``iamserviceaccount`` (the workflows; plan mode unless approved). The typer apps are in ``irsa.cli.eksctl``.
"""
