"""IAM entities and operations: OIDC providers, roles, policies, attachments, tags, accounts."""
