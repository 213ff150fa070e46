"""The bridge between a provider that runs on the client's own model and the MCP connection.

The MCP front door passes one :class:`McpClientConnection` (a
:class:`~dynamic_orchestrator.sampling.ClientConnection`) per tool call as ``client`` to
:meth:`~dynamic_orchestrator.Orchestrator.orchestrate`; it reaches providers as
``ProviderCall.client``. A provider asks for a completion with
``await call.client.sample(params)`` and never touches the SDK's session itself.

How a sample travels depends on the protocol version the client speaks:

- **2025-11-25** (and older handshake versions): the server sends a real
  ``sampling/createMessage`` request in the middle of the tool call, at the moment the
  provider asks, so a refusal can fall back to the next model of the chain.
- **2026-07-28**: the server cannot ask mid-call; a tool call that needs the client's
  model returns ``input_required`` and the client retries the call with the answer. The
  SDK runs the tool body only once every question is answered, so the front door asks
  *before* the pipeline runs: :meth:`Orchestrator.plan_client_call` predicts the first
  call on the client's model (the decision stages are deterministic) and the provider's
  :meth:`SamplingProvider.sampling_request` renders it. The pipeline then runs once and
  its identical request is answered from :attr:`McpClientConnection.ahead`. A request
  that was not asked up front cannot be sampled: :class:`SamplingUnavailableError`, and
  the provider steps aside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dynamic_orchestrator.sampling import SamplingUnavailableError

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context
    from mcp_types import CreateMessageRequestParams, CreateMessageResult

MODERN_VERSION = "2026-07-28"
"""The first protocol version on which a server cannot send requests in the middle of a call."""


def is_modern(protocol_version: str | None) -> bool:
    """True for protocol versions that carry client requests inside results (2026-07-28+)."""
    if not protocol_version:
        return False
    from mcp_types.version import is_version_at_least

    return is_version_at_least(protocol_version, MODERN_VERSION)


def declares_sampling(ctx: Context[Any, Any]) -> bool:
    """True when the client declared the ``sampling`` capability on this connection."""
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.sampling is not None


def same_request(a: CreateMessageRequestParams, b: CreateMessageRequestParams) -> bool:
    """True when two sampling requests render identically on the wire."""
    return a.model_dump(mode="json", by_alias=True, exclude_none=True) == b.model_dump(
        mode="json", by_alias=True, exclude_none=True
    )


class McpClientConnection:
    """The client of one tool call, over the official SDK's request context.

    :param ctx: the tool call's context.
    :param ahead: on 2026-07-28 connections, the request asked before the pipeline ran
        and the client's answer; used once, for an identical request only.
    :param planning: for analysis and for predicting the request to ask ahead: on
        2026-07-28 connections the client counts as able to sample whenever it declared
        sampling. Otherwise it counts as able there only when a request was asked ahead,
        so a client model that was not asked steps aside before the chain is built.
    """

    def __init__(
        self,
        ctx: Context[Any, Any],
        ahead: tuple[CreateMessageRequestParams, CreateMessageResult] | None = None,
        *,
        planning: bool = False,
    ):
        self._ctx = ctx
        self.ahead = ahead
        self.planning = planning
        self.protocol_version = ctx.protocol_version
        self.modern = is_modern(self.protocol_version)
        self.declared = declares_sampling(ctx)
        self.samples_sent = 0

    @property
    def mid_call(self) -> bool:
        """True when this connection can carry a server-to-client request during the call."""
        return not self.modern and bool(self._ctx.session.can_send_request)

    @property
    def can_sample(self) -> bool:
        if not self.declared:
            return False
        if self.modern:
            return self.planning or self.ahead is not None
        return self.mid_call

    async def sample(self, params: CreateMessageRequestParams) -> CreateMessageResult:
        """Answer from the request asked ahead, else ask the client now if the protocol allows."""
        if self.ahead is not None and same_request(self.ahead[0], params):
            answer = self.ahead[1]
            self.ahead = None
            return answer
        if not self.declared:
            raise SamplingUnavailableError("the MCP client did not declare the sampling capability")
        if not self.mid_call:
            raise SamplingUnavailableError(
                f"on a {self.protocol_version} connection the client's model is asked before "
                "the pipeline runs, and this request was not asked ahead"
            )
        from mcp.shared.message import ServerMessageMetadata
        from mcp_types import CreateMessageRequest, CreateMessageResult

        self.samples_sent += 1
        result: CreateMessageResult = await self._ctx.session.send_request(
            CreateMessageRequest(params=params),
            CreateMessageResult,
            metadata=ServerMessageMetadata(related_request_id=self._ctx.request_id),
        )
        return result
