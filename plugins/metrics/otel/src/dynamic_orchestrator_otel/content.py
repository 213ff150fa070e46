"""Message content on spans, only when the user opts in.

The record a sink receives holds no request text, by design. With
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`` each orchestrator also keeps a
:class:`ContentCapture` in its plugin state: the plugin's ``generate_prompt`` and
``execute`` wrappers hand it the prompt each request sends and the answer it gets, without
changing either, and it keeps them by request id until the record arrives. They become
the GenAI conventions' ``gen_ai.system_instructions``, ``gen_ai.input.messages`` and
``gen_ai.output.messages`` (JSON) on the request's span. Without the switch nothing is kept.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynamic_orchestrator.models import Execution, Prompt

LIMIT = 1024  # requests whose content waits for its record at once


def _text_parts(text: str) -> list[dict[str, str]]:
    return [{"type": "text", "content": text}]


class ContentCapture:
    """Prompts and answers by request id, popped when the request is recorded."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def _entry(self, request_id: str) -> dict[str, Any]:
        entry = self._kept.get(request_id)
        if entry is None:
            entry = self._kept[request_id] = {}
            if len(self._kept) > LIMIT:
                self._kept.popitem(last=False)
        return entry

    def pop(self, request_id: str) -> Mapping[str, Any] | None:
        """The span attributes of a request's content, forgotten once read."""
        entry = self._kept.pop(request_id, None)
        if not entry:
            return None
        attributes: dict[str, Any] = {}
        prompt = entry.get("prompt")
        if prompt is not None:
            attributes["gen_ai.system_instructions"] = json.dumps(_text_parts(prompt.system))
            attributes["gen_ai.input.messages"] = json.dumps(
                [{"role": "user", "parts": _text_parts(prompt.user)}]
            )
        output = entry.get("output")
        if output is not None:
            attributes["gen_ai.output.messages"] = json.dumps(
                [{"role": "assistant", "parts": _text_parts(output)}]
            )
        return attributes

    def keep_prompt(self, request_id: str, prompt: Prompt) -> None:
        """Keep the prompt a request sends (the last one, when several models are tried)."""
        self._entry(request_id)["prompt"] = prompt

    def watch(self, request_id: str, pending: Awaitable[Execution]) -> Awaitable[Execution]:
        """``pending``, keeping the execution's answer once it is awaited."""

        async def watched() -> Execution:
            execution = await pending
            if execution.completion is not None and execution.completion.text is not None:
                self._entry(request_id)["output"] = execution.completion.text
            return execution

        return watched()
