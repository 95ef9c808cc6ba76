"""The exercise checks of chapter 8: the reference passes, stubs and typical mistakes fail."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch

from lrlib import checks
from lrlib import compare as C
from lrlib.checks import CheckFailed, ch08

RESULTS = C.load_results()


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_module_docstring_example_runs():
    result = doctest.testmod(ch08, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_lazy_attribute_finds_the_module():
    assert checks.ch08 is ch08
    assert "ch08" in checks.chapters()


def todo(*args, **kwargs):
    raise NotImplementedError


def rows(model, optimizer):
    return {c["method"]: C.config_summary(c) for c in RESULTS["configs"]
            if (c["model"], c["optimizer"]) == (model, optimizer)}


# --- Exercise 8.1: reading the table ----------------------------------------------------


def test_table_reference_passes(capsys):
    expected = ch08.answers()
    ch08.read_the_table(lambda: expected)
    assert capsys.readouterr().out.startswith("✓ Exercise 8.1 passed")
    labels = {k: C.METHOD_LABELS[m].upper() for k, m in expected.items()}
    ch08.read_the_table(lambda: labels)                  # labels, any case, are accepted


def test_table_answers_follow_the_rules():
    got = ch08.answers(RESULTS)
    a = rows("cnn", "sgd")
    assert all(a[got["a"]]["acc_mean"] >= r["acc_mean"] for r in a.values())
    b = rows("mlp", "adamw")
    assert b[got["b"]]["reached"] == 3
    assert all(b[got["b"]]["epochs_to_target"] <= r["epochs_to_target"]
               for r in b.values() if r["reached"] == 3)
    c = rows("cnn", "adamw")
    assert all(c[got["c"]]["drop_double"] <= r["drop_double"]
               for r in c.values() if r["drop_double"] is not None)


def test_table_stub_and_bad_shapes_fail():
    with pytest.raises(CheckFailed, match="not written yet"):
        ch08.read_the_table(todo)
    with pytest.raises(CheckFailed, match="keys 'a', 'b' and 'c'"):
        ch08.read_the_table(lambda: {"a": "cosine"})
    answers = dict(ch08.answers(), b="adam")
    with pytest.raises(CheckFailed, match="answer 'b' should name a method"):
        ch08.read_the_table(lambda: answers)


def test_table_wrong_block_and_wrong_column_fail_with_hints():
    expected = ch08.answers()
    other = max(rows("mlp", "sgd").items(), key=lambda kv: kv[1]["acc_mean"])[0]
    if other != expected["a"]:
        pattern = r"(?s)question \(a\).*Hint: that is the best of the MLP \+ "
        with pytest.raises(CheckFailed, match=pattern):
            ch08.read_the_table(lambda: dict(expected, a=other))
    c = rows("cnn", "adamw")
    half = min((m for m in c if c[m]["drop_half"] is not None),
               key=lambda m: c[m]["drop_half"])
    if half != expected["c"]:
        with pytest.raises(CheckFailed, match="HALF the rate"):
            ch08.read_the_table(lambda: dict(expected, c=half))
    worst = max((m for m in c if c[m]["drop_double"] is not None),
                key=lambda m: c[m]["drop_double"])
    pattern = "HALF the rate" if worst == half else "the largest drop"  # half's hint first
    with pytest.raises(CheckFailed, match=pattern):
        ch08.read_the_table(lambda: dict(expected, c=worst))


def test_table_question_b_mistakes_fail_with_hints():
    expected = ch08.answers()
    b = rows("mlp", "adamw")
    partial = [m for m in b if b[m]["reached"] < 3]
    if partial:
        with pytest.raises(CheckFailed, match="reached the target in only"):
            ch08.read_the_table(lambda: dict(expected, b=partial[0]))
    best = max(b, key=lambda m: b[m]["acc_mean"])
    if best != expected["b"] and b[best]["reached"] == 3:
        with pytest.raises(CheckFailed, match="most accurate method"):
            ch08.read_the_table(lambda: dict(expected, b=best))


# --- Exercise 8.2: a valid schedule ----------------------------------------------------


def trapezoid(lr, total_steps):
    """Reference: linear warm-up over 10%, hold, linear cool-down over the last 30%."""
    warm, cool = 0.1 * total_steps, 0.3 * total_steps

    def sched(t):
        t = np.asarray(t, dtype=float)
        up = np.clip((t + 1) / warm, 0.0, 1.0)
        down = np.clip((total_steps - t) / cool, 0.0, 1.0)
        return lr * np.minimum(up, down)

    return sched


def test_schedule_reference_passes(capsys):
    ch08.valid_schedule(trapezoid)
    assert capsys.readouterr().out.startswith("✓ Exercise 8.2 passed")


def test_schedule_accepts_lrlib_schedules():
    ch08.valid_schedule(lambda lr, T: C.make_schedule("cosine_restarts", lr, T)[0])
    ch08.valid_schedule(lambda lr, T: C.make_schedule("warmup_cosine", lr, max(T, 10))[0])


def test_schedule_stub_fails():
    with pytest.raises(CheckFailed, match="not written yet"):
        ch08.valid_schedule(todo)


def test_schedule_with_python_if_fails_with_the_vector_hint():
    def branchy(lr, total_steps):
        def sched(t):
            if t < total_steps // 2:
                return lr
            return lr / 10
        return sched

    with pytest.raises(CheckFailed, match=r"np\.where"):
        ch08.valid_schedule(branchy)


def test_schedule_with_math_cos_fails_with_the_vector_hint():
    def scalar_cos(lr, total_steps):
        return lambda t: lr * (1 + math.cos(math.pi * t / total_steps)) / 2

    with pytest.raises(CheckFailed, match=r"np\.cos"):
        ch08.valid_schedule(scalar_cos)


def test_schedule_going_negative_past_the_end_fails():
    def linear(lr, total_steps):
        return lambda t: lr * (1 - np.asarray(t) / total_steps)

    with pytest.raises(CheckFailed, match=r"(?s)step \d+: the rate is .*Hint: past total_steps"):
        ch08.valid_schedule(linear)


def test_schedule_with_state_fails():
    def counting(lr, total_steps):
        calls = []

        def sched(t):
            calls.append(1)
            return lr * np.ones(np.shape(t)) / len(calls)
        return sched

    with pytest.raises(CheckFailed, match=r"depend on the step only|differs|same rates"):
        ch08.valid_schedule(counting)


def test_schedule_with_isinstance_int_fails():
    def picky(lr, total_steps):
        def sched(t):
            if isinstance(t, int):
                return lr
            return lr * np.ones(np.shape(t)) * 0.5
        return sched

    with pytest.raises(CheckFailed, match="numpy ints are ints too"):
        ch08.valid_schedule(picky)


def test_schedule_peaks_must_equal_lr():
    def low(lr, total_steps):
        return lambda t: 0.5 * lr * np.ones(np.shape(t))

    with pytest.raises(CheckFailed, match="largest rate over the run"):
        ch08.valid_schedule(low)

    def high(lr, total_steps):
        return lambda t: 2 * lr * np.ones(np.shape(t))

    with pytest.raises(CheckFailed, match="above lr"):
        ch08.valid_schedule(high)


def test_schedule_returning_a_number_fails():
    with pytest.raises(CheckFailed, match="should return a function of the step"):
        ch08.valid_schedule(lambda lr, T: lr)


# --- Exercise 8.3: add it to the comparison ---------------------------------------------


@pytest.fixture(scope="module")
def study():
    """The reference solution of Exercise 8.3, run once (a few seconds)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = C.run_config("mlp", "sgd", trapezoid, sensitivity=False)
    finally:
        torch.set_num_threads(threads)
    return config, ch08.verdict([r["final_test_acc"] for r in config["runs"]])[0]


def test_comparison_reference_passes(study, capsys):
    ch08.add_to_comparison(lambda: study)
    assert capsys.readouterr().out.startswith("✓ Exercise 8.3 passed")


def test_comparison_stub_fails():
    with pytest.raises(CheckFailed, match="not written yet"):
        ch08.add_to_comparison(todo)


def test_comparison_wrong_verdict_fails(study):
    config, said = study
    wrong = "better" if said != "better" else "worse"
    with pytest.raises(CheckFailed, match="so the verdict is"):
        ch08.add_to_comparison(lambda: (config, wrong))


def test_comparison_old_tie_rule_gets_its_own_hint(study, monkeypatch):
    config, said = study
    wrong = "better" if said != "better" else "worse"
    monkeypatch.setattr(ch08, "_old_rule", lambda acc, results: wrong)
    with pytest.raises(CheckFailed, match=r"(?s)tie margin .*Hint: that is the rule 'larger "
                                          r"than the larger standard deviation'"):
        ch08.add_to_comparison(lambda: (config, wrong))


def test_comparison_edited_numbers_fail(study):
    config, said = study
    runs = [dict(r) for r in config["runs"]]
    runs[1]["final_test_acc"] += 0.05
    with pytest.raises(CheckFailed, match="re-run gives"):
        ch08.add_to_comparison(lambda: (dict(config, runs=runs), said))


def test_comparison_shortcuts_fail(study):
    config, said = study
    with pytest.raises(CheckFailed, match="built-in method"):
        ch08.add_to_comparison(lambda: (dict(config, method="cosine"), said))
    with pytest.raises(CheckFailed, match=r"MLP \+ SGD rows"):
        ch08.add_to_comparison(lambda: (dict(config, optimizer="adamw"), said))
    with pytest.raises(CheckFailed, match="seeds"):
        ch08.add_to_comparison(lambda: (dict(config, runs=config["runs"][:2]), said))
    sweep = dict(config["sweep"], cells=config["sweep"]["cells"][:1])
    with pytest.raises(CheckFailed, match="bracket rule"):
        ch08.add_to_comparison(lambda: (dict(config, sweep=sweep), said))
    short = [dict(r, epochs=5) for r in config["runs"]]
    with pytest.raises(CheckFailed, match="same budget"):
        ch08.add_to_comparison(lambda: (dict(config, runs=short), said))
    with pytest.raises(CheckFailed, match=r"\(config, verdict\)"):
        ch08.add_to_comparison(lambda: config)


def test_verdict_rule():
    block = rows("mlp", "sgd")
    best = max(block.values(), key=lambda r: r["acc_mean"])
    assert ch08.verdict(best["acc"])[0] == "tie"
    assert ch08.verdict(np.array(best["acc"]) + 0.2)[0] == "better"
    assert ch08.verdict(np.array(best["acc"]) - 0.2)[0] == "worse"
    # the margin is compare.tie_margin of the new row and the best one
    mine = [0.60, 0.61, 0.62]
    _, method, diff, margin = ch08.verdict(mine)
    assert method == best["method"] and margin == pytest.approx(C.tie_margin(mine, best["acc"]))
    assert diff == pytest.approx(np.mean(mine) - best["acc_mean"])
    # a steady new row just inside and just outside the margin
    steady = C.tie_margin([0.5, 0.5, 0.5], best["acc"])
    assert ch08.verdict([best["acc_mean"] - 0.9 * steady] * 3)[0] == "tie"
    assert ch08.verdict([best["acc_mean"] - 1.1 * steady] * 3)[0] == "worse"
