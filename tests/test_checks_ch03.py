"""The exercise checks of chapter 3: the reference passes, stubs and typical mistakes fail."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from lrlib import checks
from lrlib.checks import ch03
from lrlib.optim import Adam
from lrlib.problems import Ravine


def test_module_docstring_examples_run():
    result = doctest.testmod(ch03, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_lazy_attribute_finds_the_module():
    assert checks.ch03 is ch03
    assert "ch03" in checks.chapters()


def todo(*args, **kwargs):
    raise NotImplementedError


# --- Exercise 3.1: two Adam steps by hand ---------------------------------------------


def adam_by_hand(g1=2.0, g2=-1.0, theta=1.0, lr=0.1, b1=0.9, b2=0.999, eps=1e-8):
    """The arithmetic of the worked solution, written out once more."""
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
    theta1 = theta - lr * (m1 / (1 - b1)) / (math.sqrt(v1 / (1 - b2)) + eps)
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
    theta2 = theta1 - lr * (m2 / (1 - b1**2)) / (math.sqrt(v2 / (1 - b2**2)) + eps)
    return theta1, theta2


def test_adam_reference_is_the_arithmetic_of_the_exercise():
    theta1, theta2 = adam_by_hand()
    assert theta1 == pytest.approx(0.9, abs=1e-8)
    assert theta2 == pytest.approx(0.873366, abs=1e-6)


@pytest.mark.parametrize("answer", [adam_by_hand(), (0.9, 0.8734), (0.9000, 0.87337)])
def test_adam_reference_and_rounded_answers_pass(answer, capsys):
    ch03.adam_two_steps(lambda: answer)
    assert capsys.readouterr().out.startswith("✓ Exercise 3.1 passed")


def test_adam_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="adam_two_steps is not written yet"):
        ch03.adam_two_steps(todo)


@pytest.mark.parametrize(("answer", "message"), [
    ((0.683772, 0.5), r"expected theta1 = 0.9, got theta1 = 0.683772\.\nHint: .*without "
                      r"bias correction"),
    ((-2.162278, 0.5), r"theta1 = -2.16228\.\nHint: you corrected m but not v"),
    ((0.99, 0.5), r"theta1 = 0.99\.\nHint: you corrected v but not m"),
    ((1.1, 0.5), r"theta1 = 1.1\.\nHint: the step went uphill"),
    ((0.8, 0.5), r"theta1 = 0.8\.\nHint: that is a plain SGD step"),
    ((0.5, 0.5), r"theta1 = 0.5\.\nHint: m1 = \(1 - beta1\) g1"),
    ((0.9, 0.864213), r"expected theta2 = 0.873366, got theta2 = 0.864213\.\nHint: .*"
                      r"corrections of step 1"),
    ((0.9, 0.786818), r"theta2 = 0.786818\.\nHint: the second step needs the bias"),
    ((0.9, 0.806781), r"Hint: check the sign of the second gradient"),
    ((0.9, 1.0), r"Hint: step 2 is not a fresh start"),
    ((0.9, 0.933292), r"Hint: m must carry over"),
    ((0.9, 0.840469), r"Hint: v must carry over"),
    ((0.9, 0.973366), r"Hint: theta2 is theta1 minus the second step"),
    ((0.9, 0.926634), r"Hint: the second step moves theta down too"),
    ((0.9, 0.7), r"theta2 = 0.7\.\nHint: m2 = 0.9 m1"),
    ((0.9,), r"return two numbers \(theta1, theta2\)"),
    (("0.9", 0.87), r"theta1 should be a number, got str"),
])
def test_adam_typical_mistakes_fail_with_their_hint(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch03.adam_two_steps(lambda: answer)


# --- Exercise 3.2: RMSprop's update -----------------------------------------------------


def rmsprop_reference(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + (1 - alpha) * grad * grad
    return param - lr * grad / (np.sqrt(v) + eps), v


def rmsprop_in_place(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    square_avg *= alpha
    square_avg += (1 - alpha) * grad**2
    param -= lr * grad / (np.sqrt(square_avg) + eps)
    return param, square_avg


@pytest.mark.parametrize("solution", [rmsprop_reference, rmsprop_in_place])
def test_rmsprop_reference_passes(solution, capsys):
    ch03.rmsprop_step(solution)
    assert capsys.readouterr().out.startswith("✓ Exercise 3.2 passed")


def test_rmsprop_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="rmsprop_step is not written yet"):
        ch03.rmsprop_step(todo)


def no_weight(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + grad**2
    return param - lr * grad / (np.sqrt(v) + eps), v


def swapped_weights(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    v = (1 - alpha) * square_avg + alpha * grad**2
    return param - lr * grad / (np.sqrt(v) + eps), v


def eps_inside(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + (1 - alpha) * grad**2
    return param - lr * grad / np.sqrt(v + eps), v


def old_average(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + (1 - alpha) * grad**2
    return param - lr * grad / (np.sqrt(square_avg) + eps), v


def no_root(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + (1 - alpha) * grad**2
    return param - lr * grad / (v + eps), v


def ascent(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + (1 - alpha) * grad**2
    return param + lr * grad / (np.sqrt(v) + eps), v


def swapped_outputs(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    new_param, v = rmsprop_reference(param, grad, square_avg, lr, alpha, eps)
    return v, new_param


def bias_corrected(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    v = alpha * square_avg + (1 - alpha) * grad**2
    return param - lr * grad / (np.sqrt(v / (1 - alpha)) + eps), v


def ignores_alpha(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    return rmsprop_reference(param, grad, square_avg, lr)


def returns_param_only(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    return rmsprop_reference(param, grad, square_avg, lr, alpha, eps)[0]


def crashes(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
    return param @ np.ones(7)


@pytest.mark.parametrize(("solution", "message"), [
    (no_weight, r"first step from square_avg = 0 .*expected new_square_avg = .*\n"
                r"Hint: the new squared gradient is weighted by \(1 - alpha\)"),
    (swapped_weights, r"Hint: alpha is the weight of the OLD average"),
    (eps_inside, r"first step .*expected new_param = .*\(largest difference .*\)\.\n"
                 r"Hint: PyTorch adds eps outside the square root"),
    (old_average, r"Hint: update square_avg first"),
    (no_root, r"Hint: divide by the square ROOT"),
    (ascent, r"Hint: the step goes against the gradient"),
    (swapped_outputs, r"the two results are swapped\.\nHint: return \(new_param, "
                      r"new_square_avg\)"),
    (bias_corrected, r"first step .*expected new_param = .*\nHint: param - lr \* grad"),
    (ignores_alpha, r"alpha = 0 .*expected new_square_avg"),
    (returns_param_only, r"return a pair \(new_param, new_square_avg\)"),
    (crashes, r"rmsprop_step\(.*\) raised ValueError"),
])
def test_rmsprop_typical_mistakes_fail_with_their_hint(solution, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch03.rmsprop_step(solution)


def test_rmsprop_error_in_a_later_step_is_located():
    calls = {"n": 0}

    def wrong_at_step_four(param, grad, square_avg, lr, alpha=0.99, eps=1e-8):
        calls["n"] += 1
        new_param, v = rmsprop_reference(param, grad, square_avg, lr, alpha, eps)
        return (new_param + 1.0 if calls["n"] == 8 else new_param), v

    with pytest.raises(checks.CheckFailed, match=r"five steps in a row .*: step 4: "
                                                 r"expected new_param"):
        ch03.rmsprop_step(wrong_at_step_four)


# --- Exercise 3.3: beta2 on the noisy ravine -------------------------------------------


def final_cost(beta2, seed, lr=0.05, sigma=2.0, num_steps=500, last=100):
    """The protocol of the exercise, written out again independently of the module."""
    ravine = Ravine()
    noise = np.random.default_rng(seed)
    x = np.array([-4.0, 1.0])
    opt = Adam(x, lr=lr, betas=(0.9, beta2))
    costs = []
    for _ in range(num_steps):
        opt.step(ravine.grad(x) + sigma * noise.normal(size=2))
        costs.append(ravine.loss(x))
    return float(np.mean(costs[-last:]))


def sweep_reference(beta2_values, seeds):
    table = np.array([[final_cost(b, s) for s in seeds] for b in beta2_values])
    return table.mean(axis=1), table.std(axis=1)


def test_protocol_is_the_reference():
    for beta2, seed in [(0.5, 0), (0.999, 3)]:
        assert final_cost(beta2, seed) == ch03.noisy_final_cost(beta2, seed)
    # the shorter runs of the worked solution
    assert final_cost(0.9, 1, num_steps=100, last=20) == ch03.noisy_final_cost(
        0.9, 1, num_steps=100, last=20)


def test_protocol_uses_the_same_noise_for_every_beta2():
    a, b = (ch03.noisy_final_cost(beta2, 4, num_steps=1, last=1) for beta2 in (0.5, 0.999))
    assert a == pytest.approx(b, rel=1e-12)  # the first Adam step does not depend on beta2


@pytest.mark.parametrize("last", [0, 11])
def test_protocol_rejects_a_window_outside_the_run(last):
    with pytest.raises(ValueError, match="last must be between 1 and num_steps"):
        ch03.noisy_final_cost(0.9, 0, num_steps=10, last=last)


def test_beta2_sweep_reference_passes(capsys):
    ch03.beta2_sweep(sweep_reference)
    assert capsys.readouterr().out.startswith("✓ Exercise 3.3 passed")


def test_beta2_sweep_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="beta2_sweep is not written yet"):
        ch03.beta2_sweep(todo)


def table_of(beta2_values, seeds):
    return np.array([[final_cost(b, s) for s in seeds] for b in beta2_values])


def summed(beta2_values, seeds):
    t = table_of(beta2_values, seeds)
    return t.sum(axis=1), t.std(axis=1)


def first_seed_only(beta2_values, seeds):
    t = table_of(beta2_values, seeds)
    return t[:, 0], t.std(axis=1)


def per_seed_table(beta2_values, seeds):
    t = table_of(beta2_values, seeds)
    return t, t.std(axis=1)


def swapped(beta2_values, seeds):
    means, stds = sweep_reference(beta2_values, seeds)
    return stds, means


def reversed_order(beta2_values, seeds):
    means, stds = sweep_reference(beta2_values, seeds)
    return means[::-1], stds[::-1]


def changed_protocol(beta2_values, seeds):
    t = np.array([[final_cost(b, s, num_steps=300) for s in seeds] for b in beta2_values])
    return t.mean(axis=1), t.std(axis=1)


def sample_std(beta2_values, seeds):
    t = table_of(beta2_values, seeds)
    return t.mean(axis=1), t.std(axis=1, ddof=1)


def variance(beta2_values, seeds):
    t = table_of(beta2_values, seeds)
    return t.mean(axis=1), t.var(axis=1)


def means_only(beta2_values, seeds):
    return table_of(beta2_values, seeds).mean(axis=1)


@pytest.mark.parametrize(("solution", "message"), [
    (summed, r"Hint: that is the sum over the seeds"),
    (first_seed_only, r"Hint: only the first seed was used"),
    (per_seed_table, r"expected means with one value per beta2 \(shape \(2,\)\), got shape "
                     r"\(2, 2\)\.\nHint: average over the seeds"),
    (swapped, r"means and stds are swapped\.\nHint: return \(means, stds\)"),
    (reversed_order, r"Hint: the values are in the wrong order"),
    (changed_protocol, r"Hint: call final_cost\(beta2, seed\) for every seed \(unchanged\)"),
    (sample_std, r"expected stds = .*\nHint: use np.std's default ddof=0"),
    (variance, r"Hint: that is the variance"),
    (means_only, r"return a pair \(means, stds\)"),
])
def test_beta2_sweep_typical_mistakes_fail_with_their_hint(solution, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch03.beta2_sweep(solution)
