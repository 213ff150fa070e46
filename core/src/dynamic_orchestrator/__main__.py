"""``python -m dynamic_orchestrator``: the same as the ``dynamic-orchestrator`` command."""

from .cli import main

if __name__ == "__main__":
    main()
