"""What a front door and a provider that runs on the client's own model agree on.

The MCP front door (the ``dynamic-orchestrator-mcp-server`` distribution) passes one
:class:`ClientConnection` per tool call as ``client`` to
:meth:`~dynamic_orchestrator.Orchestrator.orchestrate`; it reaches providers as
``ProviderCall.client``. A provider asks for a completion with
``await call.client.sample(params)`` and never touches the SDK's session itself; one that
implements :class:`SamplingProvider` can also render its request without sending it, so
the front door can ask ahead on connections that cannot carry a request mid-call. The
parameters and results are the ``mcp`` SDK's types, which only the front door and such a
provider import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from mcp_types import CreateMessageRequestParams, CreateMessageResult

    from .providers import ProviderCall


class SamplingUnavailableError(Exception):
    """The client's model cannot be asked for this request on this connection (not a failure)."""


@runtime_checkable
class ClientConnection(Protocol):
    """What a client-model provider finds in ``ProviderCall.client``."""

    @property
    def can_sample(self) -> bool:
        """True when the client declared MCP sampling and the connection can carry it."""
        ...

    async def sample(self, params: CreateMessageRequestParams) -> CreateMessageResult:
        """Ask the client's model.

        :raises SamplingUnavailableError: the request cannot be asked on this connection.
        :raises mcp.MCPError: the client answered with an error (it refused or failed).
        """
        ...


@runtime_checkable
class SamplingProvider(Protocol):
    """A provider that runs on the client's model renders its request without sending it."""

    name: str

    def sampling_request(self, call: ProviderCall) -> CreateMessageRequestParams:
        """The ``sampling/createMessage`` parameters ``complete(call)`` would send."""
        ...
