r"""One protocol to compare learning-rate schedules head to head (chapter 8).

Every number of chapter 8's comparison comes from :func:`run_cell`: one model, one
optimizer family, one method (schedule), one rate and one seed, trained for the same
epoch budget on MNIST-1D with a validation split. :func:`sweep` chooses each
method's rate by the same rule, and :func:`run_config` adds the seeds at the chosen
rate. ``bench/bench_grid.py`` runs every configuration and writes
``bench/results/grid.json``; the chapter runs a reduced grid with the same functions
and compares the two.

The protocol, in one place (:data:`PROTOCOL`, stored in the results file, so a change
without a re-run of the bench is detected):

* **data**: MNIST-1D (``load_mnist1d(42)``); 500 of the 4000 training sequences
  become a validation split (``split_validation(seed=0)``); the 1000 test sequences
  are used only to report.
* **budget**: 15 epochs of minibatches of 64 for every method, so every per-batch
  schedule has the horizon :math:`T = 15 \lceil 3500 / 64 \rceil = 825` updates.
* **models**: the MLP (two hidden layers of 100) and the CNN of :mod:`lrlib.models`.
* **optimizer families**: SGD with momentum 0.9, and AdamW (``weight_decay=0.01``,
  torch's defaults otherwise).
* **methods** (:data:`METHODS`): fixed rate, step decay, exponential decay, 1/t
  decay, cosine, cosine with warm restarts, cyclic (triangular), linear warm-up +
  cosine, ReduceLROnPlateau and one-cycle; their shapes are tied to :math:`T` by
  :func:`make_schedule`. The swept rate is the peak rate of every method.
* **rate**: a bracket sweep on a factor-2 grid around the family's centre, seed 0,
  scored by the final validation accuracy (:func:`next_sweep_rate`,
  :func:`choose_rate`).
* **report**: three fresh seeds (1, 2, 3; not the sweep's seed 0, whose run at the
  chosen rate was selected for being good) at the chosen rate: final test accuracy,
  epochs to a target accuracy (90% of the published baseline) and wall time.
* **sensitivity**: the change of the final test accuracy of seed 1 at half and at
  twice the chosen rate (a seed that played no part in choosing the rate).
* **controls** (:func:`run_control`): extra runs at fixed rates, every reported seed,
  that separate the effect of a method from the effect of its sweep: cosine and linear
  warm-up + cosine for the CNN with AdamW at the same three rates.
* **ties** (analysis, not stored): two means differ when the gap exceeds
  :data:`TIE_Z` standard errors of their difference (:func:`tie_margin`,
  :func:`top_group`).
* **re-runs**: a run repeated on another machine is a fresh draw (its floating-point
  arithmetic differs in the last bits, and training amplifies that to the size of the
  seed-to-seed spread), so a re-run agrees with the file when it is within
  :data:`RERUN_Z` standard errors, from the pooled spread of its block
  (:func:`pooled_std`, :func:`rerun_margin`).

References
----------
Greydanus, S. (2020). Scaling down deep learning. arXiv:2011.14439.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lrlib import _validation as V
from lrlib import schedules as S

__all__ = [
    "BASELINE_MODELS",
    "METHODS",
    "METHOD_LABELS",
    "MODELS",
    "OPTIMIZERS",
    "PROTOCOL",
    "PUBLISHED",
    "RERUN_Z",
    "RESULTS_PATH",
    "TIE_Z",
    "FunctionSchedule",
    "build_optimizer",
    "choose_rate",
    "config_summary",
    "epochs_to_target",
    "find_config",
    "load_results",
    "make_schedule",
    "next_sweep_rate",
    "pooled_std",
    "protocol_data",
    "protocol_matches",
    "rerun_margin",
    "run_baseline",
    "run_cell",
    "run_config",
    "run_control",
    "sweep",
    "tie_margin",
    "top_group",
    "total_steps",
    "train_cell",
]

#: Published MNIST-1D test accuracies (Greydanus, 2020).
PUBLISHED = {"logistic_regression": 0.32, "mlp": 0.68, "cnn": 0.94}

#: The two models of the grid (:mod:`lrlib.models`).
MODELS = ("mlp", "cnn")
#: The two optimizer families (:func:`build_optimizer`).
OPTIMIZERS = ("sgd", "adamw")
#: The ten methods (schedules) of the grid, in the order of the results file.
METHODS = ("fixed", "step", "exponential", "inverse_time", "cosine", "cosine_restarts",
           "cyclic", "warmup_cosine", "plateau", "one_cycle")
#: The models of the published baselines (:func:`run_baseline`).
BASELINE_MODELS = ("logistic_regression", "mlp", "cnn")

#: Readable names of the methods, for tables and legends.
METHOD_LABELS = {
    "fixed": "fixed rate",
    "step": "step decay",
    "exponential": "exponential",
    "inverse_time": "1/t decay",
    "cosine": "cosine",
    "cosine_restarts": "cosine restarts",
    "cyclic": "cyclic (CLR)",
    "warmup_cosine": "warm-up + cosine",
    "plateau": "ReduceLROnPlateau",
    "one_cycle": "one-cycle",
}

#: Every setting of the comparison. JSON-compatible, and stored in the results file.
PROTOCOL: dict[str, Any] = {
    "data": {"mnist1d_seed": 42, "n_val": 500, "split_seed": 0},
    "batch_size": 64,
    "epochs": 15,
    "models": {"mlp": {"hidden": 100}, "cnn": {"channels": 25}},
    "optimizers": {
        "sgd": {"momentum": 0.9, "center_lr": 0.1},
        "adamw": {"weight_decay": 0.01, "betas": [0.9, 0.999], "center_lr": 0.008},
    },
    "methods": list(METHODS),
    "method_settings": {
        "fixed": {},
        "step": {"gamma": 0.1, "step_size_fraction": [1, 3]},
        "exponential": {"final_factor": 0.01},
        "inverse_time": {"final_factor": 0.1},
        "cosine": {"eta_min": 0.0},
        "cosine_restarts": {"T_mult": 2, "periods": 3},
        "cyclic": {"mode": "triangular", "base_fraction": 0.25, "cycles": 4,
                   "base_momentum": 0.8, "max_momentum": 0.9},
        "warmup_cosine": {"warmup_fraction": [1, 10], "start_factor": 0.0},
        "plateau": {"factor": 0.5, "patience": 2, "metric": "validation loss"},
        "one_cycle": {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 10000.0,
                      "base_momentum": 0.85, "max_momentum": 0.95},
    },
    "sweep": {"factor": 2.0, "start": [-1, 0, 1], "max_extra": 4, "seed": 0,
              "score": "final validation accuracy"},
    "seeds": [1, 2, 3],
    "sensitivity": {"seed": 1, "factors": [0.5, 2.0]},
    "controls": [{"model": "cnn", "optimizer": "adamw", "methods": ["cosine", "warmup_cosine"],
                  "lrs": [0.008, 0.016, 0.032]}],
    "target_fraction": 0.9,
    "targets": {"mlp": 0.612, "cnn": 0.846},
    "baselines": {"optimizer": "adam", "lrs": [0.001, 0.01], "batch_size": 64, "epochs": 30,
                  "seeds": [0, 1, 2], "validation": False},
}

#: Standard errors of a difference of two means beyond which they differ (ties).
TIE_Z = 2.0

#: Standard errors by which a re-run may miss the results file (:func:`rerun_margin`).
RERUN_Z = 3.0

#: Where bench/bench_grid.py writes the full grid.
RESULTS_PATH = Path(__file__).resolve().parents[1] / "bench" / "results" / "grid.json"

_F = "compare"


def _name(func: str, arg: str, value: Any, options: Sequence[str]) -> str:
    return V.one_of(f"{_F}.{func}", arg, value, options)


# ---------------------------------------------------------------------------
# data, models, optimizers
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def _data(validation: bool):
    from lrlib.data import load_mnist1d, split_validation

    d = PROTOCOL["data"]
    data = load_mnist1d(d["mnist1d_seed"])
    if validation:
        data = split_validation(data, d["n_val"], seed=d["split_seed"])
    return data


def protocol_data(validation: bool = True):
    """Return the protocol's data set (cached in memory).

    Parameters
    ----------
    validation : bool, default=True
        True: 3500 training, 500 validation and 1000 test sequences (the grid).
        False: all 4000 training sequences and the test set (the baselines).

    Returns
    -------
    lrlib.data.Dataset

    Examples
    --------
    >>> from lrlib.compare import protocol_data
    >>> d = protocol_data()
    >>> print(len(d.y_train), len(d.y_val), len(d.y_test))
    3500 500 1000
    """
    return _data(V.boolean(f"{_F}.protocol_data", "validation", validation))


def total_steps(data=None, epochs: int | None = None) -> int:
    """Return the horizon :math:`T` of a run: epochs times updates per epoch.

    Parameters
    ----------
    data : lrlib.data.Dataset, optional
        Default: :func:`protocol_data`.
    epochs : int, optional
        Default: the protocol's budget (15).

    Examples
    --------
    >>> from lrlib.compare import total_steps
    >>> print(total_steps())
    825
    """
    from lrlib.train import steps_per_epoch

    data = protocol_data() if data is None else data
    epochs = PROTOCOL["epochs"] if epochs is None else V.integer(
        f"{_F}.total_steps", "epochs", epochs, low=1)
    return epochs * steps_per_epoch(data, PROTOCOL["batch_size"])


def _build_model(model: str, seed: int):
    from lrlib import models

    if model == "logistic_regression":
        return models.logistic_regression(seed=seed)
    if model == "mlp":
        return models.mlp(PROTOCOL["models"]["mlp"]["hidden"], seed=seed)
    return models.cnn(PROTOCOL["models"]["cnn"]["channels"], seed=seed)


def build_optimizer(optimizer: str, params, lr: float):
    """Return the torch optimizer of a family, with the protocol's settings.

    Parameters
    ----------
    optimizer : {'sgd', 'adamw', 'adam'}
        ``'sgd'``: SGD with momentum 0.9; ``'adamw'``: AdamW with weight decay 0.01;
        ``'adam'``: torch's Adam with its defaults (the baselines).
    params : iterable of torch.nn.Parameter
    lr : float
        Starting rate (a scheduler overwrites it).

    Examples
    --------
    >>> import torch
    >>> from lrlib.compare import build_optimizer
    >>> opt = build_optimizer("sgd", [torch.nn.Parameter(torch.zeros(2))], 0.1)
    >>> print(type(opt).__name__, opt.param_groups[0]["momentum"])
    SGD 0.9
    """
    import torch

    optimizer = _name("build_optimizer", "optimizer", optimizer, (*OPTIMIZERS, "adam"))
    lr = V.positive(f"{_F}.build_optimizer", "lr", lr)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=PROTOCOL["optimizers"]["sgd"]["momentum"])
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    settings = PROTOCOL["optimizers"]["adamw"]
    return torch.optim.AdamW(params, lr=lr, betas=tuple(settings["betas"]),
                             weight_decay=settings["weight_decay"])


# ---------------------------------------------------------------------------
# schedules
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSchedule(S.Schedule):
    """Any vectorized function of the step, as an lrlib schedule.

    Parameters
    ----------
    fn : callable
        ``fn(steps)`` takes an int64 array of steps >= 0 and returns the rates, an
        array of the same shape. It must be pure (the same step, the same rate):
        :class:`~lrlib.torch_bridge.ScheduleLR` evaluates it on thousands of steps
        ahead of time.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.compare import FunctionSchedule
    >>> sched = FunctionSchedule(lambda t: 0.1 / (1.0 + t))
    >>> print(sched(1), sched(np.arange(3)).round(3))
    0.05 [0.1   0.05  0.033]
    """

    fn: Callable[[np.ndarray], Any]
    _name: ClassVar[str] = "FunctionSchedule"

    def __post_init__(self):
        V.check(callable(self.fn), self._name, "fn", "a callable fn(steps) -> rates", self.fn)

    def _at(self, t):
        return np.asarray(self.fn(t), dtype=np.float64)


def _fraction(pair: Sequence[int], total: int) -> int:
    """``ceil(total * a / b)`` in exact integer arithmetic."""
    a, b = pair
    return -(-total * a // b)


def make_schedule(method: str, lr: float, T: int) -> tuple[S.Schedule, Callable | None]:
    r"""Return a method's schedule for peak rate ``lr`` and horizon ``T``, and its momentum.

    Parameters
    ----------
    method : str
        One of :data:`METHODS` except ``'plateau'`` (metric-driven, see
        :func:`train_cell`).
    lr : float
        The swept rate: the peak rate of the schedule, > 0.
    T : int
        Horizon: the number of updates of the run, >= 10.

    Returns
    -------
    schedule : lrlib.schedules.Schedule
    momentum : callable or None
        The momentum (SGD) or :math:`\beta_1` (AdamW) cycle of ``cyclic`` and
        ``one_cycle`` (torch's ``cycle_momentum=True`` default); None otherwise.

    Notes
    -----
    With :math:`\lceil\cdot\rceil` the ceiling:

    ========================  ====================================================
    fixed                     ``constant(lr)``
    step                      ``step(lr, step_size=ceil(T/3), gamma=0.1)``: two drops
    exponential               ``exponential(lr, gamma=0.01**(1/T))``: lr/100 at T
    inverse_time              ``inverse_time(lr, decay=9/T)``: lr/10 at T
    cosine                    ``cosine(lr, T_max=T)``
    cosine_restarts           ``cosine_restarts(lr, T_0=ceil(T/7), T_mult=2)``: 3 periods
    cyclic                    ``cyclic(lr/4, lr, step_size_up=ceil(T/8))``: 4 cycles
    warmup_cosine             ``warmup(cosine(lr, T - W), W)``, ``W = ceil(T/10)``
    one_cycle                 ``one_cycle(lr, total_steps=T)`` (torch's defaults)
    ========================  ====================================================

    Examples
    --------
    >>> from lrlib.compare import make_schedule
    >>> sched, momentum = make_schedule("step", 0.1, 825)
    >>> print(sched.step_size, f"{sched(824):.4f}", momentum)
    275 0.0010 None
    """
    f = f"{_F}.make_schedule"
    method = V.one_of(f, "method", method, [m for m in METHODS if m != "plateau"])
    lr = V.positive(f, "lr", lr)
    T = V.integer(f, "T", T, low=10)
    cfg = PROTOCOL["method_settings"][method]
    if method == "fixed":
        return S.constant(lr=lr), None
    if method == "step":
        return S.step(lr=lr, step_size=_fraction(cfg["step_size_fraction"], T),
                      gamma=cfg["gamma"]), None
    if method == "exponential":
        return S.exponential(lr=lr, gamma=cfg["final_factor"] ** (1.0 / T)), None
    if method == "inverse_time":
        return S.inverse_time(lr=lr, decay=(1.0 / cfg["final_factor"] - 1.0) / T), None
    if method == "cosine":
        return S.cosine(lr=lr, T_max=T, eta_min=cfg["eta_min"]), None
    if method == "cosine_restarts":
        m, n = cfg["T_mult"], cfg["periods"]
        periods = sum(m**i for i in range(n))          # T_0 (1 + m + ... + m^(n-1)) >= T
        return S.cosine_restarts(lr=lr, T_0=-(-T // periods), T_mult=m), None
    if method == "cyclic":
        sched = S.cyclic(base_lr=lr * cfg["base_fraction"], max_lr=lr,
                         step_size_up=-(-T // (2 * cfg["cycles"])), mode=cfg["mode"],
                         base_momentum=cfg["base_momentum"],
                         max_momentum=cfg["max_momentum"])
        return sched, sched.momentum
    if method == "warmup_cosine":
        W = _fraction(cfg["warmup_fraction"], T)
        return S.warmup(S.cosine(lr=lr, T_max=T - W), warmup_steps=W,
                        start_factor=cfg["start_factor"]), None
    sched = S.one_cycle(max_lr=lr, total_steps=T, pct_start=cfg["pct_start"],
                        div_factor=cfg["div_factor"],
                        final_div_factor=cfg["final_div_factor"],
                        base_momentum=cfg["base_momentum"], max_momentum=cfg["max_momentum"])
    return sched, sched.momentum


def _as_factory(method) -> Callable[[float, int], Any]:
    """A callable ``method(lr, T) -> schedule`` of the reader's design, checked."""
    V.check(callable(method), f"{_F}.run_cell", "method",
            f"one of {', '.join(METHODS)} or a callable method(lr, T) -> schedule", method)
    return method


# ---------------------------------------------------------------------------
# one cell
# ---------------------------------------------------------------------------


def train_cell(model: str, optimizer: str, method, lr: float, seed: int, *,
               epochs: int | None = None, data=None):
    """Train one cell of the grid and return its :class:`lrlib.train.History`.

    Parameters
    ----------
    model : {'mlp', 'cnn'}
    optimizer : {'sgd', 'adamw'}
    method : str or callable
        One of :data:`METHODS`, or a callable ``method(lr, T)`` returning a schedule
        (an lrlib schedule, or a pure vectorized function of the step, wrapped in
        :class:`FunctionSchedule`).
    lr : float
        The method's (peak) rate, > 0.
    seed : int
        Seeds the initial weights and the order of the minibatches, >= 0.
    epochs : int, optional
        Default: the protocol's budget.
    data : lrlib.data.Dataset, optional
        Default: :func:`protocol_data` (with the validation split, which
        ReduceLROnPlateau watches).

    Returns
    -------
    lrlib.train.History
    """
    from lrlib.plateau import ReduceLROnPlateau
    from lrlib.torch_bridge import ScheduleLR
    from lrlib.train import train

    f = f"{_F}.train_cell"
    model = V.one_of(f, "model", model, MODELS)
    optimizer = V.one_of(f, "optimizer", optimizer, OPTIMIZERS)
    lr = V.positive(f, "lr", lr)
    seed = V.integer(f, "seed", seed, low=0)
    data = protocol_data() if data is None else data
    epochs = PROTOCOL["epochs"] if epochs is None else V.integer(f, "epochs", epochs, low=1)
    net = _build_model(model, seed)
    opt = build_optimizer(optimizer, net.parameters(), lr)
    scheduler = plateau = None
    if isinstance(method, str):
        V.one_of(f, "method", method, METHODS)
    if method == "plateau":
        cfg = PROTOCOL["method_settings"]["plateau"]
        plateau = ReduceLROnPlateau(lr=lr, factor=cfg["factor"], patience=cfg["patience"])
    elif isinstance(method, str):
        sched, momentum = make_schedule(method, lr, total_steps(data, epochs))
        scheduler = ScheduleLR(opt, sched, momentum=momentum)
    else:
        sched = _as_factory(method)(lr, total_steps(data, epochs))
        if not isinstance(sched, S.Schedule):
            sched = FunctionSchedule(sched)
        scheduler = ScheduleLR(opt, sched)
    return train(net, data, opt, epochs=epochs, batch_size=PROTOCOL["batch_size"],
                 scheduler=scheduler, plateau=plateau, seed=seed)


def epochs_to_target(test_acc: Sequence[float], target: float) -> int | None:
    """Return the first epoch (counted from 1) whose accuracy reaches ``target``, or None.

    Examples
    --------
    >>> from lrlib.compare import epochs_to_target
    >>> print(epochs_to_target([0.3, 0.55, 0.62, 0.6], 0.612),
    ...       epochs_to_target([0.3, 0.5], 0.612))
    3 None
    """
    acc = np.asarray(test_acc, dtype=float)
    hit = np.flatnonzero(acc >= target)
    return int(hit[0]) + 1 if hit.size else None


def _finite(x: float) -> float:
    return float(x) if math.isfinite(float(x)) else 0.0


def run_cell(model: str, optimizer: str, method, lr: float, seed: int, *,
             epochs: int | None = None, data=None) -> dict[str, Any]:
    """Run one cell of the grid and return its metrics (a JSON-compatible dict).

    Parameters
    ----------
    model, optimizer, method, lr, seed, epochs, data
        As in :func:`train_cell`.

    Returns
    -------
    dict
        ``model``, ``optimizer``, ``method`` (the name, or ``'custom'``), ``lr``,
        ``seed``, ``epochs``; ``test_acc`` and ``val_acc`` (one per epoch),
        ``final_test_acc``, ``final_val_acc`` (0 if the run diverged to NaN),
        ``epochs_to_target`` (epoch, counted from 1, at which the test accuracy
        first reaches the model's target; None if never), ``epoch_lr`` (the rate of
        the first update of every epoch), ``final_lr`` (the rate of the last update),
        ``final_train_loss`` (on the whole training set), ``diverged`` and
        ``wall_time`` (seconds).

    Examples
    --------
    >>> from lrlib.compare import run_cell
    >>> cell = run_cell("mlp", "sgd", "cosine", 0.1, seed=0, epochs=1)
    >>> print(cell["epochs"], len(cell["test_acc"]), 0.1 < cell["final_test_acc"] < 1)
    1 1 True
    """
    hist = train_cell(model, optimizer, method, lr, seed, epochs=epochs, data=data)
    test_acc = [_finite(a) for a in hist.test_acc]
    val_acc = [_finite(a) for a in hist.val_acc] if hist.val_acc is not None else []
    return {
        "model": model, "optimizer": optimizer,
        "method": method if isinstance(method, str) else "custom",
        "lr": float(lr), "seed": int(seed), "epochs": hist.num_epochs,
        "test_acc": test_acc, "val_acc": val_acc,
        "final_test_acc": test_acc[-1], "final_val_acc": val_acc[-1] if val_acc else None,
        "epochs_to_target": epochs_to_target(test_acc, PROTOCOL["targets"][model]),
        "epoch_lr": [float(x) for x in hist.lr[::hist.steps_per_epoch]],
        "final_lr": float(hist.lr[-1]),
        "final_train_loss": float(hist.epoch_train_loss[-1]), "diverged": bool(hist.diverged),
        "wall_time": round(float(hist.wall_time), 3),
    }


# ---------------------------------------------------------------------------
# the rate sweep
# ---------------------------------------------------------------------------


def _scores(func: str, rates, scores) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rates, dtype=float)
    s = np.asarray(scores, dtype=float)
    V.check(r.ndim == 1 and r.size > 0 and np.all(r > 0), f"{_F}.{func}", "rates",
            "a non-empty 1-D sequence of positive rates", rates)
    V.check(s.shape == r.shape and np.all(np.isfinite(s)), f"{_F}.{func}", "scores",
            f"one finite score per rate ({r.size})", scores)
    return r, s


def choose_rate(rates: Sequence[float], scores: Sequence[float]) -> float:
    """Return the rate with the highest score; a tie goes to the smallest rate.

    Examples
    --------
    >>> from lrlib.compare import choose_rate
    >>> print(choose_rate([0.05, 0.1, 0.2], [0.60, 0.64, 0.64]))
    0.1
    """
    r, s = _scores("choose_rate", rates, scores)
    best = s.max()
    return float(r[s == best].min())


def next_sweep_rate(rates: Sequence[float], scores: Sequence[float], *,
                    factor: float | None = None, max_extra: int | None = None,
                    num_start: int | None = None) -> float | None:
    """Return the next rate of the bracket sweep, or None when the sweep is done.

    The sweep starts with ``num_start`` rates (3: half, one and twice the family's
    centre). While the best rate so far is the smallest (largest) one tried, it adds
    the rate ``factor`` times smaller (larger), at most ``max_extra`` times. So the
    sweep ends at a local maximum of one seed's (noisy) validation curve, with a
    measured neighbour on each side unless ``max_extra`` ran out; with another centre
    it can end at another local maximum.

    Examples
    --------
    >>> from lrlib.compare import next_sweep_rate
    >>> print(next_sweep_rate([0.05, 0.1, 0.2], [0.60, 0.62, 0.65]))
    0.4
    >>> print(next_sweep_rate([0.05, 0.1, 0.2, 0.4], [0.60, 0.62, 0.65, 0.3]))
    None
    """
    cfg = PROTOCOL["sweep"]
    factor = cfg["factor"] if factor is None else factor
    max_extra = cfg["max_extra"] if max_extra is None else max_extra
    num_start = len(cfg["start"]) if num_start is None else num_start
    r, _ = _scores("next_sweep_rate", rates, scores)
    if len(r) - num_start >= max_extra:
        return None
    best = choose_rate(rates, scores)
    if best == r.min():
        return float(best / factor)
    if best == r.max():
        return float(best * factor)
    return None


def sweep(model: str, optimizer: str, method, *, run: Callable[..., dict] = run_cell,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Choose a method's rate with the protocol's bracket sweep (seed 0, validation).

    Parameters
    ----------
    model, optimizer, method
        As in :func:`run_cell`.
    run : callable, default=run_cell
        Called as ``run(model, optimizer, method, lr, seed)``; returns a cell dict.
    progress : callable, optional
        Called with a one-line message after every run.

    Returns
    -------
    dict
        ``cells``: the sweep's runs sorted by rate; ``chosen_lr``; and the sweep
        seed's sensitivity: ``drop_half`` and ``drop_double``, the final test
        accuracy of the chosen rate minus that at half and at twice the rate (None
        when that neighbour was not measured). The chosen run was selected for its
        score, so these drops lean high; :func:`run_config` also measures them on a
        fresh seed.
    """
    cfg = PROTOCOL["sweep"]
    center = PROTOCOL["optimizers"][optimizer]["center_lr"]
    rates = [center * cfg["factor"] ** k for k in cfg["start"]]
    cells: dict[float, dict] = {}
    while rates:
        lr = rates.pop(0)
        cells[lr] = run(model, optimizer, method, lr, cfg["seed"])
        if progress is not None:
            progress(_describe(cells[lr]))
        if not rates:
            done = sorted(cells)
            nxt = next_sweep_rate(done, [cells[x]["final_val_acc"] for x in done])
            if nxt is not None:
                rates.append(nxt)
    done = sorted(cells)
    chosen = choose_rate(done, [cells[x]["final_val_acc"] for x in done])

    def drop(neighbour: float) -> float | None:
        near = [x for x in done if math.isclose(x, neighbour, rel_tol=1e-9)]
        if not near:
            return None
        return cells[chosen]["final_test_acc"] - cells[near[0]]["final_test_acc"]

    return {"cells": [cells[x] for x in done], "chosen_lr": chosen,
            "drop_half": drop(chosen / cfg["factor"]),
            "drop_double": drop(chosen * cfg["factor"])}


def _describe(cell: Mapping[str, Any]) -> str:
    return (f"{cell['model']:>3s} {cell['optimizer']:>5s} {cell['method']:>15s} "
            f"lr={cell['lr']:<8.5g} seed={cell['seed']} val={cell['final_val_acc']:.3f} "
            f"test={cell['final_test_acc']:.3f} ({cell['wall_time']:.1f} s)")


def run_config(model: str, optimizer: str, method, *,
               run: Callable[..., dict] = run_cell,
               progress: Callable[[str], None] | None = None,
               sensitivity: bool = True) -> dict[str, Any]:
    """Run one configuration: the sweep, the reported seeds and the sensitivity runs.

    The sweep (seed 0) chooses the rate; the protocol's seeds (1, 2, 3) are then run
    at the chosen rate, so the reported accuracies come from runs that played no part
    in the choice. The sensitivity runs train the sensitivity seed (1) at half and at
    twice the chosen rate; its run at the chosen rate is the reported one.

    Parameters
    ----------
    model, optimizer, method
        As in :func:`run_cell`.
    run, progress
        As in :func:`sweep`.
    sensitivity : bool, default=True
        False skips the two sensitivity runs (``sensitivity`` is then None).

    Returns
    -------
    dict
        ``model``, ``optimizer``, ``method``, ``sweep`` (see :func:`sweep`),
        ``chosen_lr``, ``runs`` (one cell per seed of the protocol) and
        ``sensitivity`` (``seed`` and ``cells``: the runs at ``factors`` times the
        chosen rate, in the order of ``PROTOCOL['sensitivity']['factors']``; None
        if ``sensitivity`` is False).
    """
    found = sweep(model, optimizer, method, run=run, progress=progress)
    chosen = found["chosen_lr"]

    def one(lr: float, seed: int) -> dict:
        cell = run(model, optimizer, method, lr, seed)
        if progress is not None:
            progress(_describe(cell))
        return cell

    runs = [one(chosen, seed) for seed in PROTOCOL["seeds"]]
    cfg = PROTOCOL["sensitivity"]
    sens = None
    if V.boolean(f"{_F}.run_config", "sensitivity", sensitivity):
        sens = {"seed": cfg["seed"],
                "cells": [one(chosen * factor, cfg["seed"]) for factor in cfg["factors"]]}
    return {"model": model, "optimizer": optimizer, "method": method, "sweep": found,
            "chosen_lr": chosen, "runs": runs, "sensitivity": sens}


def run_control(model: str, optimizer: str, method: str, lr: float, *,
                run: Callable[..., dict] = run_cell,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run a control: one method at a fixed rate (no sweep), every reported seed.

    Returns
    -------
    dict
        ``model``, ``optimizer``, ``method``, ``lr`` and ``runs`` (one cell per seed
        of ``PROTOCOL['seeds']``).

    Examples
    --------
    >>> from lrlib.compare import PROTOCOL
    >>> [(c["model"], c["optimizer"], m, lr) for c in PROTOCOL["controls"]
    ...  for m in c["methods"] for lr in c["lrs"]][:2]
    [('cnn', 'adamw', 'cosine', 0.008), ('cnn', 'adamw', 'cosine', 0.016)]
    """
    runs = []
    for seed in PROTOCOL["seeds"]:
        runs.append(run(model, optimizer, method, lr, seed))
        if progress is not None:
            progress(_describe(runs[-1]))
    return {"model": model, "optimizer": optimizer, "method": method, "lr": float(lr),
            "runs": runs}


def config_summary(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return the table row of a configuration: mean, spread and the other metrics.

    Parameters
    ----------
    config : dict
        A result of :func:`run_config` (or an entry of the results file).

    Returns
    -------
    dict
        ``acc_mean`` and ``acc_std`` (final test accuracy over the reported seeds,
        population standard deviation), ``acc`` (per seed), ``reached`` (seeds that
        reached the target), ``epochs`` (per seed, None where the target was not
        reached), ``epochs_to_target`` (mean over the seeds that reached it; None if
        none did), ``drop_half`` and ``drop_double`` (the sensitivity seed's final
        test accuracy at the chosen rate minus that at half and at twice the rate;
        None without sensitivity runs),
        ``sweep_drop_half`` and ``sweep_drop_double`` (the same from the sweep's
        seed-0 runs; None when that neighbour was not tried), ``sweep_acc`` (the
        sweep's seed-0 final test accuracy at the chosen rate), ``wall_time`` (mean
        seconds per reported run), ``lr`` (the chosen rate) and ``sweep_runs``.
    """
    acc = np.array([c["final_test_acc"] for c in config["runs"]], dtype=float)
    reach = [c["epochs_to_target"] for c in config["runs"]]
    hit = [r for r in reach if r is not None]
    sens = config.get("sensitivity")
    factors = PROTOCOL["sensitivity"]["factors"]
    drops = [None] * len(factors)
    if sens is not None:
        base = next(c for c in config["runs"] if c["seed"] == sens["seed"])["final_test_acc"]
        drops = [base - c["final_test_acc"] for c in sens["cells"]]
    chosen = next(c for c in config["sweep"]["cells"] if c["lr"] == config["chosen_lr"])
    return {
        "model": config["model"], "optimizer": config["optimizer"],
        "method": config["method"], "lr": config["chosen_lr"],
        "acc": acc.tolist(), "acc_mean": float(acc.mean()), "acc_std": float(acc.std()),
        "reached": len(hit), "epochs": reach,
        "epochs_to_target": float(np.mean(hit)) if hit else None,
        "drop_half": drops[factors.index(0.5)], "drop_double": drops[factors.index(2.0)],
        "sweep_drop_half": config["sweep"]["drop_half"],
        "sweep_drop_double": config["sweep"]["drop_double"],
        "sweep_acc": chosen["final_test_acc"],
        "wall_time": float(np.mean([c["wall_time"] for c in config["runs"]])),
        "sweep_runs": len(config["sweep"]["cells"]),
    }


# ---------------------------------------------------------------------------
# ties
# ---------------------------------------------------------------------------


def _sample(func: str, arg: str, values) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    V.check(a.ndim == 1 and a.size >= 2 and bool(np.all(np.isfinite(a))), f"{_F}.{func}", arg,
            "a 1-D sequence of >= 2 finite per-seed values", values)
    return a


def tie_margin(a: Sequence[float], b: Sequence[float], z: float | None = None) -> float:
    r"""Return the gap between the means of two rows below which they are tied.

    ``z`` (:data:`TIE_Z`) standard errors of the difference of the two means, each
    row with its own spread (Welch):

    .. math:: z \sqrt{\frac{s_a^2}{n_a} + \frac{s_b^2}{n_b}} ,

    with :math:`s^2` the sample variance (``ddof=1``) over the seeds. For three
    seeds, :math:`s^2/3` equals :math:`\sigma^2/2` with :math:`\sigma` the
    population standard deviation the tables print.

    Parameters
    ----------
    a, b : sequence of float
        The per-seed values of the two rows (at least two each).
    z : float, optional
        Default: :data:`TIE_Z` (2).

    Examples
    --------
    >>> from lrlib.compare import tie_margin
    >>> print(round(tie_margin([0.60, 0.62, 0.64], [0.70, 0.70, 0.70]), 5))
    0.02309
    """
    a = _sample("tie_margin", "a", a)
    b = _sample("tie_margin", "b", b)
    z = TIE_Z if z is None else V.positive(f"{_F}.tie_margin", "z", z)
    return float(z * np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))


def pooled_std(rows: Sequence[Sequence[float]]) -> float:
    r"""Return the pooled standard deviation of several rows of per-seed values.

    Each row (a method, or a configuration) has its own mean; the pooled variance
    averages the rows' sample variances (``ddof=1``) weighted by their degrees of
    freedom, :math:`s_p^2 = \sum_r (n_r - 1) s_r^2 / \sum_r (n_r - 1)`. With ten rows of
    three seeds it rests on 20 degrees of freedom, where one row of three rests on 2.

    Parameters
    ----------
    rows : sequence of sequence of float
        At least one row; every row has at least two finite values.

    Examples
    --------
    >>> from lrlib.compare import pooled_std
    >>> print(round(pooled_std([[0.60, 0.62, 0.64], [0.70, 0.70, 0.70]]), 5))
    0.01414
    """
    V.check(isinstance(rows, Sequence) and not isinstance(rows, str) and len(rows) >= 1,
            f"{_F}.pooled_std", "rows", "a non-empty sequence of rows of per-seed values",
            rows)
    rows = [_sample("pooled_std", "rows", r) for r in rows]
    dof = sum(r.size - 1 for r in rows)
    return float(np.sqrt(sum((r.size - 1) * r.var(ddof=1) for r in rows) / dof))


def rerun_margin(sigma: float, n_fresh: int, n_stored: int, z: float | None = None, *,
                 floor: float = 0.01) -> float:
    r"""Return how far a mean of re-runs may lie from the stored mean and still agree.

    ``z`` (:data:`RERUN_Z`) standard errors of the difference of the two means, both
    drawn with the spread ``sigma``, and at least ``floor`` (by default one point of
    accuracy, ten test sequences):

    .. math:: \max\left(z\, \sigma \sqrt{\frac{1}{n_{\mathrm{fresh}}}
              + \frac{1}{n_{\mathrm{stored}}}},\ \mathrm{floor}\right).

    On the machine that wrote the file a seeded re-run is identical; on another one it
    is a fresh draw, and three standard errors keep the false alarms of a handful of
    such checks rare (under 1% each, with a spread pooled over 20 degrees of freedom)
    while a change of the training code that moves the results by more than the margin
    still fails.

    Parameters
    ----------
    sigma : float
        The per-run spread, usually :func:`pooled_std` of the runs' block.
    n_fresh, n_stored : int
        How many runs each mean averages (1 for a single run).
    z : float, optional
        Default: :data:`RERUN_Z` (3).
    floor : float, default=0.01
        The smallest margin returned, in the unit of ``sigma`` (for epochs to a
        target, one epoch).

    Examples
    --------
    >>> from lrlib.compare import rerun_margin
    >>> print(round(rerun_margin(0.02, 3, 3), 4), rerun_margin(0.001, 1, 1))
    0.049 0.01
    """
    func = f"{_F}.rerun_margin"
    sigma = V.nonnegative(func, "sigma", sigma)
    n_fresh = V.integer(func, "n_fresh", n_fresh, low=1)
    n_stored = V.integer(func, "n_stored", n_stored, low=1)
    z = RERUN_Z if z is None else V.positive(func, "z", z)
    floor = V.nonnegative(func, "floor", floor)
    return max(float(z * sigma * math.sqrt(1 / n_fresh + 1 / n_stored)), floor)


def top_group(samples: Mapping[Any, Sequence[float]], *, higher: bool = True,
              z: float | None = None) -> set:
    """Return the best row of a block and every row tied with it (:func:`tie_margin`).

    Parameters
    ----------
    samples : mapping
        Row name -> the per-seed values of that row.
    higher : bool, default=True
        True when higher is better (accuracy), False when lower is (epochs).
    z : float, optional
        Default: :data:`TIE_Z`.

    Returns
    -------
    set
        The names of the rows that three seeds cannot tell apart from the best (the
        row with the best mean). Each pair uses its own spreads, so a very noisy row
        can be tied with the best while a steadier row above it is not.

    Examples
    --------
    >>> from lrlib.compare import top_group
    >>> print(sorted(top_group({"a": [0.60, 0.62, 0.64], "b": [0.63, 0.64, 0.65],
    ...                         "c": [0.55, 0.56, 0.57]})))
    ['a', 'b']
    """
    V.check(isinstance(samples, Mapping) and len(samples) >= 1, f"{_F}.top_group", "samples",
            "a non-empty mapping of row names to per-seed values", samples)
    sign = 1.0 if V.boolean(f"{_F}.top_group", "higher", higher) else -1.0
    rows = {k: _sample("top_group", "samples", v) for k, v in samples.items()}
    best = max(rows, key=lambda k: sign * rows[k].mean())
    return {k for k, a in rows.items()
            if sign * (rows[best].mean() - a.mean()) <= tie_margin(rows[best], a, z)}


# ---------------------------------------------------------------------------
# baselines
# ---------------------------------------------------------------------------


def run_baseline(model: str, lr: float, seed: int, *, epochs: int | None = None
                 ) -> dict[str, Any]:
    """Train a published baseline with the plain setup and return its metrics.

    The plain setup (``PROTOCOL['baselines']``): torch's Adam at a fixed rate
    (10^-3, torch's default, and 10^-2), minibatches of 64, all 4000 training
    sequences, 30 epochs.

    Parameters
    ----------
    model : {'logistic_regression', 'mlp', 'cnn'}
    lr : float
        The fixed rate, > 0.
    seed : int
        Seeds the weights and the minibatch order, >= 0.
    epochs : int, optional
        Default: the baseline budget (30).

    Returns
    -------
    dict
        ``model``, ``lr``, ``seed``, ``epochs``, ``test_acc`` (per epoch),
        ``final_test_acc``, ``best_test_acc``, ``wall_time``.

    Examples
    --------
    >>> from lrlib.compare import run_baseline
    >>> run = run_baseline("logistic_regression", 0.01, seed=0, epochs=2)
    >>> print(run["epochs"], 0.1 < run["final_test_acc"] < 0.5)
    2 True
    """
    from lrlib.train import train

    f = f"{_F}.run_baseline"
    model = V.one_of(f, "model", model, BASELINE_MODELS)
    lr = V.positive(f, "lr", lr)
    seed = V.integer(f, "seed", seed, low=0)
    cfg = PROTOCOL["baselines"]
    epochs = cfg["epochs"] if epochs is None else V.integer(f, "epochs", epochs, low=1)
    net = _build_model(model, seed)
    opt = build_optimizer(cfg["optimizer"], net.parameters(), lr)
    hist = train(net, protocol_data(validation=cfg["validation"]), opt, epochs=epochs,
                 batch_size=cfg["batch_size"], seed=seed)
    acc = [_finite(a) for a in hist.test_acc]
    return {"model": model, "lr": float(lr), "seed": seed, "epochs": hist.num_epochs,
            "test_acc": acc, "final_test_acc": acc[-1], "best_test_acc": max(acc),
            "wall_time": round(float(hist.wall_time), 3)}


# ---------------------------------------------------------------------------
# the results file
# ---------------------------------------------------------------------------


def load_results(path: str | Path | None = None) -> dict[str, Any]:
    """Read the full grid written by ``bench/bench_grid.py``.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        Default: :data:`RESULTS_PATH` (``bench/results/grid.json`` of this checkout).

    Returns
    -------
    dict
        ``protocol``, ``versions``, ``machine``, ``wall_time`` (seconds for the whole
        grid), ``baselines`` (a list of :func:`run_baseline` results), ``configs`` (a
        list of :func:`run_config` results) and ``controls`` (a list of
        :func:`run_control` results, in the order of ``PROTOCOL['controls']``: every
        method at every rate).
    """
    path = RESULTS_PATH if path is None else Path(path)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def protocol_matches(results: Mapping[str, Any]) -> bool:
    """Whether a results file was made with this module's :data:`PROTOCOL`."""
    return results.get("protocol") == json.loads(json.dumps(PROTOCOL))


def find_config(results: Mapping[str, Any], model: str, optimizer: str,
                method: str) -> dict[str, Any]:
    """Return the configuration of a results file for one (model, optimizer, method)."""
    for config in results["configs"]:
        if (config["model"], config["optimizer"], config["method"]) == (model, optimizer,
                                                                         method):
            return config
    V.fail(f"{_F}.find_config", "method", "a configuration present in the results",
           (model, optimizer, method))
    return {}  # pragma: no cover

