"""Summaries defined once: the totals every sink counts, and what the host records for them."""

from __future__ import annotations

from typing import Any

from dynamic_orchestrator import hookimpl
from dynamic_orchestrator.catalog import ModelInfo, PriceTiers
from dynamic_orchestrator.config import Config
from dynamic_orchestrator.models import PERIOD_SECONDS, RequestRecord
from dynamic_orchestrator.summary import Totals, summarize
from dynamic_orchestrator_testing.fakes import EchoProvider
from dynamic_orchestrator_testing.sink_cases import (
    EXACT_PERCENTILES,
    KNOWN_RECORDS,
    NOW,
    check_summary,
)


def test_an_empty_period_is_all_zeros_not_an_error() -> None:
    summary = summarize("1h", Totals(), notes=["nothing yet"])
    assert summary.total_requests == 0
    assert (summary.success_rate, summary.avg_cost_usd, summary.cache_hit_rate) == (0, 0, 0)
    assert summary.notes == ["nothing yet"]


def test_the_known_cases_hold_for_plain_totals() -> None:
    for period, seconds in PERIOD_SECONDS.items():
        totals = Totals()
        for record in KNOWN_RECORDS:
            if record.timestamp > NOW - seconds:
                totals.add(record)
        check_summary(summarize(period, totals, EXACT_PERCENTILES[period]))


def test_merging_totals_equals_adding_every_record() -> None:
    halves = Totals(), Totals()
    whole = Totals()
    for i, record in enumerate(KNOWN_RECORDS):
        halves[i % 2].add(record)
        whole.add(record)
    merged = halves[0].copy()
    merged.merge(halves[1])
    assert merged == whole
    assert halves[0] != whole  # copy() left the half alone


def test_negative_zero_is_shown_as_zero() -> None:
    totals = Totals()
    totals.add(
        RequestRecord(
            timestamp=NOW, request_id="r", status="completed", duration_ms=1, saved_usd=-0.0
        )
    )
    assert str(summarize("1m", totals).total_saved_usd) == "0.0"


# --- what the host records --------------------------------------------------------------


def _priced_echo() -> object:
    echo = EchoProvider("echo")

    class Plugin:
        @hookimpl
        def register_providers(self, register: Any) -> None:
            register(echo)

        @hookimpl
        def register_models(self, register: Any) -> None:
            for name, price in (("cheap-model", 0.5), ("unpriced-model", None)):
                register(
                    ModelInfo(
                        name=name,
                        provider="echo",
                        tiers=("simple", "moderate", "complex"),
                        input_price=None if price is None else PriceTiers(price),
                        output_price=None if price is None else PriceTiers(price),
                        context_window=100_000,
                    )
                )

    return Plugin()


async def test_the_record_says_whether_a_saving_was_claimed(make_orchestrator: Any) -> None:
    records: list[RequestRecord] = []

    class Sink:
        @hookimpl
        def record(self, record: RequestRecord) -> None:
            records.append(record)

    orch = await make_orchestrator(Config(), plugins=(Sink(), _priced_echo()))
    ran = await orch.orchestrate("show me the readme", options={"model": "cheap-model"})
    unpriced = await orch.orchestrate("show me the readme", options={"model": "unpriced-model"})
    planned = await orch.orchestrate("show me the readme", options={"execute": False})
    assert [r.status for r in (ran, unpriced, planned)] == ["completed"] * 2 + ["delegated"]
    claimed, not_priced, delegated = records
    assert claimed.saving_claimed and claimed.saved_usd == ran.saved_usd != 0
    assert not not_priced.saving_claimed and not_priced.cost_usd is None
    assert not delegated.saving_claimed and delegated.saved_usd == 0
