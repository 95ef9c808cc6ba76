"""lrlib.optim against torch.optim: trajectories, state, resume and argument checks."""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

from lrlib import schedules as S
from lrlib.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
    adagrad_update,
    adam_update,
    rmsprop_update,
    sgd_update,
)
from lrlib.torch_bridge import ScheduleLR

N_STEPS = 100
NAN = float("nan")


# ---------------------------------------------------------------------------
# Test problems: numpy gradients for lrlib, torch autograd for torch
# ---------------------------------------------------------------------------


def _rotation(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s], [s, c]])


# f(x) = 0.5 (x - c)^T H (x - c), condition number 25, axes rotated by 30 degrees.
_H = _rotation(30.0) @ np.diag([1.0, 25.0]) @ _rotation(30.0).T
_C = np.array([6.0, 5.0])


@dataclass(frozen=True)
class Problem:
    name: str
    start: np.ndarray
    sgd_lr: float  # for SGD; the adaptive methods use adaptive_lr
    adaptive_lr: float

    def grad(self, x: np.ndarray) -> np.ndarray:
        if self.name == "quadratic":
            return _H @ (x - _C)
        dx = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] ** 2)
        return np.array([dx, 200.0 * (x[1] - x[0] ** 2)])

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        if self.name == "quadratic":
            d = x - torch.from_numpy(_C)
            return 0.5 * d @ torch.from_numpy(_H) @ d
        return (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2


# Both trajectories stay far from 0 (no coordinate changes sign in 100 steps), so a
# pure relative tolerance is meaningful. On Rosenbrock, SGD's lr must stay below
# 2 / 1902 (the largest curvature at the start).
PROBLEMS = [
    Problem("quadratic", np.array([4.0, 8.0]), sgd_lr=0.02, adaptive_lr=0.05),
    Problem("rosenbrock", np.array([-1.5, 2.0]), sgd_lr=5e-4, adaptive_lr=0.03),
]


# ---------------------------------------------------------------------------
# Every option of every optimizer: (lrlib class, kwargs); torch.optim has the same names
# ---------------------------------------------------------------------------


def case(id_: str, cls: type, kwargs: dict[str, Any] | None = None):
    return pytest.param(cls, kwargs or {}, id=id_)


CASES = [
    case("sgd", SGD),
    case("sgd-momentum", SGD, {"momentum": 0.9}),
    case("sgd-dampening", SGD, {"momentum": 0.9, "dampening": 0.3}),
    case("sgd-nesterov", SGD, {"momentum": 0.9, "nesterov": True}),
    case("sgd-weight-decay", SGD, {"weight_decay": 0.1}),
    case("sgd-all", SGD, {"momentum": 0.5, "weight_decay": 0.1, "nesterov": True}),
    case("adagrad", Adagrad),
    case("adagrad-lr-decay", Adagrad, {"lr_decay": 0.05}),
    case("adagrad-initial-acc", Adagrad, {"initial_accumulator_value": 0.5}),
    case("adagrad-eps", Adagrad, {"eps": 1e-3}),
    case("adagrad-weight-decay", Adagrad, {"weight_decay": 0.1}),
    case("rmsprop", RMSprop),
    case("rmsprop-alpha", RMSprop, {"alpha": 0.9}),
    case("rmsprop-eps", RMSprop, {"eps": 1e-3}),
    case("rmsprop-centered", RMSprop, {"centered": True}),
    # alpha < 0.5 takes torch.lerp's other branch for grad_avg
    case("rmsprop-centered-alpha", RMSprop, {"centered": True, "alpha": 0.4}),
    case("rmsprop-momentum", RMSprop, {"momentum": 0.5}),
    case("rmsprop-centered-momentum", RMSprop, {"centered": True, "momentum": 0.5}),
    case("rmsprop-weight-decay", RMSprop, {"weight_decay": 0.1}),
    case("adam", Adam),
    case("adam-betas", Adam, {"betas": (0.8, 0.99)}),
    # beta1 < 0.5 takes torch.lerp's other branch for exp_avg
    case("adam-small-beta1", Adam, {"betas": (0.3, 0.95)}),
    case("adam-eps", Adam, {"eps": 1e-3}),
    case("adam-weight-decay", Adam, {"weight_decay": 0.1}),
    case("adam-amsgrad", Adam, {"amsgrad": True}),
    case("adamw", AdamW),
    case("adamw-weight-decay", AdamW, {"weight_decay": 0.1}),
    case("adamw-amsgrad", AdamW, {"weight_decay": 0.1, "amsgrad": True}),
]


def _torch_cls(cls: type) -> type:
    return getattr(torch.optim, cls.__name__)


def _base_lr(cls: type, problem: Problem) -> float:
    return problem.sgd_lr if cls is SGD else problem.adaptive_lr


def _schedule(lr: float) -> S.Schedule:
    # starts at 0 (a step with lr=0 still updates the state) and ends below lr
    return S.warmup(S.cosine(lr=lr, T_max=N_STEPS - 10, eta_min=0.1 * lr), warmup_steps=10)


def _run_lrlib(opt: Optimizer, grad, n: int) -> tuple[np.ndarray, list[float]]:
    """n steps of ``opt`` (one parameter); the trajectory and the rates used."""
    (x,) = opt.params
    traj, lrs = [], []
    for _ in range(n):
        lrs.append(opt.lr)
        opt.step(grad(x))
        traj.append(x.copy())
    return np.array(traj), lrs


@pytest.mark.parametrize("use_schedule", [False, True], ids=["constant-lr", "schedule"])
@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.name)
@pytest.mark.parametrize(("cls", "kwargs"), CASES)
def test_matches_torch(cls, kwargs, problem, use_schedule):
    lr = _base_lr(cls, problem)
    x_t = torch.tensor(problem.start, dtype=torch.float64, requires_grad=True)
    opt_t = _torch_cls(cls)([x_t], lr=lr, foreach=False, **kwargs)
    scheduler = ScheduleLR(opt_t, _schedule(lr)) if use_schedule else None
    traj_t, lrs_t = [], []
    for _ in range(N_STEPS):
        lrs_t.append(opt_t.param_groups[0]["lr"])
        opt_t.zero_grad()
        problem.loss(x_t).backward()
        opt_t.step()
        if scheduler is not None:
            scheduler.step()
        traj_t.append(x_t.detach().numpy().copy())

    opt = cls(problem.start.copy(), lr=_schedule(lr) if use_schedule else lr, **kwargs)
    traj, lrs = _run_lrlib(opt, problem.grad, N_STEPS)

    assert np.isfinite(traj).all()
    assert lrs == lrs_t
    np.testing.assert_allclose(traj, np.array(traj_t), rtol=1e-10)
    # Same state, under the same key names.
    state_t = opt_t.state[x_t]
    assert set(opt.state[0]) == set(state_t)
    for key, value in opt.state[0].items():
        if key == "step":
            assert value == int(state_t[key]) == N_STEPS
        else:
            np.testing.assert_allclose(value, state_t[key].numpy(), rtol=1e-10)


# ---------------------------------------------------------------------------
# Two parameters of different shapes: minibatch least squares, pred = X @ W.T + b
# ---------------------------------------------------------------------------

_rng = np.random.default_rng(0)
_X = _rng.normal(size=(16, 2))
_Y = _X @ (4.0 + _rng.random((3, 2))).T + 3.0 + _rng.random(3) + 0.5 * _rng.normal(size=(16, 3))
_BATCHES = _rng.permutation(16).reshape(4, 4)  # step t uses rows _BATCHES[t % 4]
# Start near 3 everywhere: no entry comes near 0 in the steps taken below.
_W0, _B0 = np.full((3, 2), 3.0), np.full(3, 3.0)
# Minibatches make the gradient change from step to step. With full batches it hardly
# changes, and centered RMSprop with a small alpha then takes sqrt(v - grad_avg**2)
# of a difference of two nearly equal numbers, which turns a 1-ulp difference (torch
# fuses the multiply-add in lerp) into a 1e-8 one.


def _lsq_grads(params: list[np.ndarray], t: int) -> list[np.ndarray]:
    w, b = params
    x, y = _X[_BATCHES[t % 4]], _Y[_BATCHES[t % 4]]
    r = (x @ w.T + b - y) / len(x)
    return [r.T @ x, r.sum(axis=0)]


def _run_two_params(opt: Optimizer, n: int) -> list[np.ndarray]:
    traj = []
    for _ in range(n):
        opt.step(_lsq_grads(opt.params, opt.steps_done))
        traj.append(np.concatenate([p.ravel() for p in opt.params]))
    return traj


@pytest.mark.parametrize(("cls", "kwargs"), CASES)
def test_two_params_match_torch(cls, kwargs):
    n, lr = 30, _base_lr(cls, PROBLEMS[0])
    w_t = torch.tensor(_W0, requires_grad=True)
    b_t = torch.tensor(_B0, requires_grad=True)
    opt_t = _torch_cls(cls)([w_t, b_t], lr=lr, foreach=False, **kwargs)
    traj_t = []
    for t in range(n):
        rows = _BATCHES[t % 4]
        opt_t.zero_grad()
        pred = torch.from_numpy(_X[rows]) @ w_t.T + b_t
        (0.5 * ((pred - torch.from_numpy(_Y[rows])) ** 2).sum(dim=1).mean()).backward()
        opt_t.step()
        traj_t.append(torch.cat([w_t.detach().ravel(), b_t.detach()]).numpy())

    opt = cls([_W0.copy(), _B0.copy()], lr=lr, **kwargs)
    traj = _run_two_params(opt, n)
    np.testing.assert_allclose(np.array(traj), np.array(traj_t), rtol=1e-10)
    assert [p.shape for p in opt.params] == [(3, 2), (3,)]


# ---------------------------------------------------------------------------
# Resume from a state_dict
# ---------------------------------------------------------------------------

K_RESUME = int(np.random.default_rng(37).integers(2, 60))


@pytest.mark.parametrize("k", [0, 1, K_RESUME])
@pytest.mark.parametrize(("cls", "kwargs"), CASES)
def test_resume_from_state_dict(cls, kwargs, k):
    n, lr = 60, _schedule(_base_lr(cls, PROBLEMS[0]))
    full = _run_two_params(cls([_W0.copy(), _B0.copy()], lr=lr, **kwargs), n)

    first = cls([_W0.copy(), _B0.copy()], lr=lr, **kwargs)
    _run_two_params(first, k)
    saved = pickle.loads(pickle.dumps(first.state_dict()))  # it can go to disk
    resumed = cls([p.copy() for p in first.params], lr=lr, **kwargs)
    resumed.load_state_dict(saved)
    assert resumed.steps_done == k
    assert resumed.lr == first.lr
    np.testing.assert_array_equal(np.array(_run_two_params(resumed, n - k)), full[k:])


def _scribble(state_dict: dict) -> None:
    """Change everything in a state_dict, in place."""
    state_dict["steps_done"] += 1000
    for entry in state_dict["state"]:
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                value += 1.0
            else:
                entry[key] = 1000


def _assert_same_state(a: dict, b: dict) -> None:
    assert a["steps_done"] == b["steps_done"]
    for entry_a, entry_b in zip(a["state"], b["state"], strict=True):
        assert entry_a.keys() == entry_b.keys()
        for key in entry_a:
            np.testing.assert_array_equal(entry_a[key], entry_b[key])


@pytest.mark.parametrize(("cls", "kwargs"), CASES)
def test_state_dict_is_a_copy(cls, kwargs):
    opt = cls([_W0.copy(), _B0.copy()], lr=0.01, **kwargs)
    _run_two_params(opt, 3)
    snapshot = opt.state_dict()
    _scribble(opt.state_dict())  # changing a saved state_dict ...
    _assert_same_state(opt.state_dict(), snapshot)  # ... leaves the optimizer alone

    other = cls([_W0.copy(), _B0.copy()], lr=0.01, **kwargs)
    saved = opt.state_dict()
    other.load_state_dict(saved)
    _scribble(saved)  # loading copied the arrays in
    _assert_same_state(other.state_dict(), snapshot)


# ---------------------------------------------------------------------------
# Smaller behaviours
# ---------------------------------------------------------------------------


def test_lr_follows_the_schedule():
    sched = S.cosine(lr=0.1, T_max=10)
    opt = SGD(np.zeros(2), lr=sched)
    for t in range(15):
        assert opt.lr == opt.lr_at(t) == sched(t)
        assert opt.steps_done == t
        opt.step(np.ones(2))
    assert SGD(np.zeros(2), lr=0.5).lr_at(1000) == 0.5
    assert Adam(np.zeros(1), lr=lambda t: 0.1 / (1 + t)).lr_at(9) == pytest.approx(0.01)


def test_single_array_equals_list_of_one():
    a, b = np.array([1.0, -2.0]), np.array([1.0, -2.0])
    opt_a, opt_b = Adam(a, lr=0.1), Adam([b], lr=0.1)
    for _ in range(5):
        opt_a.step(2 * a)
        opt_b.step([2 * b])
    np.testing.assert_array_equal(a, b)
    assert Adam(p for p in [np.zeros(3)]).params[0].shape == (3,)  # any iterable


def test_grad_may_be_the_param_itself():
    # AdamW shrinks the parameter before using the gradient: the class copies grads,
    # so passing the parameter array itself as its gradient still follows torch.
    a, b = np.array([1.0, -2.0]), np.array([1.0, -2.0])
    opt_a, opt_b = AdamW(a, lr=0.1, weight_decay=0.5), AdamW(b, lr=0.1, weight_decay=0.5)
    for _ in range(5):
        opt_a.step(a)
        opt_b.step(b.copy())
    np.testing.assert_array_equal(a, b)


def test_nan_gradient_propagates():
    w = np.array([1.0, 2.0])
    Adam(w).step(np.array([NAN, 1.0]))
    assert np.isnan(w[0]) and np.isfinite(w[1])


def test_float32_params_stay_float32():
    w = np.ones(3, dtype=np.float32)
    opt = RMSprop(w, lr=0.01, centered=True, momentum=0.9)
    opt.step(np.ones(3))  # float64 grads are cast to the parameter's dtype
    assert w.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[0].values() if hasattr(v, "dtype"))


@pytest.mark.parametrize(("update", "cls", "kwargs", "core_kwargs"), [
    (sgd_update, SGD, {"momentum": 0.9, "dampening": 0.2}, {}),
    (adagrad_update, Adagrad, {"initial_accumulator_value": 0.3}, {}),
    (rmsprop_update, RMSprop, {"centered": True, "momentum": 0.5}, {}),
    (adam_update, Adam, {"amsgrad": True}, {}),
    (adam_update, AdamW, {"weight_decay": 0.1}, {"decoupled_weight_decay": True}),
], ids=["sgd", "adagrad", "rmsprop", "adam", "adamw"])
def test_functional_core_from_empty_state(update, cls, kwargs, core_kwargs):
    x_core, x_cls, state = PROBLEMS[0].start.copy(), PROBLEMS[0].start.copy(), {}
    opt = cls(x_cls, lr=0.01, **kwargs)
    hyper = {k: v for k, v in opt.hyperparams.items() if k not in ("lr", "betas")}
    if "betas" in opt.hyperparams:
        hyper["beta1"], hyper["beta2"] = opt.hyperparams["betas"]
    for _ in range(20):
        update(x_core, PROBLEMS[0].grad(x_core), state, lr=0.01, **hyper, **core_kwargs)
        opt.step(PROBLEMS[0].grad(x_cls))
    np.testing.assert_array_equal(x_core, x_cls)
    assert state.keys() == opt.state[0].keys()


def test_optimizer_can_be_copied_and_pickled():
    w = np.array([1.0, -2.0])
    opt = RMSprop(w, lr=S.cosine(lr=0.1, T_max=10), centered=True, momentum=0.9)
    opt.step(2 * w)
    twin = pickle.loads(pickle.dumps(opt))
    (w2,) = twin.params
    for _ in range(5):
        opt.step(2 * w)
        twin.step(2 * w2)
    np.testing.assert_array_equal(w, w2)
    with pytest.raises(TypeError):
        opt.hyperparams["lr"] = 1.0  # read-only view


def test_repr_lists_hyperparameters():
    assert repr(SGD(np.zeros(1), lr=0.1, momentum=0.9)) == (
        "SGD(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False)")
    assert "lr=cosine(lr=0.1, T_max=10" in repr(AdamW(np.zeros(1), lr=S.cosine(0.1, 10)))


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def _w() -> np.ndarray:
    return np.array([1.0, 2.0])


def _read_only() -> np.ndarray:
    a = _w()
    a.flags.writeable = False
    return a


def _same_twice() -> list[np.ndarray]:
    a = _w()
    return [a, a[:1]]


BAD = [
    (lambda: SGD(_w(), lr=-0.1),
     "SGD: lr must be a finite number >= 0 or a schedule, got lr=-0.1"),
    (lambda: Adam(_w(), lr=NAN), "Adam: lr must be a finite number >= 0 or a schedule, got lr=nan"),
    (lambda: Adagrad(_w(), lr=float("inf")), "Adagrad: lr must be a finite number >= 0"),
    (lambda: RMSprop(_w(), lr=True), "RMSprop: lr must be a finite number >= 0 or a schedule, "
     "got lr=True"),
    (lambda: SGD(_w(), lr="0.1"), "got lr='0.1'"),
    (lambda: SGD(_w(), lr=lambda t: -1.0).step(_w()),
     "SGD: lr(0) must be a finite number >= 0, got lr(0)=-1.0"),
    (lambda: SGD(_w(), momentum=-0.5), "SGD: momentum must be a finite number >= 0, "
     "got momentum=-0.5"),
    (lambda: SGD(_w(), momentum=NAN), "SGD: momentum must be a finite number >= 0, "
     "got momentum=nan"),
    (lambda: RMSprop(_w(), momentum=-1), "RMSprop: momentum must be a finite number >= 0, "
     "got momentum=-1"),
    (lambda: SGD(_w(), momentum=0.9, dampening=1.5),
     "SGD: dampening must be a finite number in [0, 1], got dampening=1.5"),
    (lambda: SGD(_w(), nesterov=True),
     "SGD: nesterov must be False when momentum=0.0 and dampening=0.0 "
     "(Nesterov needs momentum > 0 and dampening == 0), got nesterov=True"),
    (lambda: SGD(_w(), momentum=0.9, dampening=0.1, nesterov=True),
     "SGD: nesterov must be False when momentum=0.9 and dampening=0.1"),
    (lambda: SGD(_w(), momentum=0.9, nesterov=1), "SGD: nesterov must be a bool, got nesterov=1"),
    (lambda: Adam(_w(), betas=(1.0, 0.999)),
     "Adam: betas[0] must be a finite number in [0, 1), got betas[0]=1.0"),
    (lambda: AdamW(_w(), betas=(0.9, -0.1)),
     "AdamW: betas[1] must be a finite number in [0, 1), got betas[1]=-0.1"),
    (lambda: Adam(_w(), betas=(NAN, 0.999)), "Adam: betas[0] must be a finite number in [0, 1), "
     "got betas[0]=nan"),
    (lambda: Adam(_w(), betas=0.9), "Adam: betas must be a pair (beta1, beta2), got betas=0.9"),
    (lambda: Adam(_w(), betas=(0.9, 0.99, 0.999)), "Adam: betas must be a pair (beta1, beta2)"),
    (lambda: Adam(_w(), eps=-1e-8), "Adam: eps must be a finite number >= 0, got eps=-1e-08"),
    (lambda: Adagrad(_w(), eps=-1.0), "Adagrad: eps must be a finite number >= 0, got eps=-1.0"),
    (lambda: RMSprop(_w(), eps=NAN), "RMSprop: eps must be a finite number >= 0, got eps=nan"),
    (lambda: SGD(_w(), weight_decay=-0.1), "SGD: weight_decay must be a finite number >= 0, "
     "got weight_decay=-0.1"),
    (lambda: Adagrad(_w(), weight_decay=-0.1), "Adagrad: weight_decay must be"),
    (lambda: RMSprop(_w(), weight_decay=-0.1), "RMSprop: weight_decay must be"),
    (lambda: Adam(_w(), weight_decay=-0.1), "Adam: weight_decay must be"),
    (lambda: AdamW(_w(), weight_decay=NAN), "AdamW: weight_decay must be a finite number >= 0, "
     "got weight_decay=nan"),
    (lambda: RMSprop(_w(), alpha=1.5), "RMSprop: alpha must be a finite number in [0, 1], "
     "got alpha=1.5"),
    (lambda: RMSprop(_w(), centered="yes"), "RMSprop: centered must be a bool, "
     "got centered='yes'"),
    (lambda: Adam(_w(), amsgrad=1), "Adam: amsgrad must be a bool, got amsgrad=1"),
    (lambda: Adagrad(_w(), lr_decay=-0.1), "Adagrad: lr_decay must be a finite number >= 0, "
     "got lr_decay=-0.1"),
    (lambda: Adagrad(_w(), initial_accumulator_value=-1.0),
     "Adagrad: initial_accumulator_value must be a finite number >= 0, "
     "got initial_accumulator_value=-1.0"),
    (lambda: SGD([]), "SGD: params must be a float numpy array or a non-empty list of them, "
     "got params=[]"),
    (lambda: SGD(1.0), "SGD: params must be a float numpy array or a non-empty list of them, "
     "got params=1.0"),
    # an int array would silently truncate the in-place float updates
    (lambda: SGD(np.array([1, 2])), "SGD: params[0] must be a writeable numpy array of floats, "
     "got params[0]=array([1, 2])"),
    (lambda: SGD([1.0, 2.0]), "SGD: params[0] must be a writeable numpy array of floats, "
     "got params[0]=1.0"),
    (lambda: Adam([_w(), _read_only()]), "Adam: params[1] must be a writeable numpy array"),
    (lambda: Adam(_same_twice()),
     "Adam: params[1] must be an array that shares no memory with params[0]"),
    (lambda: SGD([_w(), _w()]).step([_w()]),
     "SGD: len(grads) must be 2 (one gradient per parameter), got len(grads)=1"),
    (lambda: Adam(_w()).step(np.zeros(3)), "Adam: grads[0].shape must be (2,) "
     "(the shape of params[0]), got grads[0].shape=(3,)"),
    (lambda: Adam([_w(), np.zeros((2, 2))]).step([_w(), np.zeros(4)]),
     "Adam: grads[1].shape must be (2, 2) (the shape of params[1]), got grads[1].shape=(4,)"),
    (lambda: Adam(_w()).step(_w() * 1j), "Adam: grads[0].dtype must be a real number type"),
    (lambda: Adam(_w()).load_state_dict(Adam(np.zeros(3)).state_dict()),
     "Adam: state_dict['state'][0]['exp_avg'].shape must be (2,) (the shape of params[0]), "
     "got state_dict['state'][0]['exp_avg'].shape=(3,)"),
    (lambda: Adam(_w()).load_state_dict(Adam([_w(), _w()]).state_dict()),
     "Adam: len(state_dict['state']) must be 1 (one entry per parameter), "
     "got len(state_dict['state'])=2"),
    (lambda: Adam(_w()).load_state_dict(Adam(_w(), amsgrad=True).state_dict()),
     "Adam: sorted(state_dict['state'][0]) must be ['exp_avg', 'exp_avg_sq', 'step'], "
     "got sorted(state_dict['state'][0])=['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step']"),
    (lambda: SGD(_w(), momentum=0.9).load_state_dict(Adam(_w()).state_dict()),
     "SGD: sorted(state_dict['state'][0]) must be ['momentum_buffer']"),
    (lambda: SGD(_w()).load_state_dict([]),
     "SGD: state_dict must be a dict with keys 'steps_done' and 'state', got state_dict=[]"),
    (lambda: SGD(_w()).load_state_dict({"steps_done": -1, "state": [{}]}),
     "SGD: state_dict['steps_done'] must be a non-negative int, got state_dict['steps_done']=-1"),
    (lambda: RMSprop(_w()).load_state_dict(
        {"steps_done": 1, "state": [{"step": 1, "square_avg": [0.0, 0.0]}]}),
     "RMSprop: state_dict['state'][0]['square_avg'] must be a numpy array, "
     "got state_dict['state'][0]['square_avg']=[0.0, 0.0]"),
]


@pytest.mark.parametrize(("call", "message"), BAD, ids=[m[:60] for _, m in BAD])
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_failed_load_leaves_the_optimizer_alone():
    opt = Adam([_w(), _w()], lr=0.1)
    opt.step([_w(), _w()])
    good = opt.state_dict()
    bad = opt.state_dict()
    bad["state"][1]["exp_avg"] = np.zeros(5)
    with pytest.raises(ValueError, match="exp_avg"):
        opt.load_state_dict(bad)
    assert opt.steps_done == 1
    np.testing.assert_array_equal(opt.state[0]["exp_avg"], good["state"][0]["exp_avg"])
