"""A trained router: per model, the probability of success and the expected cost of a prompt.

Stored as one ``.npz`` file read with ``allow_pickle=False`` (loading a router file never
runs code): the vocabulary, the IDF weights, per model a logistic-regression weight vector
(success) and a ridge-regression weight vector (cost), and a JSON header with the model
names, how it was trained and its default knobs.

Since version 2 a router also carries **per-task priors**: a task classifier on the same
terms (which outcome file or ``eval_name`` a prompt looks like), each model's smoothed
success rate and mean cost per task, and per model a blend weight ``w`` chosen by
cross-validation inside the training data. A prompt's success logit is
``(1 - w) · logit(Σ_t P(t|x) · rate[t]) + w · text_logit``, and its cost
``Σ_t P(t|x) · mean_cost[t]``, in USD as in the files. Where the text says nothing beyond
its task (``w`` = 0) the router is the best-model-per-task table, so its standard policy
cannot fall below that table by more than the task classifier's mistakes.

Scoring is done here with numpy, not scikit-learn: a prompt's terms are looked up in the
vocabulary, weighted (1 + log tf) × idf, L2-normalised, and multiplied by the weights of
only the terms present. That is the same arithmetic as scikit-learn's ``TfidfVectorizer``
and ``LogisticRegression.predict_proba`` (a test checks it), at a few microseconds per
prompt instead of the library's per-call overhead.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from dynamic_orchestrator.tokens import estimate_tokens

from .features import Terms
from .settings import RouterFileError

FORMAT = "dynamic-orchestrator-router"
VERSION = 2
READABLE_VERSIONS = (1, 2)
SURE_TASK = 0.8
MODES = ("utility", "threshold")


@dataclass
class Router:
    """The trained artifact; see the module docstring."""

    models: list[str]
    terms: Terms
    vocabulary: dict[str, int]
    idf: np.ndarray  # (V,)
    quality_coef: np.ndarray  # (V, k)
    quality_intercept: np.ndarray  # (k,)
    cost_coef: np.ndarray  # (V, k), micro-USD
    cost_per_ktok: np.ndarray  # (k,), micro-USD per 1000 estimated input tokens
    cost_intercept: np.ndarray  # (k,), micro-USD
    cost_floor: np.ndarray  # (k,), USD
    cost_ceiling: np.ndarray  # (k,), USD
    meta: dict[str, Any] = field(default_factory=dict)
    tasks: list[str] = field(default_factory=list)
    task_coef: np.ndarray | None = None  # (V, T) task classifier
    task_intercept: np.ndarray | None = None  # (T,)
    task_success: np.ndarray | None = None  # (T, k) smoothed success rate per task
    task_cost: np.ndarray | None = None  # (T, k) mean USD per task
    blend: np.ndarray | None = None  # (k,) weight of the text model against the task prior

    @property
    def has_priors(self) -> bool:
        """Whether the file carries per-task priors (version 2)."""
        return bool(self.tasks) and self.task_coef is not None

    # --- scoring -------------------------------------------------------------------

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The prompt's TF-IDF vector as (term indices, weights)."""
        counts: dict[int, int] = {}
        vocabulary = self.vocabulary
        for term in self.terms(text):
            index = vocabulary.get(term)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        index = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        weights = (1.0 + np.log(tf)) * self.idf[index]
        norm = float(np.sqrt(weights @ weights))
        if norm > 0:
            weights /= norm
        return index, weights

    def task_probability(self, index: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """P(task | prompt) from the task classifier, shape (T,); a task it is sure of
        (at least :data:`SURE_TASK`) counts whole, so the prompt gets exactly that
        task's rates and costs."""
        assert self.task_coef is not None and self.task_intercept is not None
        z = weights @ self.task_coef[index] + self.task_intercept
        z = np.exp(z - z.max())
        share = z / z.sum()
        top = int(np.argmax(share))
        if share[top] >= SURE_TASK:
            share = np.zeros_like(share)
            share[top] = 1.0
        return np.asarray(share)

    def predict(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(probability of success, expected USD) for each of :attr:`models`."""
        index, weights = self.vector(text)
        logits = weights @ self.quality_coef[index] + self.quality_intercept
        if self.has_priors:
            assert self.task_success is not None and self.task_cost is not None
            assert self.blend is not None
            share = self.task_probability(index, weights)
            prior = np.clip(share @ self.task_success, 1e-4, 1 - 1e-4)
            logits = (1.0 - self.blend) * np.log(prior / (1 - prior)) + self.blend * logits
            probability = 1.0 / (1.0 + np.exp(-logits))
            return probability, np.asarray(share @ self.task_cost)
        probability = 1.0 / (1.0 + np.exp(-logits))
        micro_usd = (
            weights @ self.cost_coef[index]
            + self.cost_per_ktok * (estimate_tokens(text) / 1000.0)
            + self.cost_intercept
        )
        cost = np.clip(micro_usd / 1e6, self.cost_floor, self.cost_ceiling)
        return probability, cost

    def predict_many(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` for many prompts: arrays of shape (n, k)."""
        k = len(self.models)
        probability = np.empty((len(texts), k))
        cost = np.empty((len(texts), k))
        for i, text in enumerate(texts):
            probability[i], cost[i] = self.predict(text)
        return probability, cost

    def scores(self, text: str) -> dict[str, dict[str, float]]:
        """``{"scores": {model: p_success}, "costs": {model: expected_usd}}``."""
        probability, cost = self.predict(text)
        return {
            "scores": {
                m: round(float(p), 6) for m, p in zip(self.models, probability, strict=True)
            },
            "costs": {m: float(f"{c:.6g}") for m, c in zip(self.models, cost, strict=True)},
        }

    # --- knobs -------------------------------------------------------------------------

    @property
    def defaults(self) -> dict[str, Any]:
        """The default ``mode``, ``target`` and ``willingness_to_pay`` stored with it."""
        return dict(self.meta.get("defaults", {}))

    def set_defaults(self, **values: Any) -> None:
        defaults = self.defaults
        defaults.update({k: v for k, v in values.items() if v is not None})
        self.meta["defaults"] = defaults

    def strongest(self) -> str:
        """The model with the highest mean success in the training data."""
        stats = self.meta.get("models", {})
        return max(self.models, key=lambda m: stats.get(m, {}).get("mean_success", 0.0))

    # --- files ---------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the router file atomically (exactly at ``path``)."""
        target = Path(path)
        meta = {**self.meta, "format": FORMAT, "version": VERSION, "models_order": self.models}
        meta["terms"] = {"ngram_max": self.terms.ngram_max}
        terms_by_index = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        arrays = {
            "meta": _bytes(json.dumps(meta, sort_keys=True)),
            "vocabulary": _bytes("\n".join(terms_by_index)),
            "templates": _bytes("\n".join(sorted(self.terms.templates))),
            "idf": self.idf.astype(np.float32),
            "quality_coef": self.quality_coef.astype(np.float32),
            "quality_intercept": self.quality_intercept.astype(np.float64),
            "cost_coef": self.cost_coef.astype(np.float32),
            "cost_per_ktok": self.cost_per_ktok.astype(np.float64),
            "cost_intercept": self.cost_intercept.astype(np.float64),
            "cost_floor": self.cost_floor.astype(np.float64),
            "cost_ceiling": self.cost_ceiling.astype(np.float64),
        }
        if self.has_priors:
            meta["tasks"] = list(self.tasks)
            arrays["task_coef"] = np.asarray(self.task_coef, dtype=np.float32)
            arrays["task_intercept"] = np.asarray(self.task_intercept, dtype=np.float64)
            arrays["task_success"] = np.asarray(self.task_success, dtype=np.float64)
            arrays["task_cost"] = np.asarray(self.task_cost, dtype=np.float64)
            arrays["blend"] = np.asarray(self.blend, dtype=np.float64)
            arrays["meta"] = _bytes(json.dumps(meta, sort_keys=True))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".router-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(buffer.getvalue())
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a router file is not a secret
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | Path) -> Router:
        """Read a router file; :class:`RouterFileError` says what is wrong with it."""
        source = Path(path)
        if not source.is_file():
            raise RouterFileError(f"{source}: no such router file")
        try:
            with np.load(source, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except Exception as exc:
            raise RouterFileError(f"{source}: not a router file ({type(exc).__name__})") from None
        try:
            meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
            if meta.get("format") != FORMAT:
                raise RouterFileError(f"{source}: not a router file (format {meta.get('format')})")
            if meta.get("version") not in READABLE_VERSIONS:
                raise RouterFileError(
                    f"{source}: router file version {meta.get('version')}, this plugin reads "
                    f"version {VERSION}: train it again"
                )
            terms_text = arrays["vocabulary"].tobytes().decode("utf-8")
            vocabulary = {t: i for i, t in enumerate(terms_text.split("\n"))} if terms_text else {}
            templates_text = arrays["templates"].tobytes().decode("utf-8")
            templates = templates_text.split("\n") if templates_text else []
            router = cls(
                models=list(meta["models_order"]),
                terms=Terms(templates, int(meta["terms"]["ngram_max"])),
                vocabulary=vocabulary,
                idf=arrays["idf"].astype(np.float64),
                quality_coef=arrays["quality_coef"],
                quality_intercept=arrays["quality_intercept"],
                cost_coef=arrays["cost_coef"],
                cost_per_ktok=arrays["cost_per_ktok"],
                cost_intercept=arrays["cost_intercept"],
                cost_floor=arrays["cost_floor"],
                cost_ceiling=arrays["cost_ceiling"],
                meta=meta,
            )
            if meta.get("tasks"):
                router.tasks = list(meta["tasks"])
                router.task_coef = arrays["task_coef"]
                router.task_intercept = arrays["task_intercept"]
                router.task_success = arrays["task_success"]
                router.task_cost = arrays["task_cost"]
                router.blend = arrays["blend"]
        except RouterFileError:
            raise
        except (KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
            raise RouterFileError(f"{source}: damaged router file ({exc})") from None
        k, size = len(router.models), len(router.vocabulary)
        if router.quality_coef.shape != (size, k) or router.cost_coef.shape != (size, k):
            raise RouterFileError(f"{source}: damaged router file (weights do not match)")
        if router.has_priors:
            t = len(router.tasks)
            shapes = [
                (router.task_coef, (size, t)),
                (router.task_intercept, (t,)),
                (router.task_success, (t, k)),
                (router.task_cost, (t, k)),
                (router.blend, (k,)),
            ]
            if any(a is None or a.shape != shape for a, shape in shapes):
                raise RouterFileError(f"{source}: damaged router file (task priors do not match)")
        return router


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
