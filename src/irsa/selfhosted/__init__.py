"""Self-hosted issuer tooling for kops/k3s/kind-style clusters (reference issuer-cli-and-doctor.md §1, §2, §7).

- ``issuer_url``: checks on an issuer URL (https, no query/fragment, trailing-slash and legacy-S3 warnings),
  the ``jwks_uri`` we publish (``<issuer>/keys.json``, shape A) and where an S3-hosted issuer lives.
- ``publish``: the static issuer folder (``.well-known/openid-configuration`` + ``keys.json``), written
  all-or-nothing, and the upload instructions (content types, cache headers, ``aws s3 cp``).
- ``keystate``: a state directory holding the signing key, the verification-key bundle and a JSON manifest,
  with the staged rotation publish → switch → drop.
- ``apiserver``: the kube-apiserver / kube-controller-manager flags for a state directory.
- ``migration``: the two-statement trust policy that trusts an old and a new issuer during an issuer change.

Keys, kids, documents and tokens come from ``irsa.oidc``; nothing here re-derives them.
"""
