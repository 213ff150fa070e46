"""Dynamic Orchestrator: route each LLM request to the cheapest model that is good enough.

The public API::

    from dynamic_orchestrator import Orchestrator, load_config

    async with Orchestrator(load_config("config.yaml")) as orch:
        analysis = await orch.analyze("Refactor the authentication module")
        result = await orch.orchestrate("Create a REST API", options={"max_cost": 0.05})

Every name of the plugin contract (:mod:`dynamic_orchestrator.contract`: the data models,
``ModelInfo``, the provider protocol and its stream events, ``Service``, ``Host``, the
errors) is also importable from here. The names are imported on first use (PEP 562), so
``import dynamic_orchestrator`` stays cheap for the MCP server's start-up and for plugins
that need one name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Config, load_config
    from .errors import (
        ConfigError,
        ErrorKind,
        NoImplementationError,
        OrchestratorError,
        PluginError,
        ProviderError,
        RequestError,
    )
    from .hookspecs import hookimpl, hookspec
    from .models import (
        AnalysisResult,
        Completion,
        MetricsSummary,
        OrchestrationResult,
        Request,
    )
    from .orchestrator import Orchestrator

    __version__: str

_EXPORTS = {
    "Config": "config",
    "load_config": "config",
    "ConfigError": "errors",
    "ErrorKind": "errors",
    "NoImplementationError": "errors",
    "OrchestratorError": "errors",
    "PluginError": "errors",
    "ProviderError": "errors",
    "RequestError": "errors",
    "hookimpl": "hookspecs",
    "hookspec": "hookspecs",
    "AnalysisResult": "models",
    "Completion": "models",
    "MetricsSummary": "models",
    "OrchestrationResult": "models",
    "Request": "models",
    "Orchestrator": "orchestrator",
}

__all__ = [
    "AnalysisResult",
    "Completion",
    "Config",
    "ConfigError",
    "ErrorKind",
    "MetricsSummary",
    "NoImplementationError",
    "OrchestrationResult",
    "Orchestrator",
    "OrchestratorError",
    "PluginError",
    "ProviderError",
    "Request",
    "RequestError",
    "__version__",
    "hookimpl",
    "hookspec",
    "load_config",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dynamic-orchestrator-core")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif (
        not name.startswith("_")
        and not _is_submodule(name)
        and name in (contract := _contract()).__all__
    ):
        value = getattr(contract, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def _is_submodule(name: str) -> bool:
    """True for ``from . import name`` of a module of this package: the contract stays unloaded."""
    from importlib.util import find_spec

    return find_spec(f"{__name__}.{name}") is not None


def _contract() -> Any:
    return importlib.import_module(".contract", __name__)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_contract().__all__))
