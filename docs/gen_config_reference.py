"""Write the configuration reference (docs/reference/configuration.md) from the pydantic
configuration models, so the page cannot drift from the code.

    uv run python docs/gen_config_reference.py          # rewrite the page
    uv run python docs/gen_config_reference.py --check  # exit 1 if the page is out of date

``tests/test_docs.py`` runs the check.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from dynamic_orchestrator.config import Config, PluginSettings
from dynamic_orchestrator.hooks import installed_settings
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

PAGE = Path(__file__).parent / "reference" / "configuration.md"

HEADER = """\
# Configuration reference

Every key of the configuration file, generated from the configuration models
(`dynamic_orchestrator.config`) by `uv run python docs/gen_config_reference.py`; a test
fails when this page and the models disagree. How a file is found, and examples:
[Configuration](../configuration.md).

Unknown keys are errors that name the key (`dynamic-orchestrator config check PATH`).
Keys written `<name>` are names you choose; `<tier>` is a tier: `simple`, `moderate` and
`complex` are always there, and `execution` may add tiers of your own. Each plugin's
settings (`plugins.<name>`) are listed after the host's, from the model the plugin
declares; the older keys that still set them are named there.
"""

TIER_KEYED = frozenset({"execution", "claude_code_models"})
"""Top-level mappings keyed by tier (tiers are plain names, so the type cannot tell)."""


def _type(annotation: Any, tier_keys: bool = False) -> str:
    """A reader's name for a type annotation."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin is Literal:
        return " or ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type(a) for a in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        key = "tier" if tier_keys or get_origin(args[0]) is Literal else "name"
        return f"mapping of {key} to {_type(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    names = {bool: "boolean", int: "integer", float: "number", str: "string", Any: "any"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, dict) and value and isinstance(next(iter(value.values())), BaseModel):
        return "see below"
    if value is PydanticUndefined:
        return ""
    text = json.dumps(value, default=str)
    return "see below" if len(text) > 40 else f"`{text}`"


def _nested(annotation: Any, tier_keys: bool = False) -> tuple[str, type[BaseModel]] | None:
    """('', Model) for a section, ('.<name>', Model) for a mapping of sections."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "", annotation
    if get_origin(annotation) is dict:
        key, value = get_args(annotation)
        if isinstance(value, type) and issubclass(value, BaseModel):
            tiered = tier_keys or get_origin(key) is Literal
            return (".<tier>" if tiered else ".<name>"), value
    return None


def _doc(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip()
    return " ".join(line.strip() for line in doc.splitlines() if line.strip())


def _anchor(path: str) -> str:
    return path.replace(".<", "-").replace(">", "").replace(".", "-").replace("_", "-")


def _table(model: type[BaseModel], path: str, sections: list[tuple[str, type[BaseModel]]]) -> str:
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        tier_keys = not path and name in TIER_KEYED
        nested = _nested(field.annotation, tier_keys)
        description = field.description or ""
        kind = _type(field.annotation, tier_keys)
        if nested is not None:
            suffix, sub = nested
            child = f"{path}.{name}" if path else name
            sections.append((child + suffix, sub))
            kind = kind.replace("section", f"[section](#{_anchor(child + suffix)})")
            description = description or _doc(sub)
        rows.append(f"| `{name}` | {kind} | {_default(field)} | {description} |")
    return "\n".join(rows)


def _sections(out: list[str], sections: list[tuple[str, type[BaseModel]]]) -> None:
    done: set[str] = set()
    while sections:
        path, model = sections.pop(0)
        if path in done:
            continue
        done.add(path)
        out += [f"## `{path}` {{#{_anchor(path)}}}", ""]
        if _doc(model):
            out += [_doc(model), ""]
        out += [_table(model, path, sections), ""]


def _plugin(out: list[str], declared: PluginSettings) -> None:
    """A plugin's section, its older keys and the provider options it checks."""
    path = f"plugins.{declared.name}"
    sections: list[tuple[str, type[BaseModel]]] = [
        (f"providers.<{provider_type}>.options", model)
        for provider_type, model in declared.provider_options.items()
    ]
    if declared.model is None:
        _sections(out, sections)
        return
    out += [f"## `{path}` {{#{_anchor(path)}}}", ""]
    if _doc(declared.model):
        out += [_doc(declared.model), ""]
    if declared.aliases:
        older = ", ".join(
            f"`{old}` (`{path}.{target}`)" for old, target in declared.aliases.items()
        )
        out += [f"Older keys that still set these: {older}.", ""]
    out += [_table(declared.model, path, sections), ""]
    _sections(out, sections)


def render() -> str:
    """The whole page."""
    out = [HEADER, "## Top level", "", _doc(Config), ""]
    sections: list[tuple[str, type[BaseModel]]] = []
    out += [_table(Config, "", sections), ""]
    _sections(out, sections)
    declared = sorted(installed_settings(), key=lambda d: d.name)
    for item in declared:
        _plugin(out, item)
    defaults = Config().model_dump(mode="json", exclude={"source"})
    defaults["plugins"].update(
        {item.name: item.model().model_dump(mode="json") for item in declared if item.model}
    )
    out += [
        "## The embedded defaults",
        "",
        "What applies with no configuration file (`Config()` and each installed plugin's "
        "defaults), as YAML:",
        "",
        "```yaml",
        yaml.safe_dump(defaults, sort_keys=False).rstrip(),
        "```",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE} is out of date: run uv run python docs/gen_config_reference.py")
            return 1
        return 0
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
