"""Dynamic Orchestrator: route each LLM request to the cheapest model that is good enough.

The public API::

    from dynamic_orchestrator import Orchestrator, load_config

    async with Orchestrator(load_config("config.yaml")) as orch:
        analysis = await orch.analyze("Refactor the authentication module")
        result = await orch.orchestrate("Create a REST API", options={"max_cost": 0.05})
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("dynamic-orchestrator-core")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

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
