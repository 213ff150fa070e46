"""The host as plugins see it: configuration, a read-only catalog, providers, services and
per-plugin state."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from ._catalog import ModelInfo
    from ._config import Config
    from ._models import Tier
    from ._providers import Provider
    from ._services import Service

T = TypeVar("T")


@runtime_checkable
class CatalogView(Protocol):
    """What a plugin may read of the catalog (``select_model`` receives one)."""

    @property
    def models(self) -> Mapping[str, ModelInfo]:
        """Every model the host knows, by name."""
        ...

    @property
    def providers(self) -> Mapping[str, Provider]:
        """Every registered provider, by name."""
        ...

    @property
    def config(self) -> Config:
        """The configuration the catalog was built from."""
        ...

    def get(self, name: str) -> ModelInfo | None:
        """A model by name (names the host does not list may still be priced)."""
        ...

    def tier_models(self, tier: Tier) -> list[ModelInfo]:
        """The models that may serve ``tier``."""
        ...

    def provider_for(self, model: ModelInfo) -> Provider | None:
        """The provider that serves ``model``, if registered."""
        ...

    def unusable_reason(self, name: str, *, client_can_sample: bool = False) -> str | None:
        """None when the model can be called now; else why not, in words."""
        ...

    def usable(self, name: str, *, client_can_sample: bool = False) -> bool:
        """Whether the model can be called now."""
        ...


@runtime_checkable
class Host(Protocol):
    """What ``startup`` and ``shutdown`` receive (an
    :class:`~dynamic_orchestrator.Orchestrator` is one)."""

    @property
    def config(self) -> Config:
        """The loaded configuration."""
        ...

    @property
    def catalog(self) -> CatalogView:
        """Every known model, read-only."""
        ...

    @property
    def providers(self) -> Mapping[str, Provider]:
        """The registered providers, by name."""
        ...

    @property
    def services(self) -> Sequence[Service]:
        """The registered downstream services."""
        ...

    def plugin_state(self, name: str, factory: Callable[[], T]) -> T:
        """This host's state object for plugin ``name``, made by ``factory`` on first use.

        State lives as long as the host; each host has its own, so two orchestrators in one
        process never share a plugin's state (nor the first one's configuration).
        """
        ...


PROJECT = "dynamic_orchestrator"
"""The pluggy project name (hook markers)."""
ENTRY_POINT_GROUP = "dynamic_orchestrator"
"""The entry-point group plugins are published under."""
