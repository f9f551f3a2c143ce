"""Sign-in through a real OpenID Connect provider process (tests/helpers/identity_provider.py).

These tests need Node.js and `npm ci --prefix tests/idp/provider`; .ci/legs/30-browser.sh
installs it and runs them (`-m "browser or idp"`). Elsewhere they are skipped with that reason.
"""

import pytest

from ..helpers.identity_provider import configure, provider_available, start_provider


def pytest_collection_modifyitems(config, items):
    why = provider_available()
    for item in items:
        if "tests/idp/" in str(item.fspath):
            item.add_marker(pytest.mark.idp)
            if why:
                item.add_marker(pytest.mark.skip(reason=f"idp: {why}"))


@pytest.fixture(scope="session")
def identity_provider(live_server, tmp_path_factory):
    provider = start_provider(tmp_path_factory.mktemp("idp"), [f"{live_server.url}/oidc/callback/"])
    yield provider
    provider.stop()


@pytest.fixture
def sso(settings, identity_provider):
    """releasegate configured for the provider, with the test's own copy of its accounts."""
    configure(settings, identity_provider)
    identity_provider.accounts.clear()
    return identity_provider
