"""Plugin call order is set by ``plugins.order`` then by name; in-process plugins are validated."""

from __future__ import annotations

import itertools
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from dynamic_orchestrator import plugins as plugins_module
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.contract import PluginError
from dynamic_orchestrator.hookspecs import hookimpl
from dynamic_orchestrator.orchestrator import Orchestrator
from dynamic_orchestrator.plugins import call_order, make_plugin_manager

CALLS: list[str] = []


class Recorder:
    """A sink that notes its name each time a record reaches it."""

    def __init__(self, name: str) -> None:
        self.plugin_name = name

    @hookimpl
    def record(self, record: Any) -> None:
        CALLS.append(self.plugin_name)


def calls_of(pm: Any) -> list[str]:
    CALLS.clear()
    pm.hook.record(record=None, host=None)
    return list(CALLS)


@pytest.fixture
def entry_point_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[metadata.EntryPoint]:
    """Three importable plugin modules and their entry points (the caller lists them)."""
    points = []
    for name in ("charlie", "alpha", "bravo"):
        module = f"ordertest_{name}"
        (tmp_path / f"{module}.py").write_text(
            textwrap.dedent(
                f"""
                from dynamic_orchestrator.hookspecs import hookimpl
                from core_tests_order_calls import CALLS

                @hookimpl
                def record(record):
                    CALLS.append({name!r})
                """
            )
        )
        points.append(metadata.EntryPoint(name, module, plugins_module.GROUP))
    (tmp_path / "core_tests_order_calls.py").write_text("CALLS = []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for key in ("LOAD", "DISABLE"):
        monkeypatch.delenv(f"DYNAMIC_ORCHESTRATOR_{key}_PLUGINS", raising=False)
    return points


def test_entry_points_run_by_name_whatever_order_they_are_listed_in(
    entry_point_site: list[metadata.EntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    import core_tests_order_calls  # type: ignore[import-not-found]

    seen = set()
    for listing in itertools.permutations(entry_point_site):
        monkeypatch.setattr(
            plugins_module.metadata, "entry_points", lambda group, _l=listing: list(_l)
        )
        for order, expected in (
            ([], ["alpha", "bravo", "charlie"]),
            (["charlie"], ["charlie", "alpha", "bravo"]),
            (["bravo", "charlie"], ["bravo", "charlie", "alpha"]),
        ):
            pm = make_plugin_manager(order=order)
            core_tests_order_calls.CALLS.clear()
            pm.hook.record(record=None, host=None)
            assert expected == core_tests_order_calls.CALLS, (listing, order)
            assert [i.name for i in pm.report.loaded] == expected
            seen.add(tuple(e.name for e in listing))
    assert len(seen) == 6


def test_disable_and_order_apply_to_entry_points_by_name(
    entry_point_site: list[metadata.EntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    import core_tests_order_calls

    monkeypatch.setattr(plugins_module.metadata, "entry_points", lambda group: entry_point_site)
    pm = make_plugin_manager(disable=["alpha"], order=["charlie"])
    core_tests_order_calls.CALLS.clear()
    pm.hook.record(record=None, host=None)
    assert core_tests_order_calls.CALLS == ["charlie", "bravo"]
    assert "alpha" in pm.report.skipped


def test_call_order_puts_listed_plugins_first_then_sorts_by_name() -> None:
    names = [{"zeta"}, {"beta", "dynamic-orchestrator-beta"}, {"alpha"}]
    assert call_order(names, []) == [2, 1, 0]
    assert call_order(names, ["Zeta"]) == [0, 2, 1]
    # A distribution name counts as well as the entry point's.
    assert call_order(names, ["dynamic_orchestrator_beta", "zeta"]) == [1, 0, 2]


def test_in_process_plugins_are_ordered_like_entry_points() -> None:
    given = [Recorder("b"), Recorder("c"), Recorder("a")]
    pm = make_plugin_manager(load_entrypoints=False, plugins=given)
    assert calls_of(pm) == ["a", "b", "c"]
    pm = make_plugin_manager(load_entrypoints=False, plugins=given, order=["c"])
    assert calls_of(pm) == ["c", "a", "b"]


def test_in_process_plugin_honours_disable() -> None:
    pm = make_plugin_manager(
        load_entrypoints=False, plugins=[Recorder("kept"), Recorder("gone")], disable=["gone"]
    )
    assert calls_of(pm) == ["kept"]
    assert "gone" in pm.report.skipped


class Misspelt:
    plugin_name = "typo-plugin"

    @hookimpl
    def clasify(self, request: Any) -> None:
        return None


def test_misspelt_hook_in_process_fails_naming_the_plugin() -> None:
    with pytest.raises(PluginError, match=r"typo-plugin.*unknown hook\(s\) clasify"):
        make_plugin_manager(load_entrypoints=False, plugins=[Misspelt()], strict=True)
    # Without strict it is reported and skipped, never half-registered.
    pm = make_plugin_manager(load_entrypoints=False, plugins=[Misspelt()])
    assert [f.name for f in pm.report.failed] == ["typo-plugin"]
    assert "unknown hook(s) clasify" in (pm.report.failed[0].error or "")
    assert pm.get_plugin("typo-plugin") is None


def test_direct_register_refuses_a_misspelt_hook() -> None:
    pm = make_plugin_manager(load_entrypoints=False)
    with pytest.raises(PluginError, match=r"'late'.*clasify"):
        pm.register(Misspelt(), name="late")
    assert pm.get_plugin("late") is None


async def test_orchestrator_takes_in_process_plugins_with_config_order_and_disable() -> None:
    config = Config.model_validate(
        {"plugins": {"load": [], "order": ["second"], "disable": ["off"]}}
    )
    given = [Recorder("first"), Recorder("second"), Recorder("off")]
    orch = Orchestrator(config, plugins=given)
    assert calls_of(orch.pm) == ["second", "first"]
    with pytest.raises(PluginError, match="typo-plugin"):
        Orchestrator(
            Config.model_validate({"plugins": {"load": [], "strict": True}}), plugins=[Misspelt()]
        )
