"""Shared pytest setup: async tests run on anyio (asyncio backend) without a marker, and
the user's data directory (home of the default metrics store) is a temporary one."""

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
