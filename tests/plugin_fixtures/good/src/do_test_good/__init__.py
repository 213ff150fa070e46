"""A real installable plugin used by the tests: it classifies everything as 'search'."""

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.models import IntentResult


@hookimpl
def classify(request):
    if "good-plugin" in request.text:
        return IntentResult(intent="search", confidence=1.0, reasons=["good-plugin marker"])
    return None
