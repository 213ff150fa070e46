"""Errors and the provider-failure taxonomy (re-exported from the contract)."""

from .contract._errors import (
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

__all__ = [
    "POLICIES",
    "BudgetExceededError",
    "ConfigError",
    "ErrorKind",
    "NoImplementationError",
    "OrchestratorError",
    "PluginError",
    "Policy",
    "ProviderError",
    "RequestError",
    "redact",
    "register_secret",
]
