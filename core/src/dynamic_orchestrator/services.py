"""The service protocol: re-exported from :mod:`dynamic_orchestrator.contract`."""

from .contract._services import (
    Service,
)

__all__ = [
    "Service",
]
