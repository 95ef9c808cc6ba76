"""Schedules paired with the torch scheduler that should produce the same rates.

Shared by test_schedules.py (lrlib vs torch) and test_torch_bridge.py (the
bridge driving torch optimizers). Each case is ``(id, lrlib schedule, torch
factory, base lr, number of steps)``; the torch factory takes an optimizer whose
``lr`` is the base lr.
"""

from __future__ import annotations

import math

import torch
from torch.optim import lr_scheduler as L

from lrlib import schedules as S
from lrlib.torch_bridge import scheduler_values

N = 400  # steps per comparison (the acceptance bar is >= 300)


def case(id_, sched, factory, lr=1.0, n=N):
    return (id_, sched, factory, lr, n)


CASES = [
    # constant / ConstantLR
    case("constant-plain", S.constant(lr=0.1), lambda o: L.ConstantLR(o, 1.0, 0), 0.1),
    case("constant-1/3x5", S.constant(0.5, 1 / 3, 5), lambda o: L.ConstantLR(o, 1 / 3, 5), 0.5),
    case("constant-0.5x10", S.constant(0.1, 0.5, 10), lambda o: L.ConstantLR(o, 0.5, 10), 0.1),
    case("constant-total1", S.constant(1.0, 0.25, 1), lambda o: L.ConstantLR(o, 0.25, 1)),
    case("constant-total299", S.constant(1.0, 0.9, 299), lambda o: L.ConstantLR(o, 0.9, 299)),
    case("constant-past-end", S.constant(1.0, 0.5, 1000), lambda o: L.ConstantLR(o, 0.5, 1000)),
    # step / StepLR
    case("step-size1", S.step(0.1, 1, 0.9), lambda o: L.StepLR(o, 1, 0.9), 0.1),
    case("step-30", S.step(1.0, 30, 0.1), lambda o: L.StepLR(o, 30, 0.1)),
    case("step-7-half", S.step(1.0, 7, 0.5), lambda o: L.StepLR(o, 7, 0.5)),
    case("step-gamma1", S.step(1.0, 10, 1.0), lambda o: L.StepLR(o, 10, 1.0)),
    case("step-100", S.step(0.5, 100, 0.3), lambda o: L.StepLR(o, 100, 0.3), 0.5),
    case("step-299", S.step(1.0, 299, 0.01), lambda o: L.StepLR(o, 299, 0.01)),
    case("step-never", S.step(1.0, 1000, 0.1), lambda o: L.StepLR(o, 1000, 0.1)),
    # multistep / MultiStepLR
    case("multi-0", S.multistep(1.0, [0], 0.5), lambda o: L.MultiStepLR(o, [0], 0.5)),
    case("multi-3", S.multistep(0.1, [10, 20, 30]), lambda o: L.MultiStepLR(o, [10, 20, 30]),
         0.1),
    case("multi-1", S.multistep(1.0, [1], 0.1), lambda o: L.MultiStepLR(o, [1], 0.1)),
    case("multi-spread", S.multistep(1.0, [50, 150, 250], 0.5),
         lambda o: L.MultiStepLR(o, [50, 150, 250], 0.5)),
    case("multi-last", S.multistep(1.0, [299]), lambda o: L.MultiStepLR(o, [299])),
    case("multi-past-end", S.multistep(1.0, [5, 500], 0.2),
         lambda o: L.MultiStepLR(o, [5, 500], 0.2)),
    case("multi-gamma1", S.multistep(1.0, [3, 6], 1.0), lambda o: L.MultiStepLR(o, [3, 6], 1.0)),
    # exponential / ExponentialLR (and the Keras forms through torch equivalents)
    case("exp-0.99", S.exponential(1.0, 0.99), lambda o: L.ExponentialLR(o, 0.99)),
    case("exp-0.9", S.exponential(0.1, 0.9), lambda o: L.ExponentialLR(o, 0.9), 0.1),
    case("exp-gamma1", S.exponential(1.0, 1.0), lambda o: L.ExponentialLR(o, 1.0)),
    case("exp-0.5", S.exponential(1.0, 0.5), lambda o: L.ExponentialLR(o, 0.5), n=300),
    case("exp-0.999", S.exponential(2.0, 0.999), lambda o: L.ExponentialLR(o, 0.999), 2.0),
    case("exp-k", S.exponential(1.0, k=0.01), lambda o: L.ExponentialLR(o, math.exp(-0.01))),
    case("exp-decay-steps", S.exponential(1.0, 0.5, decay_steps=10),
         lambda o: L.ExponentialLR(o, 0.5 ** (1 / 10))),
    case("exp-staircase", S.exponential(1.0, 0.5, decay_steps=10, staircase=True),
         lambda o: L.StepLR(o, 10, 0.5)),
    # inverse_time / LambdaLR (torch has no class of its own)
    case("inv-keras-decay", S.inverse_time(0.01, 0.1 / 40),
         lambda o: L.LambdaLR(o, lambda t: 1 / (1 + 0.1 / 40 * t)), 0.01),
    case("inv-0.5", S.inverse_time(1.0, 0.5), lambda o: L.LambdaLR(o, lambda t: 1 / (1 + 0.5 * t))),
    case("inv-zero", S.inverse_time(1.0, 0.0), lambda o: L.LambdaLR(o, lambda t: 1.0)),
    case("inv-steps10", S.inverse_time(1.0, 0.3, decay_steps=10),
         lambda o: L.LambdaLR(o, lambda t: 1 / (1 + 0.3 * t / 10))),
    case("inv-staircase", S.inverse_time(1.0, 0.3, decay_steps=10, staircase=True),
         lambda o: L.LambdaLR(o, lambda t: 1 / (1 + 0.3 * (t // 10)))),
    case("inv-1.0", S.inverse_time(0.1, 1.0), lambda o: L.LambdaLR(o, lambda t: 1 / (1 + t)),
         0.1),
    # polynomial / PolynomialLR
    case("poly-5", S.polynomial(1.0, 5, 1.0), lambda o: L.PolynomialLR(o, 5, 1.0)),
    case("poly-1", S.polynomial(1.0, 1, 1.0), lambda o: L.PolynomialLR(o, 1, 1.0)),
    case("poly-300-sq", S.polynomial(1.0, 300, 2.0), lambda o: L.PolynomialLR(o, 300, 2.0)),
    case("poly-sqrt", S.polynomial(0.1, 100, 0.5), lambda o: L.PolynomialLR(o, 100, 0.5), 0.1),
    case("poly-cube", S.polynomial(1.0, 50, 3.0), lambda o: L.PolynomialLR(o, 50, 3.0)),
    case("poly-past-end", S.polynomial(1.0, 1000, 1.0), lambda o: L.PolynomialLR(o, 1000, 1.0)),
    case("poly-399", S.polynomial(1.0, 399, 1.5), lambda o: L.PolynomialLR(o, 399, 1.5)),
    # linear / LinearLR
    case("linear-default", S.linear(1.0), lambda o: L.LinearLR(o)),
    case("linear-warm", S.linear(1.0, 0.1, 1.0, 100), lambda o: L.LinearLR(o, 0.1, 1.0, 100)),
    case("linear-down", S.linear(1.0, 1.0, 0.1, 50), lambda o: L.LinearLR(o, 1.0, 0.1, 50)),
    case("linear-flat", S.linear(1.0, 0.5, 0.5, 10), lambda o: L.LinearLR(o, 0.5, 0.5, 10)),
    case("linear-to-zero", S.linear(1.0, 1.0, 0.0, 299), lambda o: L.LinearLR(o, 1.0, 0.0, 299)),
    case("linear-total1", S.linear(1.0, 0.01, 1.0, 1), lambda o: L.LinearLR(o, 0.01, 1.0, 1)),
    case("linear-past-end", S.linear(1.0, 0.2, 0.8, 1000),
         lambda o: L.LinearLR(o, 0.2, 0.8, 1000)),
    # cosine / CosineAnnealingLR (periodic past T_max)
    case("cos-T1", S.cosine(1.0, 1), lambda o: L.CosineAnnealingLR(o, 1)),
    case("cos-T3", S.cosine(1.0, 3), lambda o: L.CosineAnnealingLR(o, 3)),
    case("cos-eta-min", S.cosine(1.0, 100, 0.01), lambda o: L.CosineAnnealingLR(o, 100, 0.01)),
    case("cos-past-Tmax", S.cosine(0.1, 150), lambda o: L.CosineAnnealingLR(o, 150), 0.1),
    case("cos-300", S.cosine(1.0, 300), lambda o: L.CosineAnnealingLR(o, 300)),
    case("cos-eta-above", S.cosine(0.1, 400, 0.2), lambda o: L.CosineAnnealingLR(o, 400, 0.2),
         0.1),
    case("cos-7-many", S.cosine(1.0, 7, 1e-3), lambda o: L.CosineAnnealingLR(o, 7, 1e-3)),
    # cosine_restarts / CosineAnnealingWarmRestarts (1000 steps: reaches the boundaries
    # 121, 242 and 605 that torch's step(epoch) path misplaces)
    case("sgdr-1-1", S.cosine_restarts(1.0, 1, 1), lambda o: L.CosineAnnealingWarmRestarts(o, 1, 1),
         n=1000),
    case("sgdr-1-3", S.cosine_restarts(1.0, 1, 3), lambda o: L.CosineAnnealingWarmRestarts(o, 1, 3),
         n=1000),
    case("sgdr-2-3", S.cosine_restarts(1.0, 2, 3), lambda o: L.CosineAnnealingWarmRestarts(o, 2, 3),
         n=1000),
    case("sgdr-5-3-eta", S.cosine_restarts(1.0, 5, 3, 0.01),
         lambda o: L.CosineAnnealingWarmRestarts(o, 5, 3, 0.01), n=1000),
    case("sgdr-10-1", S.cosine_restarts(0.1, 10), lambda o: L.CosineAnnealingWarmRestarts(o, 10),
         0.1),
    case("sgdr-10-2", S.cosine_restarts(1.0, 10, 2),
         lambda o: L.CosineAnnealingWarmRestarts(o, 10, 2), n=1000),
    case("sgdr-1-10", S.cosine_restarts(1.0, 1, 10),
         lambda o: L.CosineAnnealingWarmRestarts(o, 1, 10), n=1000),
    case("sgdr-7-4", S.cosine_restarts(1.0, 7, 4), lambda o: L.CosineAnnealingWarmRestarts(o, 7, 4),
         n=3000),
    # cyclic / CyclicLR
    case("cyc-tri", S.cyclic(0.1, 1.0, 10), lambda o: L.CyclicLR(o, 0.1, 1.0, 10)),
    case("cyc-tri2-asym", S.cyclic(0.1, 1.0, 5, 15, "triangular2"),
         lambda o: L.CyclicLR(o, 0.1, 1.0, 5, 15, "triangular2")),
    case("cyc-exp", S.cyclic(0.01, 0.1, 20, mode="exp_range", gamma=0.99),
         lambda o: L.CyclicLR(o, 0.01, 0.1, 20, mode="exp_range", gamma=0.99)),
    case("cyc-sawtooth", S.cyclic(0.1, 1.0, 7, 0), lambda o: L.CyclicLR(o, 0.1, 1.0, 7, 0)),
    case("cyc-up1", S.cyclic(0.1, 1.0, 1), lambda o: L.CyclicLR(o, 0.1, 1.0, 1)),
    case("cyc-flat", S.cyclic(0.5, 0.5, 10), lambda o: L.CyclicLR(o, 0.5, 0.5, 10)),
    case("cyc-tri2-mom", S.cyclic(0.001, 0.01, 50, 25, "triangular2", base_momentum=0.85,
                                  max_momentum=0.95),
         lambda o: L.CyclicLR(o, 0.001, 0.01, 50, 25, "triangular2", base_momentum=0.85,
                              max_momentum=0.95)),
    case("cyc-exp-down3", S.cyclic(0.1, 1.0, 10, 3, "exp_range", 0.995),
         lambda o: L.CyclicLR(o, 0.1, 1.0, 10, 3, "exp_range", 0.995)),
    # one_cycle / OneCycleLR
    case("1cyc-cos", S.one_cycle(1.0, N), lambda o: L.OneCycleLR(o, 1.0, N)),
    case("1cyc-linear", S.one_cycle(1.0, N, anneal_strategy="linear"),
         lambda o: L.OneCycleLR(o, 1.0, N, anneal_strategy="linear")),
    case("1cyc-3phase-cos", S.one_cycle(0.1, N, 0.25, three_phase=True),
         lambda o: L.OneCycleLR(o, 0.1, N, pct_start=0.25, three_phase=True)),
    case("1cyc-3phase-linear", S.one_cycle(0.1, N, 0.25, "linear", three_phase=True),
         lambda o: L.OneCycleLR(o, 0.1, N, pct_start=0.25, anneal_strategy="linear",
                                three_phase=True)),
    case("1cyc-301", S.one_cycle(1.0, 301), lambda o: L.OneCycleLR(o, 1.0, 301), n=301),
    case("1cyc-divs", S.one_cycle(1.0, N, 0.3, div_factor=10.0, final_div_factor=100.0),
         lambda o: L.OneCycleLR(o, 1.0, N, div_factor=10.0, final_div_factor=100.0)),
    case("1cyc-3phase-0.45", S.one_cycle(1.0, N, 0.45, three_phase=True),
         lambda o: L.OneCycleLR(o, 1.0, N, pct_start=0.45, three_phase=True)),
    case("1cyc-half", S.one_cycle(1.0, 300, 0.5, base_momentum=0.8, max_momentum=0.9),
         lambda o: L.OneCycleLR(o, 1.0, 300, pct_start=0.5, base_momentum=0.8,
                                max_momentum=0.9), n=300),
    # warmup and join / SequentialLR
    case("warmup-cosine", S.warmup(S.cosine(1.0, N - 50, 0.01), 50, 0.1),
         lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, 1.0, 50),
                                      L.CosineAnnealingLR(o, N - 50, 0.01)], [50])),
    case("warmup-cosine-short", S.warmup(S.cosine(0.1, 100), 1, 0.5),
         lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.5, 1.0, 1),
                                      L.CosineAnnealingLR(o, 100)], [1]), 0.1),
    case("warmup-constant-exp", S.warmup(S.exponential(1.0, 0.99), 20, 0.1, mode="constant"),
         lambda o: L.SequentialLR(o, [L.ConstantLR(o, 0.1, 20), L.ExponentialLR(o, 0.99)],
                                  [20])),
    case("warmup-step", S.warmup(S.step(1.0, 30, 0.5), 10, 1 / 3),
         lambda o: L.SequentialLR(o, [L.LinearLR(o, 1 / 3, 1.0, 10), L.StepLR(o, 30, 0.5)],
                                  [10])),
    case("join-step-exp", S.join([S.step(1.0, 20, 0.5), S.exponential(1.0, 0.98)], [100]),
         lambda o: L.SequentialLR(o, [L.StepLR(o, 20, 0.5), L.ExponentialLR(o, 0.98)], [100])),
    case("join-three", S.join([S.linear(1.0, 0.2, 1.0, 50), S.constant(1.0),
                               S.cosine(1.0, 250)], [50, 150]),
         lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.2, 1.0, 50), L.ConstantLR(o, 1.0, 0),
                                      L.CosineAnnealingLR(o, 250)], [50, 150])),
]

# Schedules with a momentum cycle, and the torch scheduler that cycles momentum.
MOMENTUM_IDS = [c[0] for c in CASES if c[0].startswith(("cyc-", "1cyc-"))]


def torch_rates(factory, lr, n, *, optimizer="sgd"):
    """Rates (and momenta, or Adam beta1) seen before each of n optimizer steps."""
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    if optimizer == "sgd":
        opt = torch.optim.SGD([p], lr=lr, momentum=0.9)
    else:
        opt = torch.optim.Adam([p], lr=lr)
    return scheduler_values(factory(opt), n)
