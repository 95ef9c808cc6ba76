"""The checks of chapter 2: reference solutions pass, stubs and typical mistakes fail."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrlib import checks
from lrlib.checks import ch02

# --- Exercise 2.1: a step-decay table by hand ---------------------------------------------

TORCH = [0.3, 0.3, 0.3, 0.3, 0.03, 0.03, 0.03, 0.03, 0.003, 0.003]
KERAS = [0.3, 0.3, 0.3, 0.3, 0.3, 0.03, 0.03, 0.03, 0.03, 0.003]


def test_table_reference_passes(capsys):
    checks.ch02.step_decay_table(lambda: (TORCH, KERAS))
    assert capsys.readouterr().out.startswith("✓ Exercise 2.1 passed")


def test_table_accepts_arrays_and_float32_rounding():
    ch02.step_decay_table(lambda: (np.array(TORCH, dtype=np.float32), tuple(KERAS)))


def todo():
    raise NotImplementedError


@pytest.mark.parametrize(("answer", "message"), [
    (todo, "step_decay_rates is not written yet"),
    (lambda: TORCH, r"should return two lists \(torch_rates, keras_rates\)"),
    (lambda: (TORCH[:9], KERAS), r"torch_rates should have shape \(10,\) \(one value per "
                                 r"epoch\), got shape \(9,\)"),
    (lambda: (KERAS, KERAS), r"epoch 4: expected torch_rates = 0.03, got 0.3\.\n"
                             r"Hint: StepLR drops AT epoch step_size"),
    (lambda: (TORCH, TORCH), r"epoch 4: expected keras_rates = 0.3, got 0.03\.\n"
                             r"Hint: PiecewiseConstantDecay keeps values\[i\] while"),
    (lambda: ([0.3, 0.3, 0.3, 0.03, *TORCH[4:]], KERAS),
     r"epoch 3: .*\nHint: you dropped one epoch too early"),
    (lambda: ([0.3 * 0.1 ** (t / 4) for t in range(10)], KERAS),
     r"epoch 1: .*\nHint: step decay holds the rate constant between drops"),
    (lambda: ([0.3 - 0.1 * (t // 4) for t in range(10)], KERAS),
     r"epoch 4: .*\nHint: gamma multiplies the rate; it is not subtracted"),
    (lambda: (TORCH, ["0.3"] * 10), r"keras_rates should be an array of numbers|"
                                    r"epoch 5: expected keras_rates"),
])
def test_table_mistakes_fail_with_their_hint(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch02.step_decay_table(answer)


# --- Exercise 2.2: exponential and 1/t decay --------------------------------------------


def exponential_decay(lr, gamma, t, decay_steps=1, staircase=False):
    e = t // decay_steps if staircase else t / decay_steps
    return lr * gamma ** e


def inverse_time_decay(lr, decay, t, decay_steps=1, staircase=False):
    e = t // decay_steps if staircase else t / decay_steps
    return lr / (1 + decay * e)


def test_decays_reference_passes(capsys):
    ch02.decay_functions(exponential_decay, inverse_time_decay)
    assert "✓ Exercise 2.2 passed" in capsys.readouterr().out


def test_decays_with_np_floor_and_k_form_pass():
    def exp_k(lr, gamma, t, decay_steps=1, staircase=False):
        ratio = np.asarray(t) / decay_steps
        e = np.floor(ratio) if staircase else ratio
        return lr * np.exp(math.log(gamma) * e)

    ch02.decay_functions(exp_k, inverse_time_decay)


def exp_bad(formula):
    def f(lr, gamma, t, decay_steps=1, staircase=False):
        t = np.asarray(t, dtype=float)
        return formula(lr, gamma, t, decay_steps, staircase)
    return f


def inv_bad(formula):
    def f(lr, decay, t, decay_steps=1, staircase=False):
        t = np.asarray(t, dtype=float)
        with np.errstate(divide="ignore"):
            return formula(lr, decay, t, decay_steps, staircase)
    return f


EXP_MISTAKES = [
    (lambda lr, g, t, d, s: lr * g ** t, "gamma is the factor per decay_steps steps"),
    (lambda lr, g, t, d, s: lr * g ** (t * d), "divide t by decay_steps; do not multiply"),
    (lambda lr, g, t, d, s: lr * g ** (t / d), "staircase=True uses the exponent floor"),
    (lambda lr, g, t, d, s: lr * g ** (np.ceil(t / d) if s else t / d), "down \\(floor\\), "
                                                                       "not up"),
    (lambda lr, g, t, d, s: lr * g ** (np.round(t / d) if s else t / d), "not to nearest"),
    (lambda lr, g, t, d, s: lr * g ** (t / d + 1), "step 0 must use lr itself"),
    (lambda lr, g, t, d, s: lr * np.exp(-g * t / d), "gamma is a factor"),
]


@pytest.mark.parametrize(("formula", "hint"), EXP_MISTAKES)
def test_exponential_mistakes_fail_with_their_hint(formula, hint):
    with pytest.raises(checks.CheckFailed, match=f"(?s)exponential_decay\\(.*Hint: .*{hint}"):
        ch02.decay_functions(exp_bad(formula), inverse_time_decay)


INV_MISTAKES = [
    (lambda lr, k, t, d, s: lr / (1 + k * t), "decay_steps stretches the clock"),
    (lambda lr, k, t, d, s: lr / (1 + k * t * d), "divide t by decay_steps; do not multiply"),
    (lambda lr, k, t, d, s: lr / (1 + k * t / d), "staircase=True uses floor"),
    (lambda lr, k, t, d, s: lr / (1 + k * (np.ceil(t / d) if s else t / d)),
     "round the time down"),
    (lambda lr, k, t, d, s: lr / (1 + k) ** (t / d), "that is exponential decay"),
    (lambda lr, k, t, d, s: lr * (1 - k * t / d), "that is a linear decay"),
    (lambda lr, k, t, d, s: lr / (k * t / d), "without the 1, step 0 divides by 0"),
    (lambda lr, k, t, d, s: lr / (1 + k * (t / d + 1)), "step 0 must use lr itself"),
]


@pytest.mark.parametrize(("formula", "hint"), INV_MISTAKES)
def test_inverse_time_mistakes_fail_with_their_hint(formula, hint):
    with pytest.raises(checks.CheckFailed, match=f"(?s)inverse_time_decay\\(.*Hint: .*{hint}"):
        ch02.decay_functions(exponential_decay, inv_bad(formula))


def test_decays_stub_scalar_only_and_wrong_scalar_fail():
    def stub(lr, gamma, t, decay_steps=1, staircase=False):
        raise NotImplementedError

    with pytest.raises(checks.CheckFailed, match="exponential_decay is not written yet"):
        ch02.decay_functions(stub, inverse_time_decay)
    with pytest.raises(checks.CheckFailed, match="inverse_time_decay is not written yet"):
        ch02.decay_functions(exponential_decay, stub)

    def scalar_only(lr, gamma, t, decay_steps=1, staircase=False):
        e = math.floor(t / decay_steps) if staircase else t / decay_steps
        return lr * gamma ** e

    with pytest.raises(checks.CheckFailed, match=r"raised TypeError.*\nHint: the step t may "
                                                 r"be a numpy array"):
        ch02.decay_functions(scalar_only, inverse_time_decay)

    def first_only(lr, gamma, t, decay_steps=1, staircase=False):
        return float(np.asarray(exponential_decay(lr, gamma, t, decay_steps,
                                                  staircase)).ravel()[0])

    with pytest.raises(checks.CheckFailed, match="returned one number for an array"):
        ch02.decay_functions(first_only, inverse_time_decay)

    def int_differs(lr, gamma, t, decay_steps=1, staircase=False):
        if isinstance(t, int):
            return lr
        return exponential_decay(lr, gamma, t, decay_steps, staircase)

    with pytest.raises(checks.CheckFailed, match="an int step should give the same rate"):
        ch02.decay_functions(int_differs, inverse_time_decay)


# --- Exercise 2.3: choose a milestone ------------------------------------------------------

GOOD = {5: [0.63, 0.62, 0.63], 10: [0.68, 0.68, 0.66], 13: [0.67, 0.68, 0.70]}


def test_milestone_reference_and_ties_pass(capsys):
    ch02.milestone_choice(lambda: (13, GOOD), epochs=15)
    out = capsys.readouterr().out
    assert out.startswith("✓ Exercise 2.3 passed: milestone 13 is clearly ahead of 5, and "
                          "tied with 10 within the seed spread")
    assert "5: 0.627 ± 0.005" in out and "say so in your comment" in out
    # 10 is within one spread of 13: a tie, so choosing it passes too
    ch02.milestone_choice(lambda: (np.int64(10), {**GOOD, 10: np.array(GOOD[10])}),
                          epochs=15)
    assert "milestone 10 is clearly ahead of 5, and tied with 13" in capsys.readouterr().out


def test_milestone_clearly_best_names_every_alternative(capsys):
    clear = {3: [0.50, 0.52, 0.51], 5: [0.60, 0.61, 0.60], 7: [0.66, 0.67, 0.66]}
    ch02.milestone_choice(lambda: (7, clear), epochs=8)
    out = capsys.readouterr().out
    assert "milestone 7 is clearly ahead of 3 and 5 (3: 0.510" in out
    assert "tied" not in out and "say so" not in out


@pytest.mark.parametrize(("answer", "message"), [
    (todo, "milestone_study is not written yet"),
    (lambda: 10, r"should return \(milestone, results\)"),
    (lambda: (10, [0.6, 0.7]), "results should be a dict"),
    (lambda: (10, {10: GOOD[10], 13: GOOD[13]}), "results has 2 milestone"),
    (lambda: (10, {**GOOD, 10: [0.68]}), r"results\[10\] has 1 accuracies.*\nHint: one seed"),
    (lambda: (10, {**GOOD, 10: [68.0, 68.1, 66.0]}), r"looks like percentages"),
    (lambda: (10, {**GOOD, 10: [0.68, 0.68, 0.68]}), r"same accuracy 0.68 for every seed"
                                                     r".*\nHint: pass the seed"),
    (lambda: (10, {**GOOD, 10: [0.6, float("nan"), 0.6]}), "non-finite accuracy"),
    (lambda: (630, {315: [0.6] * 3, 630: [0.7] * 3, 819: [0.7] * 3}),
     r"milestone 315 is outside 1 \.\. 14.*\nHint: a milestone is an epoch here"),
    (lambda: (0, {0: [0.5, 0.6, 0.55], **GOOD}), r"milestone 0 is outside.*\nHint: a "
                                                 r"milestone at epoch 0"),
    (lambda: (10.0, GOOD), "should be an int epoch"),
    (lambda: (8, GOOD), r"you chose milestone 8 but measured only \[5, 10, 13\]"),
    (lambda: (5, GOOD), r"milestone 5 has mean accuracy 0\.6267, but milestone 13 "
                        r"has 0\.6833.*\nHint: your own measurement favours"),
    # within one spread of a noisy best (13), but clearly behind a steady 10
    (lambda: (5, {5: [0.66, 0.66, 0.67], 10: [0.69, 0.69, 0.70], 13: [0.64, 0.70, 0.76]}),
     r"milestone 10 \(0\.6933 ± 0\.0047\) is ahead of your choice 5 \(0\.6633 ± 0\.0047\) "
     r"by more than the two standard deviations added.*\nHint: your own measurement"),
    (lambda: (10, {"10": [0.6] * 3, 5: [0.5] * 3, 13: [0.7] * 3}), "should be an int number"),
])
def test_milestone_mistakes_fail_with_their_hint(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch02.milestone_choice(answer, epochs=15)
