"""The compact price table says exactly what genai-prices says, for the version installed."""

from __future__ import annotations

import subprocess
import sys

from dynamic_orchestrator import price_table
from dynamic_orchestrator.pricing import _from_table, lookup_live, lookup_prices


def test_the_table_is_built_from_the_installed_genai_prices() -> None:
    table = price_table.load()
    assert table is not None, (
        "price_table.json is missing or from another genai-prices version: "
        "uv run python -m dynamic_orchestrator.price_table"
    )
    for name in price_table.default_names():
        assert table.get(name) is not None, name


def test_every_entry_matches_a_live_lookup() -> None:
    table = price_table.load()
    assert table is not None
    for name, entry in table.items():
        expected = lookup_live(name)
        if entry is None:
            assert expected is None, name
        else:
            assert _from_table(name, entry) == expected, name


def test_names_outside_the_table_are_looked_up_live() -> None:
    table = price_table.load()
    assert table is not None and "gpt-4o-2024-08-06" not in table
    info = lookup_prices("gpt-4o-2024-08-06")
    assert info is not None and info == lookup_live("gpt-4o-2024-08-06")
    assert info.provider == "openai" and info.input_price is not None


def test_the_default_models_are_priced_without_importing_genai_prices() -> None:
    code = (
        "import sys\n"
        "from dynamic_orchestrator.catalog import lookup_prices\n"
        "from dynamic_orchestrator.price_table import default_names\n"
        "assert all(lookup_prices(n) is not None for n in default_names())\n"
        "print(sorted(m for m in sys.modules if m.startswith('genai_prices')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
