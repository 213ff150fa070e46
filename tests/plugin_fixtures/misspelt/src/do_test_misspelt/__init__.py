"""A plugin whose hook name is misspelt."""

from dynamic_orchestrator import hookimpl


@hookimpl
def clasify(request):
    return None
