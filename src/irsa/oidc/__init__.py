"""OIDC: signing keys and Kubernetes-style key ids, discovery/JWKS documents, service-account token
minting, web-identity token verification (as AWS STS does it), JWKS retrieval + cache, local CA and TLS
thumbprints."""
