"""Provider helpers for provider plugins: keys, config entries and the API base class.

The protocol itself (:class:`~dynamic_orchestrator.contract.Provider`,
:class:`~dynamic_orchestrator.contract.ProviderCall`, the optional streamed call) lives in
the contract and is re-exported here. :class:`APIProvider` is the shared base of the
providers that call a hosted API through an official async SDK.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Mapping
from importlib import metadata
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, create_model

from .contract import (
    ENTRY_POINT_GROUP,
    Config,
    ModelInfo,
    PluginSettings,
    Provider,
    ProviderCall,
    ProviderConfig,
    StreamingProvider,
    can_stream,
    register_secret,
)
from .log import get_logger
from .pricing import measured_cost

log = get_logger("providers")

__all__ = [
    "APIProvider",
    "Provider",
    "ProviderCall",
    "StreamingProvider",
    "can_stream",
    "check_options",
    "close_providers",
    "missing_provider_reason",
    "options_settings",
    "provider_entries",
    "read_api_key",
    "unserved_prices_reason",
    "warm_providers",
]


def read_api_key(
    config: Config, name: str, default_envs: tuple[str, ...]
) -> tuple[str | None, str]:
    """The API key for provider ``name`` from the environment, and the variable(s) it names.

    ``providers.<name>.api_key_env`` wins over the defaults. The key is remembered for
    redaction so it can never appear in an error, a log line or a result.
    """
    settings: ProviderConfig | None = config.providers.get(name)
    envs = (settings.api_key_env,) if settings and settings.api_key_env else default_envs
    for env in envs:
        value = os.environ.get(env)
        if value:
            register_secret(value)
            return value, env
    return None, " or ".join(envs)


def provider_entries(
    config: Config, plugin: str, *, default: bool = True
) -> list[tuple[str, ProviderConfig]]:
    """The ``providers.<name>`` entries a plugin of type ``plugin`` serves, enabled ones only.

    An entry is served when its ``type`` (default: its name) is ``plugin``; with
    ``default``, the plugin's own name is served with default settings when the config
    does not mention it.
    """
    entries = [
        (name, settings)
        for name, settings in config.providers.items()
        if (settings.type or name) == plugin and settings.enabled
    ]
    if default and plugin not in config.providers:
        entries.insert(0, (plugin, ProviderConfig()))
    return entries


@functools.cache
def installed_plugin_names() -> frozenset[str]:
    """The names of the installed plugins (their entry points), read once per process
    (reading entry points scans every installed distribution: milliseconds, not per call)."""
    return frozenset(ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP))


def missing_provider_reason(config: Config, name: str) -> str:
    """Why no provider named ``name`` is registered: disabled, not loaded, or not installed."""
    settings = config.providers.get(name)
    if settings is not None and not settings.enabled:
        return f"provider {name!r} is disabled (providers.{name}.enabled is false)"
    plugin = (settings.type if settings else None) or name
    what = f"provider {name!r}" + (f" (type {plugin!r})" if plugin != name else "")
    if plugin in installed_plugin_names():
        return (
            f"{what} is not loaded: its plugin {plugin!r} is installed but disabled or failed "
            "to load (see 'dynamic-orchestrator plugins')"
        )
    # A plugin that is not installed cannot say how to install it: name the distribution
    # a provider plugin of this type is published as (CONTRACT: dynamic-orchestrator-<name>).
    return (
        f"{what} is not installed (no plugin registers it; a plugin for type {plugin!r} is "
        f"published as dynamic-orchestrator-{plugin}, where one exists)"
    )


def unserved_prices_reason(prices_id: str) -> str:
    """Why a model genai-prices lists under ``prices_id`` has no provider: no loaded plugin
    declares that id (``prices_provider``)."""
    where = (
        f"the plugin {prices_id!r} is installed but disabled or failed to load"
        if prices_id in installed_plugin_names()
        else "is its provider plugin installed?"
    )
    return (
        f"no loaded provider serves genai-prices' {prices_id!r} models (none declares "
        f"prices_provider {prices_id!r}); {where} (see 'dynamic-orchestrator plugins')"
    )


def check_options(settings: ProviderConfig, name: str, known: Mapping[str, type]) -> str | None:
    """None when ``providers.<name>.options`` holds only ``known`` keys of the right types."""
    for key, value in settings.options.items():
        expected = known.get(key)
        if expected is None:
            allowed = ", ".join(sorted(known)) or "none"
            return f"providers.{name}.options.{key}: unknown option (known: {allowed})"
        if not isinstance(value, expected):
            return (
                f"providers.{name}.options.{key}: expected {expected.__name__}, "
                f"got {type(value).__name__}"
            )
    return None


def options_settings(provider_type: str, known: Mapping[str, type]) -> PluginSettings:
    """A ``plugin_settings`` answer that checks ``providers.<name>.options`` of every provider
    of ``provider_type``: only ``known`` keys, each of its type, so ``config check`` reports
    a misspelt or mistyped option by its path."""
    fields: dict[str, Any] = {
        key: (kind | None, Field(default=None, description="See the provider's docs."))
        for key, kind in known.items()
    }
    model = create_model(
        f"{provider_type.title().replace('-', '')}Options",
        __config__=ConfigDict(extra="forbid", strict=True),
        __doc__=f"Options of every provider of type '{provider_type}'; others are errors.",
        **fields,
    )
    return PluginSettings(provider_type, None, provider_options={provider_type: model})


class APIProvider:
    """Shared base of the providers that call a hosted API through an official async SDK.

    One instance serves one ``providers.<name>`` entry. The key comes only from the
    environment (the variable ``api_key_env`` names, else the plugin's defaults) and is
    registered for redaction; ``base_url`` comes only from config. An entry whose name is
    not the plugin's own (``providers.ollama: {type: openai, base_url: ...}``) is a
    compatible endpoint: it needs a ``base_url``, and sends a key only when its
    ``api_key_env`` names one, so the official provider's key never goes elsewhere.

    Subclasses set :attr:`plugin`, :attr:`key_envs`, :attr:`default_base_url`, :attr:`sdk`,
    :attr:`options`, and may set :attr:`install_hint` and :attr:`prices_id`; they implement
    :meth:`make_client`, :meth:`close_client` and ``complete``. SDKs take seconds to import,
    so plugin modules import them only in :meth:`make_client` and ``complete``: commands
    that run no model stay fast. The client
    is built once, on first use (or by :meth:`warm`), in a worker thread so the event loop
    never waits on the import, and closed by :meth:`aclose` at shutdown.
    """

    plugin: ClassVar[str]
    key_envs: ClassVar[tuple[str, ...]]
    default_base_url: ClassVar[str | None]
    """The official endpoint; None when there is none and ``base_url`` must be configured."""
    sdk: ClassVar[str]
    """The SDK's import name, checked (not imported) when the provider is made."""
    options: ClassVar[Mapping[str, type]] = {}
    install_hint: ClassVar[str | None] = None
    """How to install what :attr:`sdk` needs (the plugin's extra, say); default
    ``pip install <sdk>``."""
    prices_id: ClassVar[str | None] = None
    """The genai-prices provider id of the models the official endpoint serves, when it is
    not the plugin's name (``google`` for ``gemini``): the catalog then gives those models
    this provider (see :attr:`prices_provider`)."""

    def __init__(self, name: str, config: Config) -> None:
        self.name = name
        self.settings = config.providers.get(name) or ProviderConfig()
        self.compatible = name != self.plugin
        self.base_url = self.settings.base_url or (
            None if self.compatible else self.default_base_url
        )
        key, self._key_source = read_api_key(config, name, () if self.compatible else self.key_envs)
        self._api_key = key
        self._key_required = not self.compatible or self.settings.api_key_env is not None
        self._options_error = check_options(self.settings, name, self.options)
        self._sdk_missing = importlib.util.find_spec(self.sdk) is None
        self._client: Any = None
        self._building: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r})"

    @property
    def missing(self) -> str | None:
        """What this provider lacks to be called (a key, a base URL), or None."""
        if self._options_error:
            return self._options_error
        if self._sdk_missing:
            hint = self.install_hint or f"pip install {self.sdk}"
            return f"the {self.sdk} SDK is not installed: {hint}"
        if self.base_url is None:
            return f"providers.{self.name}.base_url is not set (needed for type {self.plugin!r})"
        if self._key_required and not self._api_key:
            return f"{self._key_source} is not set"
        return None

    @property
    def prices_provider(self) -> str | None:
        """The genai-prices provider whose models this provider serves: the official
        endpoint's (:attr:`prices_id`, else the plugin's name); None for a compatible
        endpoint, which serves the models its configuration lists."""
        return None if self.compatible else (self.prices_id or self.plugin)

    def unavailable_reason(
        self, model: ModelInfo, *, client_can_sample: bool = False
    ) -> str | None:
        """None when a key (if needed) and a base URL are there; else what is missing."""
        return self.missing

    async def get_client(self) -> Any:
        """The SDK client, built once in a worker thread."""
        if self._client is None:
            import anyio

            if self._building is None:
                self._building = anyio.Lock()
            async with self._building:
                if self._client is None:
                    self._client = await anyio.to_thread.run_sync(
                        self.make_client, self._api_key, self.base_url
                    )
        return self._client

    @property
    def warmed(self) -> bool:
        """True when :meth:`warm` has nothing left to do (the host then skips it)."""
        return self._client is not None or self.missing is not None

    async def warm(self) -> None:
        """Import the SDK and build the client now, if this provider can be called."""
        if self.missing is None:
            await self.get_client()

    def make_client(self, api_key: str | None, base_url: str | None) -> Any:
        """Build the SDK's async client with its own retries off (runs in a worker thread)."""
        raise NotImplementedError

    async def close_client(self, client: Any) -> None:
        """Close an SDK client built by :meth:`make_client`."""

    async def aclose(self) -> None:
        """Close the SDK client, if one was built."""
        client, self._client = self._client, None
        if client is not None:
            await self.close_client(client)

    @classmethod
    def declared_settings(cls) -> PluginSettings:
        """What a provider plugin's ``plugin_settings`` hook returns: :attr:`options` checked
        by name and type when the configuration loads (:func:`options_settings`)."""
        return options_settings(cls.plugin, cls.options)

    def option(self, key: str, default: Any) -> Any:
        """``providers.<name>.options.<key>``, or ``default``."""
        return self.settings.options.get(key, default)

    @staticmethod
    def cost(
        call: ProviderCall,
        input_tokens: int,
        output_tokens: int,
        *,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float | None:
        """USD for reported usage at the called model's prices; None when it has none."""
        if not call.model.priced and call.model.prices_id is None:
            return None
        return measured_cost(
            call.model,
            input_tokens,
            output_tokens,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
        )


async def warm_providers(providers: Mapping[str, Any], timeout: float = 30.0) -> None:
    """Build the SDK clients of every callable :class:`APIProvider` now (a server at start-up).

    Otherwise each client is built on its provider's first call, which then also pays
    for importing the SDK. Each provider gets ``timeout`` seconds (``plugins.startup_timeout``
    where a config is at hand); one that takes longer is named in the log and left to warm
    on its first call.
    """
    import anyio

    for name, provider in providers.items():
        if isinstance(provider, APIProvider):
            with anyio.move_on_after(timeout) as warming:
                await provider.warm()
            if warming.cancelled_caught:
                log.warning(
                    "provider_warm_timed_out",
                    provider=name,
                    error=f"provider {name}: warm() did not finish within {timeout:g}s",
                )


async def close_providers(providers: Mapping[str, Any], kind: type[APIProvider]) -> None:
    """Close the SDK clients of every provider of class ``kind`` (for ``shutdown`` hooks)."""
    for provider in providers.values():
        if isinstance(provider, kind):
            await provider.aclose()
