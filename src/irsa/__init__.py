"""irsa: IAM Roles for Service Accounts, implemented completely."""

__version__ = "0.1.0"
