"""The documentation cannot drift from the code: every hook is documented with its exact
signature, and the configuration reference is what the configuration models say."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

import pytest
from dynamic_orchestrator import hookspecs
from dynamic_orchestrator.plugins import hookspec_names

DOCS = Path(__file__).resolve().parents[1] / "docs"
HOOKS_PAGE = DOCS / "reference" / "hooks.md"
HEADING = re.compile(r"^### `(?P<name>\w+)`\s*$", re.MULTILINE)


def signature(name: str) -> str:
    """How the page must write a hook's signature: as the specification declares it."""
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def sections(text: str) -> dict[str, str]:
    """Each ``### `hook` `` section of the page, by hook name."""
    found: dict[str, str] = {}
    matches = list(HEADING.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[match.end() : end].split("\n## ", 1)[0]
        found[match["name"]] = body
    return found


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    documented = sections(HOOKS_PAGE.read_text(encoding="utf-8"))
    missing = sorted(hookspec_names() - set(documented))
    assert not missing, f"hooks missing from docs/reference/hooks.md: {missing}"
    stale = sorted(set(documented) - hookspec_names())
    assert not stale, f"docs/reference/hooks.md documents hooks that do not exist: {stale}"
    for name, body in documented.items():
        expected = signature(name)
        assert f"```python\n{expected}\n```" in body, (
            f"docs/reference/hooks.md: the signature of {name} must read\n    {expected}"
        )
        spec = getattr(hookspecs, name)
        firstresult = getattr(spec, f"{hookspecs.PROJECT}_spec").get("firstresult")
        kind = "**First result.**" if firstresult else "**Every implementation"
        assert kind in body, f"docs/reference/hooks.md: {name} must say {kind!r}"
        prose = body.split("```", 2)[-1].strip()
        assert len(prose) > 80, f"docs/reference/hooks.md: {name} needs a description"


def test_the_check_fails_for_an_undocumented_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    @hookspecs.hookspec
    def brand_new_hook(request: str) -> None:
        """A hook added without documentation."""

    monkeypatch.setattr(hookspecs, "brand_new_hook", brand_new_hook, raising=False)
    with pytest.raises(AssertionError, match=r"missing from .*hooks\.md: \['brand_new_hook'\]"):
        test_every_hook_is_documented_with_its_exact_signature()


def test_the_configuration_reference_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "gen_config_reference", DOCS / "gen_config_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (DOCS / "reference" / "configuration.md").read_text(encoding="utf-8")
    assert page == module.render(), (
        "docs/reference/configuration.md is out of date: run "
        "uv run python docs/gen_config_reference.py"
    )


def test_every_configuration_key_is_described() -> None:
    from dynamic_orchestrator.config import Config
    from pydantic import BaseModel

    undescribed: list[str] = []

    def walk(model: type[BaseModel], path: str) -> None:
        for name, field in model.model_fields.items():
            if field.exclude:
                continue
            annotation = field.annotation
            args = getattr(annotation, "__args__", ())
            nested = [
                a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            if nested:
                walk(nested[0], f"{path}{name}.")
                if field.description or nested[0].__doc__:
                    continue
            if not field.description:
                undescribed.append(path + name)

    walk(Config, "")
    assert not undescribed, f"configuration keys without a description: {undescribed}"


def test_configuration_examples_in_the_docs_are_valid() -> None:
    """Every YAML block in the docs whose keys are configuration keys is a valid config."""
    import yaml
    from dynamic_orchestrator.config import Config, parse_config

    checked = 0
    for page in sorted(DOCS.rglob("*.md")):
        for block in re.findall(r"```yaml\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            data = yaml.safe_load(block)
            if isinstance(data, dict) and set(data) <= set(Config.model_fields):
                parse_config(data, f"{page.relative_to(DOCS)}")  # raises, naming the key
                checked += 1
    assert checked >= 4
