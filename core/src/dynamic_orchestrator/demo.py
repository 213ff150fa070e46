"""The offline savings demo: what routing would choose for a set of requests, and at what
estimated cost against the baseline model.

Nothing is called and nothing is measured. The demo assumes every provider of the
catalog has a key (it plans, it does not run), prices tokens at list price from
genai-prices, and counts tokens with the same estimator the router uses. Every figure it
prints says so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .catalog import ModelInfo
from .config import Config
from .errors import ErrorKind, ProviderError
from .models import Completion
from .providers import ProviderCall
from .tokens import MESSAGE_OVERHEAD, estimate_tokens

_AUTH_MODULE = (
    """\
import hashlib, hmac, time
from flask import request, jsonify

SECRET = load_secret()

def login():
    data = request.get_json()
    user = db.users.find_one({"email": data["email"]})
    if not user or hashlib.md5(data["password"].encode()).hexdigest() != user["pw"]:
        return jsonify(error="invalid"), 401
    token = hmac.new(SECRET, f"{user['id']}:{time.time()}".encode(), "sha1").hexdigest()
    return jsonify(token=token)
"""
    * 6
)

DEMO_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("Show me the contents of config.yaml", {"file": "config.yaml"}),
    ("Where is the JWT secret loaded from?", {"repository": "acme/api", "language": "python"}),
    (
        "Create a REST API for user management",
        {"framework": "FastAPI", "database": "PostgreSQL"},
    ),
    (
        "Refactor the authentication module to use bcrypt and signed JWTs",
        {"file": "auth.py", "source": _AUTH_MODULE, "ci_log": "all 214 tests passed " * 80},
    ),
    (
        "Analyze this codebase and suggest improvements to its architecture: the services, "
        "how they communicate, and where the data consistency risks are",
        {"project_type": "web_api", "services": ["orders", "billing", "auth", "search"]},
    ),
    ("Restart the redis container in the dev compose stack", {}),
    (
        "Design a multi-region failover strategy for our Postgres cluster with zero downtime",
        {"current": "single primary in us-east-1 with two replicas"},
    ),
]


class PlanningProvider:
    """Stands in for a provider in the demo: usable for planning, never called."""

    def __init__(self, name: str):
        self.name = name

    def unavailable_reason(
        self, model: ModelInfo, *, client_can_sample: bool = False
    ) -> str | None:
        return None

    async def complete(self, call: ProviderCall) -> Completion:
        raise ProviderError(ErrorKind.UNAVAILABLE, "the demo plans only; it never calls a model")


async def run_demo(config: Config) -> dict[str, Any]:
    """Plan every demo request; return the figures, each labelled."""
    from .orchestrator import Orchestrator

    config = config.model_copy(update={"use_claude_code": False})
    rows: list[dict[str, Any]] = []
    async with Orchestrator(config) as orch:
        planned = {m.provider for m in orch.catalog.models.values() if m.provider}
        orch.catalog = replace(
            orch.catalog, providers={name: PlanningProvider(name) for name in planned}
        )
        baseline_name = config.effective_baseline_model
        baseline = orch.catalog.get(baseline_name)
        for text, context in DEMO_REQUESTS:
            req = orch.make_request(text, context)
            analysis, _, result = orch.run_analysis(req, orch._constraints(req, False))
            model = orch.catalog.get(result.recommended_model or "")
            prompt = orch.hooks.generate_prompt(
                req, analysis, model or ModelInfo(name="?", provider=None), config
            )
            prompt_tokens = (
                estimate_tokens(prompt.system) + estimate_tokens(prompt.user) + 2 * MESSAGE_OVERHEAD
            )
            out = analysis.estimated_output_tokens
            cost = model.estimate_cost(prompt_tokens, out) if model else None
            base_cost = (
                baseline.estimate_cost(analysis.baseline_input_tokens, out) if baseline else None
            )
            rows.append(
                {
                    "request": text,
                    "intent": result.intent,
                    "complexity": result.complexity,
                    "model": result.recommended_model,
                    "input_tokens": prompt_tokens,
                    "baseline_input_tokens": analysis.baseline_input_tokens,
                    "output_tokens": out,
                    "cost_usd": cost,
                    "baseline_cost_usd": base_cost,
                }
            )
    total = {
        "tokens": sum(r["input_tokens"] + r["output_tokens"] for r in rows),
        "baseline_tokens": sum(r["baseline_input_tokens"] + r["output_tokens"] for r in rows),
        "cost_usd": sum(r["cost_usd"] or 0.0 for r in rows),
        "baseline_cost_usd": sum(r["baseline_cost_usd"] or 0.0 for r in rows),
    }
    return {
        "baseline_model": baseline_name,
        "figures": "estimated",
        "method": (
            "offline plan, nothing called: tokens estimated (about 4 characters per token), "
            "costs at list prices from genai-prices; the baseline sends each request "
            f"unoptimized (full context) to {baseline_name} with the same output length; "
            "assumes a key for every provider"
        ),
        "requests": rows,
        "total": total,
    }


def _change(part: float, whole: float, fewer: str, more: str) -> str:
    """'38% less' or '2% more': the routed figure against the baseline, in words."""
    if not whole:
        return "no baseline figure"
    share = 1 - part / whole
    return f"{abs(100 * share):.0f}% {fewer if share >= 0 else more}"


def render(report: dict[str, Any]) -> str:
    """The demo as a table, every figure marked as an estimate."""
    lines = [
        "Dynamic Orchestrator — savings demo (offline; ALL FIGURES ARE ESTIMATES)",
        f"Baseline: every request unoptimized on {report['baseline_model']}.",
        f"Method: {report['method']}.",
        "",
        f"{'request':44} {'intent':8} {'level':9} {'model':22} {'~tokens':>8} {'~base':>8} "
        f"{'~cost $':>10} {'~base $':>10}",
    ]
    for r in report["requests"]:
        text = r["request"] if len(r["request"]) <= 43 else r["request"][:42] + "…"
        cost = "?" if r["cost_usd"] is None else f"{r['cost_usd']:.6f}"
        base = "?" if r["baseline_cost_usd"] is None else f"{r['baseline_cost_usd']:.6f}"
        lines.append(
            f"{text:44} {r['intent']:8} {r['complexity']:9} {r['model'] or '-':22} "
            f"{r['input_tokens'] + r['output_tokens']:>8} "
            f"{r['baseline_input_tokens'] + r['output_tokens']:>8} {cost:>10} {base:>10}"
        )
    t = report["total"]
    lines += [
        "",
        f"Estimated tokens: {t['tokens']} routed vs {t['baseline_tokens']} baseline "
        f"({_change(t['tokens'], t['baseline_tokens'], 'fewer', 'more')}, estimated).",
        "  Routed requests carry compact per-intent instructions (a few dozen tokens each) and",
        "  only trimmed context; short requests have nothing to trim, so they can carry more",
        "  tokens than the baseline. The saving comes from the cheaper model of each tier.",
        f"Estimated cost:   ${t['cost_usd']:.6f} routed vs ${t['baseline_cost_usd']:.6f} baseline "
        f"({_change(t['cost_usd'], t['baseline_cost_usd'], 'less', 'more')}, estimated).",
        "Measured figures come from real runs: see `dynamic-orchestrator metrics`.",
    ]
    return "\n".join(lines)
