"""The pytest plugin for plugin authors (installed with the core, active automatically).

Fixtures:

- ``plugin_manager``: a fresh manager with no installed plugins (only the host's built-ins).
- ``register_plugin``: ``register_plugin(obj, name=None)`` registers a plugin on the
  ``plugin_manager`` and always unregisters it when the test ends.
- ``echo_provider``: a deterministic :class:`~dynamic_orchestrator.testing.fakes.EchoProvider`.
- ``make_orchestrator``: ``await make_orchestrator(config=None, plugins=(...))`` builds an
  initialized :class:`~dynamic_orchestrator.Orchestrator` on ``plugin_manager`` with the
  default plugins plus yours; closed when the test ends.
- ``fake_provider_server``: a :class:`~dynamic_orchestrator.testing.fake_server.FakeProviderServer`
  speaking the OpenAI, Anthropic and Gemini wire formats on 127.0.0.1, started once per
  session and reset (requests, scripts, latency) before each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from ..config import Config
from ..orchestrator import Orchestrator
from ..plugins import PluginManager, make_plugin_manager
from .fakes import EchoProvider


@pytest.fixture
def plugin_manager() -> PluginManager:
    """A plugin manager with the host's built-ins only: no installed plugin is loaded."""
    return make_plugin_manager(load_entrypoints=False)


@pytest.fixture
def register_plugin(plugin_manager: PluginManager) -> Iterator[Callable[..., str]]:
    """Register plugin objects for one test; each is unregistered afterwards, always."""
    names: list[str] = []

    def register(plugin: object, name: str | None = None) -> str:
        registered = plugin_manager.register(plugin, name=name)
        assert registered is not None, f"plugin {name or plugin!r} was not registered"
        names.append(registered)
        return registered

    try:
        yield register
    finally:
        for name in reversed(names):
            if plugin_manager.get_plugin(name) is not None:
                plugin_manager.unregister(name=name)


@pytest.fixture
def echo_provider() -> EchoProvider:
    """A deterministic provider that echoes the user message (see ``EchoProvider``)."""
    return EchoProvider()


def default_plugins() -> list[tuple[str, object]]:
    """The default plugins that are importable here, as (name, module)."""
    import importlib

    found: list[tuple[str, object]] = []
    for name, module in (
        ("rules", "dynamic_orchestrator_rules"),
        ("tiers", "dynamic_orchestrator_tiers"),
        ("compact", "dynamic_orchestrator_compact"),
        ("mcp_services", "dynamic_orchestrator_mcp_services"),
        ("client-model", "dynamic_orchestrator_client_model"),
    ):
        try:
            found.append((name, importlib.import_module(module)))
        except ImportError:
            continue
    return found


@pytest.fixture
async def make_orchestrator(
    plugin_manager: PluginManager, register_plugin: Callable[..., str]
) -> AsyncIterator[Callable[..., Any]]:
    """Build initialized orchestrators on a fresh manager: defaults plus the given plugins."""
    built: list[Orchestrator] = []

    async def make(
        config: Config | None = None, plugins: tuple[object, ...] = (), defaults: bool = True
    ) -> Orchestrator:
        if defaults and not built:
            for name, module in default_plugins():
                if plugin_manager.get_plugin(name) is None:
                    register_plugin(module, name)
        for plugin in plugins:
            register_plugin(plugin)
        orch = Orchestrator(config or Config(), plugin_manager=plugin_manager)
        await orch.initialize()
        built.append(orch)
        return orch

    try:
        yield make
    finally:
        for orch in built:
            await orch.close()


@pytest.fixture(scope="session")
def _fake_provider_server_session() -> Iterator[Any]:
    from .fake_server import FakeProviderServer

    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def fake_provider_server(_fake_provider_server_session: Any) -> Any:
    """The session's fake provider server, reset for this test."""
    _fake_provider_server_session.reset()
    return _fake_provider_server_session


__all__ = ["EchoProvider", "make_plugin_manager"]
