"""How fast are lrlib's schedules? Ratios measured in one process.

For each schedule family this prints the time to produce the rates of N = 10^5 steps

* with lrlib (one vectorized call on ``np.arange(N)``),
* by stepping the matching torch scheduler N times (what a torch user pays),
* with a hand-written numpy expression of the same formula (the floor for numpy),

and the cost of one ``step()`` of lrlib's torch bridge (:class:`ScheduleLR`) against
one ``step()`` of the native torch scheduler. Every figure is a ratio of two timings
taken in the same run, so it does not depend on how fast the machine is.

Targets (issue 2): lrlib >= 100x faster than stepping torch; lrlib within 3x of the
hand-written expression; the bridge's step() no slower than the native scheduler's.

Run: ``make bench`` or ``.venv/bin/python bench/bench_schedules.py [--steps N]``.
"""

from __future__ import annotations

import argparse
import math
import timeit

import numpy as np
import torch
from torch.optim import lr_scheduler as L

from lrlib import schedules as S
from lrlib.torch_bridge import ScheduleLR


def families(n):
    """(name, lrlib schedule, torch factory, hand-written numpy expression of t)."""
    t_max = n // 3
    return [
        ("constant", S.constant(0.1), lambda o: L.ConstantLR(o, 1.0, 0),
         lambda t: np.full(t.shape, 0.1)),
        ("step", S.step(0.1, 1000, 0.5), lambda o: L.StepLR(o, 1000, 0.5),
         lambda t: 0.1 * 0.5 ** (t // 1000)),
        ("multistep", S.multistep(0.1, [n // 4, n // 2, 3 * n // 4]),
         lambda o: L.MultiStepLR(o, [n // 4, n // 2, 3 * n // 4]),
         lambda t: 0.1 * 0.1 ** np.searchsorted([n // 4, n // 2, 3 * n // 4], t, "right")),
        ("exponential", S.exponential(0.1, 0.9999), lambda o: L.ExponentialLR(o, 0.9999),
         lambda t: 0.1 * 0.9999 ** t),
        ("inverse_time", S.inverse_time(0.1, 1e-3),
         lambda o: L.LambdaLR(o, lambda s: 1 / (1 + 1e-3 * s)), lambda t: 0.1 / (1 + 1e-3 * t)),
        ("polynomial", S.polynomial(0.1, n, 2.0), lambda o: L.PolynomialLR(o, n, 2.0),
         lambda t: 0.1 * (1 - np.minimum(t, n) / n) ** 2.0),
        ("linear", S.linear(0.1, 0.1, 1.0, n // 2), lambda o: L.LinearLR(o, 0.1, 1.0, n // 2),
         lambda t: 0.1 * (0.1 + 0.9 * np.minimum(t, n // 2) / (n // 2))),
        ("cosine", S.cosine(0.1, t_max, 1e-4), lambda o: L.CosineAnnealingLR(o, t_max, 1e-4),
         lambda t: 1e-4 + (0.1 - 1e-4) * (1 + np.cos(np.pi * t / t_max)) / 2),
        ("cosine_restarts", S.cosine_restarts(0.1, 1000, 2),
         lambda o: L.CosineAnnealingWarmRestarts(o, 1000, 2), _hand_restarts),
        ("cyclic", S.cyclic(0.01, 0.1, 2000, mode="triangular2"),
         lambda o: L.CyclicLR(o, 0.01, 0.1, 2000, mode="triangular2"), _hand_cyclic),
        ("one_cycle", S.one_cycle(0.1, n), lambda o: L.OneCycleLR(o, 0.1, n),
         lambda t: _hand_one_cycle(t, n)),
        ("warmup+cosine", S.warmup(S.cosine(0.1, n - 1000), 1000, 0.01),
         lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.01, 1.0, 1000),
                                      L.CosineAnnealingLR(o, n - 1000)], [1000]),
         lambda t: np.where(t < 1000, 0.1 * (0.01 + 0.99 * t / 1000),
                            0.05 * (1 + np.cos(np.pi * (t - 1000) / (n - 1000))))),
    ]


def _hand_restarts(t):
    # periods 1000, 2000, 4000, ...: period k starts at 1000 (2^k - 1)
    k = np.floor(np.log2(t / 1000 + 1)).astype(np.int64)
    start = 1000 * (2**k - 1)
    return 0.05 * (1 + np.cos(np.pi * (t - start) / (1000 * 2**k)))


def _hand_cyclic(t):
    cycle = np.floor(1 + t / 4000)
    x = np.abs(t / 2000 - 2 * cycle + 1)
    return 0.01 + 0.09 * np.maximum(0, 1 - x) * 0.5 ** (cycle - 1)


def _hand_one_cycle(t, n):
    peak = 0.3 * n - 1
    up = 0.1 / 25 + (0.1 - 0.1 / 25) * (1 - np.cos(np.pi * t / peak)) / 2
    final = 0.1 / 25 / 1e4
    down = final + (0.1 - final) * (1 + np.cos(np.pi * (t - peak) / (n - 1 - peak))) / 2
    return np.where(t <= peak, up, down)


def best_time(fn, repeat=5, number=1):
    """Best of ``repeat`` timings of ``number`` calls, in seconds per call."""
    return min(timeit.repeat(fn, repeat=repeat, number=number)) / number


def torch_loop(factory, n):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    scheduler = factory(opt)
    opt.step()
    for _ in range(n):
        scheduler.step()


def step_cost(make_scheduler, n):
    """Seconds per scheduler.step(), measured over n steps on a fresh scheduler."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    scheduler = make_scheduler(opt)
    opt.step()
    return timeit.timeit(scheduler.step, number=n) / n


def main(n: int) -> None:
    t = np.arange(n)
    header = (f"{'family':16s} {'lrlib':>9s} {'torch':>9s} {'hand':>9s} "
              f"{'torch/lrlib':>12s} {'lrlib/hand':>11s} {'bridge/torch step':>18s}")
    print(f"N = {n} steps; times are per N steps (lrlib, torch, hand) and ratios")
    print(header)
    print("-" * len(header))
    worst = {"speedup": math.inf, "vs_hand": 0.0, "bridge": 0.0}
    for name, sched, factory, hand in families(n):
        np.testing.assert_allclose(sched(t), hand(t), rtol=1e-9, atol=1e-15)
        lrlib_s = best_time(lambda: sched(t), repeat=7, number=5)  # noqa: B023
        hand_s = best_time(lambda: hand(t), repeat=7, number=5)  # noqa: B023
        torch_s = best_time(lambda: torch_loop(factory, n), repeat=2)  # noqa: B023
        steps = min(n, 20_000)
        native = min(step_cost(factory, steps) for _ in range(3))
        bridge = min(step_cost(lambda o: ScheduleLR(o, sched), steps)  # noqa: B023
                     for _ in range(3))
        speedup, vs_hand, vs_native = torch_s / lrlib_s, lrlib_s / hand_s, bridge / native
        worst = {"speedup": min(worst["speedup"], speedup),
                 "vs_hand": max(worst["vs_hand"], vs_hand),
                 "bridge": max(worst["bridge"], vs_native)}
        print(f"{name:16s} {lrlib_s * 1e3:7.2f}ms {torch_s * 1e3:7.0f}ms {hand_s * 1e3:7.2f}ms "
              f"{speedup:11.0f}x {vs_hand:10.2f}x {vs_native:17.2f}x")
    print("-" * len(header))
    print(f"worst: lrlib vs torch {worst['speedup']:.0f}x faster (target >= 100x); "
          f"lrlib vs hand {worst['vs_hand']:.2f}x (target <= 3x); "
          f"bridge step vs native {worst['bridge']:.2f}x (target <= 1x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    main(parser.parse_args().steps)
