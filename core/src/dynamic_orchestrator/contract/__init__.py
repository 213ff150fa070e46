"""The contract between the host and its plugins: data, protocols and errors only.

This package imports nothing of the host (a test keeps it so). Plugins and front doors
import these names from here (or from :mod:`dynamic_orchestrator`); the private modules
behind them may move. What lives here:

- the data that flows through a request (:class:`Request` … :class:`RequestRecord`,
  :class:`MetricsSummary`), the host's configuration schema (:class:`Config`) and
  :class:`PluginSettings`, how a plugin declares its own;
- :class:`ModelInfo` and the read-only :class:`CatalogView`;
- the :class:`Provider` protocol with :class:`ProviderCall`, its optional streamed call
  (:class:`StreamingProvider`, :data:`StreamEvent`) and the :class:`ProviderError` /
  :class:`ErrorKind` taxonomy;
- :class:`IntentInfo`, an intent plugins add to the vocabulary;
- :class:`Service`, the :class:`ExecutionContext` of the ``execute`` stage, and the
  :class:`Host` protocol that lifecycle hooks receive.
"""

from __future__ import annotations

from ._catalog import (
    CLIENT_PROVIDER,
    ModelInfo,
    PriceTiers,
)
from ._config import (
    APP_NAME,
    Config,
    IntentConfig,
    ModelOverride,
    PluginsConfig,
    PluginSettings,
    PromptConfig,
    ProviderConfig,
    RetryConfig,
    ServerConfig,
    TierExecution,
    ToolsConfig,
)
from ._errors import (
    POLICIES,
    BudgetExceededError,
    ConfigError,
    ErrorKind,
    NoImplementationError,
    OrchestratorError,
    PluginError,
    Policy,
    ProviderError,
    RequestError,
    redact,
    register_secret,
)
from ._execution import (
    ExecutionContext,
    ModelCall,
    ProgressCallback,
    Rewrite,
)
from ._host import (
    ENTRY_POINT_GROUP,
    PROJECT,
    CatalogView,
    Host,
)
from ._models import (
    COMPLEXITY_LEVELS,
    INTENTS,
    PERIOD_SECONDS,
    TIERS,
    AnalysisResult,
    Attempt,
    AttemptOutcome,
    BasisTotals,
    Candidate,
    ChatMessage,
    Completion,
    Complexity,
    ComplexityResult,
    Constraints,
    Execution,
    Intent,
    IntentResult,
    MetricsSummary,
    Options,
    OrchestrationResult,
    Period,
    Plan,
    Prompt,
    Request,
    RequestAnalysis,
    RequestRecord,
    Selection,
    ServiceRoute,
    Status,
    Tier,
    ToolCall,
    ToolSpec,
    Usage,
)
from ._providers import (
    Provider,
    ProviderCall,
    StreamingProvider,
    can_stream,
)
from ._services import (
    Service,
)
from ._streaming import (
    BlockStop,
    MessageEnd,
    MessageStart,
    OtherBlockStart,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseStart,
    UsageUpdate,
    events_from_completion,
)
from ._vocabulary import (
    IntentInfo,
)

__all__ = [
    "APP_NAME",
    "CLIENT_PROVIDER",
    "COMPLEXITY_LEVELS",
    "ENTRY_POINT_GROUP",
    "INTENTS",
    "PERIOD_SECONDS",
    "POLICIES",
    "PROJECT",
    "TIERS",
    "AnalysisResult",
    "Attempt",
    "AttemptOutcome",
    "BasisTotals",
    "BlockStop",
    "BudgetExceededError",
    "Candidate",
    "CatalogView",
    "ChatMessage",
    "Completion",
    "Complexity",
    "ComplexityResult",
    "Config",
    "ConfigError",
    "Constraints",
    "ErrorKind",
    "Execution",
    "ExecutionContext",
    "Host",
    "Intent",
    "IntentConfig",
    "IntentInfo",
    "IntentResult",
    "MessageEnd",
    "MessageStart",
    "MetricsSummary",
    "ModelCall",
    "ModelInfo",
    "ModelOverride",
    "NoImplementationError",
    "Options",
    "OrchestrationResult",
    "OrchestratorError",
    "OtherBlockStart",
    "Period",
    "Plan",
    "PluginError",
    "PluginSettings",
    "PluginsConfig",
    "Policy",
    "PriceTiers",
    "ProgressCallback",
    "Prompt",
    "PromptConfig",
    "Provider",
    "ProviderCall",
    "ProviderConfig",
    "ProviderError",
    "Request",
    "RequestAnalysis",
    "RequestError",
    "RequestRecord",
    "RetryConfig",
    "Rewrite",
    "Selection",
    "ServerConfig",
    "Service",
    "ServiceRoute",
    "Status",
    "StreamEvent",
    "StreamingProvider",
    "TextDelta",
    "ThinkingDelta",
    "Tier",
    "TierExecution",
    "ToolCall",
    "ToolInputDelta",
    "ToolSpec",
    "ToolUseStart",
    "ToolsConfig",
    "Usage",
    "UsageUpdate",
    "can_stream",
    "events_from_completion",
    "redact",
    "register_secret",
]
