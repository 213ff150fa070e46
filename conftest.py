"""Shared pytest setup.

Async tests run on anyio (asyncio backend) without a marker; the user's data directory
(home of the default metrics store) is a temporary one; and provider keys are removed from
the environment of every test (and of the processes tests start), so no test can reach a
real provider with a developer's own key.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

# pytester: tests of the pytest plugin for plugin authors run pytest on files of their own.
pytest_plugins = ["pytester"]


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: Any) -> None:
    # Mark coroutine tests before anyio's own collection hook parametrizes them.
    if inspect.iscoroutinefunction(obj) and name.startswith("test"):
        pytest.mark.anyio(obj)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def _temporary_user_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("user-data")))
        yield


PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY")


@pytest.fixture(autouse=True)
def _no_real_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_KEYS:
        monkeypatch.delenv(name, raising=False)
