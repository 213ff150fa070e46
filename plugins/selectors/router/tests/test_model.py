"""Training a router, its fast scoring path, and its file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dynamic_orchestrator_router.features import MARK, Terms, find_templates
from dynamic_orchestrator_router.model import Router, RouterFileError
from dynamic_orchestrator_router.outcomes import read_outcomes
from dynamic_orchestrator_router.training import TrainOptions, train


def test_learns_which_model_succeeds_where(
    trained_router_path: Path, chat_prompt: str, math_prompt: str, code_prompt: str
) -> None:
    router = Router.load(trained_router_path)
    tiny, mid, big = (router.models.index(m) for m in ("tiny", "mid", "big"))
    p_chat, _ = router.predict(chat_prompt)
    p_math, _ = router.predict(math_prompt)
    p_code, cost = router.predict(code_prompt)
    assert p_chat[tiny] > 0.7 and p_math[tiny] < 0.3
    assert p_code[mid] > 0.7 and p_code[tiny] < 0.3
    assert p_math[big] > 0.7 and p_math[mid] < 0.3
    # costs: ten times more per step, learned from the files
    assert cost[tiny] < cost[mid] < cost[big]
    assert cost[big] / cost[tiny] == pytest.approx(100, rel=0.25)


def test_fast_path_matches_scikit_learn(routerbench_csv: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    table = read_outcomes([routerbench_csv])
    router = train(table)
    vectorizer = TfidfVectorizer(
        analyzer=router.terms, min_df=2, sublinear_tf=True, dtype=np.float32
    )
    x = vectorizer.fit_transform(table.prompts)
    j = table.models.index("big")
    seen = ~np.isnan(table.success[:, j])
    reference = LogisticRegression(C=1.0, max_iter=2000).fit(x[seen], table.success[seen, j])
    expected = reference.predict_proba(x[:40])[:, 1]
    router.blend = np.ones(len(router.models))  # the text model alone
    ours = np.array([router.predict(p)[0][j] for p in table.prompts[:40]])
    assert np.abs(expected - ours).max() < 1e-5


def test_task_priors_give_each_task_its_own_rates(routerbench_csv: Path) -> None:
    """With the text model weighted 0, a prompt gets exactly its task's success rate
    (shrunk by the prior strength) and mean cost: the best-model-per-task table."""
    table = read_outcomes([routerbench_csv])
    router = train(table, TrainOptions(blend_folds=0, prior_strength=0.0))
    assert router.tasks and router.blend is not None and not router.blend.any()
    tasks = np.array(table.tasks)
    for task in router.tasks:
        i = int(np.flatnonzero(tasks == task)[0])
        rows = tasks == task
        p, c = router.predict(table.prompts[i])
        assert p == pytest.approx(np.nanmean(table.success[rows], axis=0), abs=1e-3)
        assert c == pytest.approx(np.nanmean(table.cost[rows], axis=0), rel=1e-6)


def test_priors_survive_save_and_load(routerbench_csv: Path, tmp_path: Path) -> None:
    table = read_outcomes([routerbench_csv])
    router = train(table)
    again = Router.load(router.save(tmp_path / "r.npz"))
    assert again.tasks == router.tasks
    for prompt in table.prompts[:5]:
        assert np.allclose(again.predict(prompt)[0], router.predict(prompt)[0], atol=1e-5)


def test_templates_become_one_term(synthetic: Any) -> None:
    rng = np.random.default_rng(0)
    prompts = [synthetic.make_prompt("chat", rng, template=True) for _ in range(10)]
    templates = find_templates(prompts)
    assert len(templates) == 2  # the instruction and the worked example
    terms = Terms(templates)(prompts[0])
    markers = [t for t in terms if t.startswith(f"{MARK}t:")]
    assert len(markers) == 2
    assert "answer" not in terms and "please" in terms  # template words are not counted
    assert any(t.startswith(f"{MARK}len:") for t in terms)


def test_round_trip_and_knobs(trained_router_path: Path, tmp_path: Path, chat_prompt: str) -> None:
    router = Router.load(trained_router_path)
    router.set_defaults(willingness_to_pay=0.5)
    copy = router.save(tmp_path / "copy.router")  # any name, written exactly there
    assert copy.name == "copy.router"
    loaded = Router.load(copy)
    assert loaded.defaults["willingness_to_pay"] == 0.5 and loaded.defaults["mode"] == "utility"
    a, b = router.predict(chat_prompt), loaded.predict(chat_prompt)
    assert np.allclose(a[0], b[0]) and np.allclose(a[1], b[1])
    scores = loaded.scores(chat_prompt)
    assert set(scores["scores"]) == set(scores["costs"]) == {"tiny", "mid", "big"}
    assert loaded.strongest() == "big"


def test_default_knobs_come_from_the_data(trained_router_path: Path) -> None:
    router = Router.load(trained_router_path)
    stats = router.meta["models"]
    defaults = router.defaults
    # willingness to pay: big's extra cost over tiny per extra success, on average
    gain = stats["big"]["mean_success"] - stats["tiny"]["mean_success"]
    extra = stats["big"]["mean_cost_usd"] - stats["tiny"]["mean_cost_usd"]
    assert defaults["willingness_to_pay"] == pytest.approx(extra / gain, rel=1e-4)
    assert defaults["target"] == pytest.approx(0.95 * stats["big"]["mean_success"], abs=1e-4)


def test_bad_router_files(tmp_path: Path, trained_router_path: Path) -> None:
    with pytest.raises(RouterFileError, match="no such router file"):
        Router.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(RouterFileError, match="not a router file"):
        Router.load(junk)
    old = Router.load(trained_router_path).save(tmp_path / "old.npz")
    with np.load(old) as stored:
        data = dict(stored)
    meta = json.loads(data["meta"].tobytes())
    meta["version"] = 99  # a file from another version of the plugin
    data["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with old.open("wb") as handle:
        np.savez(handle, **data)
    with pytest.raises(RouterFileError, match=r"version 99.*train it again"):
        Router.load(old)


def test_constant_and_fractional_outcomes(tmp_path: Path) -> None:
    lines = []
    for i in range(30):
        prompt = f"question number {i} about {'cats' if i % 2 else 'dogs'}"
        lines.append({"prompt": prompt, "model": "always", "success": True, "cost_usd": 0.001})
        quality = 0.9 if i % 2 else 0.1
        lines.append({"prompt": prompt, "model": "graded", "success": quality, "cost_usd": 0.002})
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    router = train(read_outcomes([path]))
    p_cats, _ = router.predict("question about cats")
    p_dogs, _ = router.predict("question about dogs")
    always, graded = router.models.index("always"), router.models.index("graded")
    assert p_cats[always] == pytest.approx(p_dogs[always]) and p_cats[always] > 0.95
    assert p_cats[graded] > 0.6 > 0.4 > p_dogs[graded]


def test_training_needs_data(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text('{"prompt": "x", "model": "a", "success": true, "cost_usd": 0.1}\n')
    with pytest.raises(ValueError, match="at least 2 prompts"):
        train(read_outcomes([path]), TrainOptions())
