"""Async tests run on anyio's asyncio backend: mark them with ``pytest.mark.anyio``.

The fixtures ``plugin_manager``, ``register_plugin``, ``echo_provider``,
``fake_provider_server`` and ``make_orchestrator`` come from the pytest plugin that
``dynamic-orchestrator-core`` installs; nothing needs importing.
"""

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Run ``pytest.mark.anyio`` tests (and async fixtures) on asyncio only."""
    return "asyncio"
