"""The exercise checks of chapter 6: the reference passes, stubs and typical mistakes fail."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch

from lrlib import checks
from lrlib import schedules as S
from lrlib.checks import ch06


def test_module_docstring_example_runs():
    result = doctest.testmod(ch06, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_lazy_attribute_finds_the_module():
    assert checks.ch06 is ch06
    assert "ch06" in checks.chapters()


def todo(*args, **kwargs):
    raise NotImplementedError


# --- Exercise 6.1: ReduceLROnPlateau by hand -----------------------------------------

BY_HAND = [0.2, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03]


def torch_plateau_rates():
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=ch06.PLATEAU_EXERCISE["lr"])
    settings = {k: v for k, v in ch06.PLATEAU_EXERCISE.items() if k != "lr"}
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **settings)
    used = []
    for metric in ch06.PLATEAU_METRICS:
        used.append(opt.param_groups[0]["lr"])
        plateau.step(metric)
    return used


def test_plateau_reference_is_torchs_and_the_hand_answer():
    np.testing.assert_allclose(torch_plateau_rates(), BY_HAND, rtol=1e-12)
    np.testing.assert_allclose(ch06._plateau_reference(), BY_HAND, rtol=1e-12)


def test_plateau_reference_passes(capsys):
    ch06.plateau_by_hand(lambda: BY_HAND)
    out = capsys.readouterr().out
    assert out.startswith("✓ Exercise 6.1 passed") and "after epochs 4, 9 and 13" in out


def test_plateau_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch06.plateau_by_hand(todo)


def test_plateau_slips_are_all_different_answers():
    answers = {tuple(ch06._plateau_variant(**flags)) for flags, _ in ch06._PLATEAU_SLIPS}
    assert len(answers) == len(ch06._PLATEAU_SLIPS)
    assert tuple(BY_HAND) not in answers


@pytest.mark.parametrize(("flags", "message"), [
    ({"fires_at_patience": True}, r"epoch 4: expected the rate = 0.2, got 0.1\.\n"
                                  r"Hint: .*patience \+ 1"),
    ({"no_cooldown": True}, r"epoch 7: .*\nHint: after a drop, cooldown"),
    ({"no_threshold": True}, r"\nHint: with threshold = 0.01 in 'abs' mode"),
    ({"relative": True}, r"epoch 5: expected the rate = 0.1, got 0.2\.\nHint: the first drop "
                          r"comes one epoch late: .*threshold_mode = 'abs'"),
    ({"no_min_lr": True}, r"expected the rate = 0.03, got 0.025\.\nHint: min_lr = 0.03"),
    ({"same_epoch": True}, r"\nHint: the metric of epoch k is known only after"),
    ({"mode": "min"}, r"\nHint: mode = 'max'"),
])
def test_plateau_typical_mistakes_get_their_hint(flags, message):
    answer = list(ch06._plateau_variant(**flags))
    with pytest.raises(checks.CheckFailed, match=message):
        ch06.plateau_by_hand(lambda: answer)


@pytest.mark.parametrize(("answer", "message"), [
    # every drop one epoch late: the first wrong epoch is 5, still at the old rate
    ([0.2] * 5 + [0.1] * 5 + [0.05] * 4,
     r"epoch 5: expected the rate = 0.1, got 0.2\.\nHint: the rate should already have "
     r"dropped here: it drops after patience \+ 1 = 2 bad epochs in a row"),
    # the second drop one epoch late
    ([0.2] * 4 + [0.1] * 6 + [0.05] * 3 + [0.03],
     r"epoch 10: expected the rate = 0.05, got 0.1\.\nHint: the rate should already"),
    # the second drop one epoch early (the cooldown epoch counted as bad, by hand)
    ([0.2] * 4 + [0.1] * 4 + [0.05] * 5 + [0.03],
     r"epoch 9: expected the rate = 0.1, got 0.05\.\nHint: the rate drops too early here"),
])
def test_plateau_late_or_early_drops_get_a_hint_pointing_the_right_way(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch06.plateau_by_hand(lambda: answer)


@pytest.mark.parametrize(("answer", "message"), [
    (BY_HAND[1:], r"expected 14 rates .* got 13\.\nHint: epoch 1 trains at the starting"),
    ([*BY_HAND, 0.03], r"got 15\.\nHint: one rate per epoch"),
    ("0.2, 0.1", r"return a list of 14 rates"),
    ([0.2] * 13 + ["x"], r"return a list of 14 numbers"),
    ([0.2] * 14, r"epoch 5: expected the rate = 0.1, got 0.2\.\nHint: the rate should "
                  r"already have dropped here: .*patience \+ 1 = 2 bad epochs in a row"),
])
def test_plateau_rejects_malformed_answers(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch06.plateau_by_hand(lambda: answer)


# --- Exercise 6.2: SGDR as a function of the step -------------------------------------

def reference_sgdr(step, lr, T_0, T_mult=1, eta_min=0.0):
    t_cur, t_i = step, T_0
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= T_mult
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def test_sgdr_reference_matches_torch():
    for lr, T_0, T_mult, eta_min in [(0.5, 1, 3, 0.01), (1.0, 2, 2, 0.0), (0.1, 10, 1, 0.0)]:
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0, T_mult,
                                                                     eta_min)
        for step in range(130):
            assert opt.param_groups[0]["lr"] == pytest.approx(
                reference_sgdr(step, lr, T_0, T_mult, eta_min), rel=1e-12, abs=1e-15)
            opt.step()
            sched.step()


def test_sgdr_reference_passes(capsys):
    ch06.sgdr(reference_sgdr)
    assert capsys.readouterr().out.startswith("✓ Exercise 6.2 passed")


def test_sgdr_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch06.sgdr(todo)


def float_log(step, lr, T_0, T_mult=1, eta_min=0.0):
    if T_mult == 1:
        t_cur, t_i = step % T_0, T_0
    else:
        n = int(math.log(step / T_0 * (T_mult - 1) + 1, T_mult))
        t_cur = step - T_0 * (T_mult**n - 1) / (T_mult - 1)
        t_i = T_0 * T_mult**n
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def no_growth(step, lr, T_0, T_mult=1, eta_min=0.0):
    t_cur = step % T_0
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / T_0)) / 2


def strict_restart(step, lr, T_0, T_mult=1, eta_min=0.0):
    t_cur, t_i = step, T_0
    while t_cur > t_i:
        t_cur -= t_i
        t_i *= T_mult
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def rising(step, lr, T_0, T_mult=1, eta_min=0.0):
    frac = (reference_sgdr(step, lr, T_0, T_mult, eta_min) - eta_min) / (lr - eta_min)
    return eta_min + (lr - eta_min) * (1 - frac)


def relative_floor(step, lr, T_0, T_mult=1, eta_min=0.0):
    return reference_sgdr(step, lr, T_0, T_mult, lr * eta_min)


def no_floor(step, lr, T_0, T_mult=1, eta_min=0.0):
    return reference_sgdr(step, lr, T_0, T_mult, 0.0)


@pytest.mark.parametrize(("func", "message"), [
    (float_log, r"T_0=1, T_mult=3, eta_min=0.01\): step 121: expected 0.5, got 0.01\.\n"
                r"Hint: a floating-point logarithm"),
    (no_growth, r"T_0=2, T_mult=2, eta_min=0\): step 3: .*\nHint: each period is T_mult"),
    (strict_restart, r"T_0=10, T_mult=1, eta_min=0\): step 10: expected 0.1, got 0\.\n"
                     r"Hint: the restart happens when T_cur REACHES"),
    (rising, r"step 0: expected 0.1, got 0\.\nHint: each period starts at lr"),
    (relative_floor, r"eta_min=0.05\): step 1: .*\nHint: eta_min is an absolute rate"),
    (no_floor, r"eta_min=0.05\): step 1: .*\nHint: the rate falls to eta_min, not to 0"),
])
def test_sgdr_typical_mistakes_get_their_hint(func, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch06.sgdr(func)


def test_sgdr_rejects_a_non_number():
    with pytest.raises(checks.CheckFailed, match="should be a number"):
        ch06.sgdr(lambda step, lr, T_0, T_mult=1, eta_min=0.0: [lr])


# --- Exercise 6.3: cosine with and without restarts ------------------------------------

TOTAL, CYCLE = 660, 220
T = np.arange(TOTAL)
COSINE = S.cosine(1.0, TOTAL)(T)
RESTARTS = S.cosine_restarts(1.0, CYCLE)(T)


def study(cos=(0.62, 0.64, 0.63), res=(0.625, 0.635, 0.62), verdict="tie", cos_rates=COSINE,
          res_rates=RESTARTS):
    return lambda: ({"cosine": list(cos), "restarts": list(res)},
                    {"cosine": cos_rates, "restarts": res_rates}, verdict)


def test_restart_constants_are_the_exercise():
    assert ch06._SPE == 55 and ch06._TOTAL == TOTAL and ch06._CYCLE == CYCLE


def test_restart_study_reference_passes(capsys):
    ch06.restart_study(study())
    out = capsys.readouterr().out
    assert out.startswith("✓ Exercise 6.3 passed") and "cosine 0.630 ± 0.008" in out


def test_restart_study_torch_rates_pass(capsys):
    """The rates torch's schedulers give (recorded as train() records them) pass."""
    def record(make):
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=1.0)
        sched, rates = make(opt), []
        for _ in range(TOTAL):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return np.array(rates)

    lrs = torch.optim.lr_scheduler
    cos = record(lambda o: lrs.CosineAnnealingLR(o, T_max=TOTAL))
    res = record(lambda o: lrs.CosineAnnealingWarmRestarts(o, T_0=CYCLE))
    ch06.restart_study(study(cos_rates=cos, res_rates=res))
    assert capsys.readouterr().out.startswith("✓ Exercise 6.3 passed")


def test_restart_study_verdicts():
    ch06.restart_study(study(cos=(0.70, 0.71, 0.72), verdict="cosine"))
    ch06.restart_study(study(res=(0.70, 0.71, 0.72), verdict="restarts"))
    with pytest.raises(checks.CheckFailed, match=r"support the verdict 'cosine', not 'tie'"
                                                 r".*\nHint: the means differ by -0.0833"):
        ch06.restart_study(study(cos=(0.70, 0.71, 0.72), verdict="tie"))
    with pytest.raises(checks.CheckFailed, match=r"support the verdict 'tie', not "
                                                 r"'cosine'"):
        ch06.restart_study(study(verdict="cosine"))
    with pytest.raises(checks.CheckFailed, match=r"support the verdict 'cosine', not 'tie'"):
        ch06.restart_study(study(res=(0.61, 0.63, 0.62)))


def test_restart_study_reference_run_is_a_tie(capsys):
    """The notebook's worked solution says the reference runs come out tied: they do."""
    from torch.optim.lr_scheduler import CosineAnnealingLR, CosineAnnealingWarmRestarts

    from lrlib.data import load_mnist1d, split_validation
    from lrlib.models import mlp
    from lrlib.train import train

    torch.set_num_threads(1)
    mnist = split_validation(load_mnist1d(), 500, seed=0)
    makers = {"cosine": lambda o: CosineAnnealingLR(o, T_max=TOTAL),
              "restarts": lambda o: CosineAnnealingWarmRestarts(o, T_0=CYCLE)}
    results, rates = {}, {}
    for name, make in makers.items():
        results[name] = []
        for seed in (0, 1, 2):
            model = mlp(seed=seed)
            opt = torch.optim.SGD(model.parameters(), lr=1.0)
            hist = train(model, mnist, opt, epochs=12, batch_size=64, seed=seed,
                         scheduler=make(opt))
            results[name].append(hist.test_acc[-1])
        rates[name] = hist.lr
    assert ch06._verdict({k: np.array(v) for k, v in results.items()}) == "tie"
    ch06.restart_study(lambda: (results, rates, "tie"))
    assert capsys.readouterr().out.endswith(": tie.\n")


def test_restart_study_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch06.restart_study(todo)


EPOCH_OF = T // 55


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cos_rates": S.cosine(1.0, 12)(T)},
     r"step 1: expected rates\['cosine'\] = 0.999994, got 0.982963\.\nHint: T_max counts"),
    ({"cos_rates": S.cosine(1.0, 12)(EPOCH_OF)}, r"Hint: the rate is constant within each"),
    ({"cos_rates": S.cosine(1.0, TOTAL)(EPOCH_OF)}, r"Hint: the rate hardly moves"),
    ({"cos_rates": S.cosine(1.0, CYCLE)(T)}, r"Hint: this run has restarts-like"),
    ({"res_rates": S.cosine_restarts(1.0, 4)(T)}, r"Hint: T_0 counts updates"),
    ({"res_rates": S.cosine_restarts(1.0, 4)(EPOCH_OF)}, r"Hint: the rate is constant"),
    ({"res_rates": S.cosine_restarts(1.0, CYCLE, 2)(T)}, r"Hint: T_mult = 1 here"),
    ({"res_rates": S.cosine(1.0, CYCLE)(T)}, r"Hint: CosineAnnealingLR with T_max = one"),
    ({"res_rates": RESTARTS[:440]}, r"has 440 entries, expected 660 .*\nHint: equal budget"),
    ({"cos_rates": COSINE[::55]}, r"has 12 entries.*\nHint: pass History.lr"),
    ({"res": (0.61, 0.63)}, r"has 2 accuracies; train seeds 0, 1 and 2"),
    ({"res": (61.0, 63.0, 62.0)}, r"looks like percentages"),
    ({"res": (0.62, 0.62, 0.62)}, r"same accuracy 0.62 for every seed.\nHint: pass the seed"),
    ({"res": (0.6, float("nan"), 0.6)}, r"non-finite accuracy"),
    ({"verdict": "restart"}, r"verdict should be one of"),
])
def test_restart_study_typical_mistakes(kwargs, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch06.restart_study(study(**kwargs))


def test_restart_study_rejects_malformed_returns():
    with pytest.raises(checks.CheckFailed, match=r"should return \(results, rates, verdict\)"):
        ch06.restart_study(lambda: ({}, {}))
    with pytest.raises(checks.CheckFailed, match=r"results should be a dict with the keys"):
        ch06.restart_study(lambda: ({"cosine": [0.6] * 3}, {}, "tie"))
