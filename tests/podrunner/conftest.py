from tests.service.conftest import irsa_up  # noqa: F401
