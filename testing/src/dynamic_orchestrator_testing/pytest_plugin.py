"""The pytest plugin for plugin authors: installed with the core, active in any project.

It is a ``pytest11`` entry point of ``dynamic-orchestrator-core``, so installing the core
into a test environment is all it takes. Fixtures:

- ``plugin_manager``: a fresh manager with no installed plugin loaded (only the host's
  built-ins), so a test sees exactly the plugins it registers.
- ``register_plugin``: ``register_plugin(obj, name=None)`` registers a plugin object or
  module on ``plugin_manager`` and always unregisters it when the test ends.
- ``echo_provider``: a deterministic :class:`~dynamic_orchestrator_testing.fakes.EchoProvider`
  named ``echo``.
- ``fake_provider_server``: a running
  :class:`~dynamic_orchestrator_testing.fake_server.FakeProviderServer` (OpenAI, Anthropic
  and Gemini wire formats on 127.0.0.1), shared by the session and reset for each test.
- ``make_orchestrator``: ``await make_orchestrator(config=None, plugins=(...),
  providers=(...), defaults=True)`` builds an initialized
  :class:`~dynamic_orchestrator.Orchestrator` on ``plugin_manager`` with the installed
  default decision plugins plus yours; each is closed when the test ends.

``make_orchestrator`` is an async fixture: mark the tests that use it for anyio
(``pytestmark = pytest.mark.anyio``) and give them a backend (a fixture ``anyio_backend``
returning ``"asyncio"``); see the plugin template's ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pytest
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.hookspecs import hookimpl
from dynamic_orchestrator.orchestrator import Orchestrator
from dynamic_orchestrator.plugins import GROUP, PluginManager, make_plugin_manager

from .fakes import EchoProvider

if TYPE_CHECKING:
    from dynamic_orchestrator.providers import Provider

    from .fake_server import FakeProviderServer

__all__ = [
    "DEFAULT_PLUGINS",
    "EchoProvider",
    "default_plugins",
    "make_plugin_manager",
    "provider_plugin",
]

DEFAULT_PLUGINS = ("rules", "tiers", "compact", "mcp_services", "client-model")
"""Entry-point names of the default plugins ``make_orchestrator`` adds: intent and
complexity, model selection, prompts, service routing, and the client's own model (usable
only when the MCP client can sample). The metrics sinks are not among them: pass the one a
test needs in ``plugins``."""


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
    """A deterministic provider named ``echo`` that echoes the user message."""
    return EchoProvider()


@pytest.fixture(scope="session")
def _fake_provider_server_session() -> Iterator[FakeProviderServer]:
    from .fake_server import FakeProviderServer

    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def fake_provider_server(
    _fake_provider_server_session: FakeProviderServer,
) -> Iterator[FakeProviderServer]:
    """The fake provider HTTP server, with no recorded request, script or latency."""
    server = _fake_provider_server_session
    server.reset()
    try:
        yield server
    finally:
        server.reset()


def provider_plugin(*providers: Provider) -> object:
    """A plugin object that registers ``providers`` through ``register_providers``."""

    class ProviderPlugin:
        @hookimpl
        def register_providers(self, register: Callable[[Provider], None]) -> None:
            """Register the given providers."""
            for provider in providers:
                register(provider)

    return ProviderPlugin()


def default_plugins(names: Iterable[str] = DEFAULT_PLUGINS) -> list[tuple[str, object]]:
    """The default plugins that are installed here, as (entry-point name, plugin object).

    Found by entry point in the ``dynamic_orchestrator`` group, so it works wherever the
    plugins are installed (a checkout, a wheel, a plugin author's virtual environment).
    """
    wanted = list(names)
    found: dict[str, object] = {}
    for entry_point in metadata.entry_points(group=GROUP):
        if entry_point.name in wanted and entry_point.name not in found:
            found[entry_point.name] = entry_point.load()
    return [(name, found[name]) for name in wanted if name in found]


@pytest.fixture
async def make_orchestrator(
    plugin_manager: PluginManager, register_plugin: Callable[..., str]
) -> AsyncIterator[Callable[..., Any]]:
    """Build initialized orchestrators on a fresh manager: defaults plus the given plugins.

    ``make(config=None, plugins=(), providers=(), defaults=True)``: ``plugins`` are plugin
    objects or modules; ``providers`` are provider objects, registered for you; with
    ``defaults`` the installed :data:`DEFAULT_PLUGINS` are added once. Orchestrators built
    in one test share its ``plugin_manager``.
    """
    built: list[Orchestrator] = []

    async def make(
        config: Config | None = None,
        plugins: Iterable[object] = (),
        providers: Iterable[Provider] = (),
        defaults: bool = True,
    ) -> Orchestrator:
        if defaults:
            for name, plugin in default_plugins():
                if plugin_manager.get_plugin(name) is None and not plugin_manager.is_registered(
                    plugin
                ):
                    register_plugin(plugin, name)
        for plugin in plugins:
            if not plugin_manager.is_registered(plugin):
                register_plugin(plugin)
        providers = tuple(providers)
        if providers:
            register_plugin(provider_plugin(*providers))
        orch = Orchestrator(config or Config(), plugin_manager=plugin_manager)
        await orch.initialize()
        built.append(orch)
        return orch

    try:
        yield make
    finally:
        for orch in reversed(built):
            await orch.close()
