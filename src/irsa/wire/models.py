"""The AWS service models that ship inside botocore: the one source of every wire shape."""

from __future__ import annotations

from functools import lru_cache

from botocore.loaders import Loader
from botocore.model import ServiceModel


@lru_cache(maxsize=None)
def service_model(service: str) -> ServiceModel:
    """botocore's ``service-2`` model for ``service`` (``iam``, ``sts``, ``eks``), loaded once."""
    return ServiceModel(Loader().load_service_model(service, "service-2"), service_name=service)


def lower_camel(name: str) -> str:
    """Member name as AWS prints it in validation messages: ``RoleSessionName`` -> ``roleSessionName``."""
    return name[:1].lower() + name[1:]
