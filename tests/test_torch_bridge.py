"""ScheduleLR: lrlib schedules driving torch optimizers."""

from __future__ import annotations

import io
import warnings
import zlib

import numpy as np
import pytest
import torch
from schedule_cases import CASES, MOMENTUM_IDS, torch_rates
from torch.optim.lr_scheduler import LRScheduler

from lrlib import schedules as S
from lrlib.torch_bridge import ScheduleLR, scheduler_values

BY_ID = {c[0]: c for c in CASES}


def make_optimizer(kind="sgd", lr=0.5, groups=1):
    params = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)) for _ in range(groups)]
    param_groups = [{"params": [p]} for p in params]
    if kind == "sgd":
        return torch.optim.SGD(param_groups, lr=lr, momentum=0.9)
    if kind == "adam":
        return torch.optim.Adam(param_groups, lr=lr)
    if kind == "adagrad":
        return torch.optim.Adagrad(param_groups, lr=lr)
    raise AssertionError(kind)


def drive(opt, scheduler, n):
    """Record the rates and momenta each of n updates uses, in torch's call order."""
    lrs, moms = [], []
    for _ in range(n):
        lrs.append([g["lr"] for g in opt.param_groups])
        moms.append([g["betas"][0] if "betas" in g else g.get("momentum")
                     for g in opt.param_groups])
        opt.step()
        scheduler.step()
    return np.array(lrs), np.array(moms, dtype=float)


def test_is_a_real_torch_scheduler():
    opt = make_optimizer()
    scheduler = ScheduleLR(opt, S.cosine(lr=0.1, T_max=10))
    assert isinstance(scheduler, LRScheduler)
    assert scheduler.get_last_lr() == [0.1]
    assert opt.param_groups[0]["lr"] == 0.1  # the optimizer's own lr is overwritten


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("case_id", [c[0] for c in CASES])
def test_bridge_gives_the_schedule_and_agrees_with_torch(case_id, kind):
    _, sched, factory, lr, n = BY_ID[case_id]
    opt = make_optimizer(kind, lr=123.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the usual call order raises no warnings
        scheduler = ScheduleLR(opt, sched)
        lrs, _ = drive(opt, scheduler, n)
    np.testing.assert_array_equal(lrs[:, 0], sched(np.arange(n)))
    assert scheduler.get_last_lr() == [sched(n)]
    expected, _ = torch_rates(factory, lr, n, optimizer=kind)
    np.testing.assert_allclose(lrs[:, 0], expected, rtol=1e-9, atol=1e-12 * lr)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("case_id", MOMENTUM_IDS)
def test_momentum_schedule_drives_momentum_or_beta1(case_id, kind):
    _, sched, factory, lr, n = BY_ID[case_id]
    opt = make_optimizer(kind)
    scheduler = ScheduleLR(opt, sched, momentum=sched.momentum)
    _, moms = drive(opt, scheduler, n)
    np.testing.assert_array_equal(moms[:, 0], sched.momentum(np.arange(n)))
    _, expected = torch_rates(factory, lr, n, optimizer=kind)
    np.testing.assert_allclose(moms[:, 0], expected, rtol=1e-12)
    if kind == "adam":
        assert opt.param_groups[0]["betas"][1] == 0.999  # beta2 untouched


def test_one_schedule_per_param_group():
    opt = make_optimizer(groups=3)
    scheds = [S.constant(0.1), S.step(1.0, 5, 0.5), S.cosine(0.2, 10)]
    moms = [None, S.cyclic(0.1, 1.0, 3).momentum, None]
    scheduler = ScheduleLR(opt, scheds, momentum=moms)
    lrs, mom = drive(opt, scheduler, 30)
    for i, sched in enumerate(scheds):
        np.testing.assert_array_equal(lrs[:, i], sched(np.arange(30)))
    np.testing.assert_array_equal(mom[:, 0], 0.9)  # left alone
    np.testing.assert_array_equal(mom[:, 1], moms[1](np.arange(30)))


@pytest.mark.parametrize("case_id", [c[0] for c in CASES])
def test_resume_from_state_dict_gives_the_identical_remaining_sequence(case_id):
    _, sched, _, _, n = BY_ID[case_id]
    momentum = sched.momentum if case_id in MOMENTUM_IDS else None
    rng = np.random.default_rng(zlib.crc32(case_id.encode()))
    k = int(rng.integers(1, n - 1))

    opt = make_optimizer()
    scheduler = ScheduleLR(opt, sched, momentum=momentum)
    full_lrs, full_moms = drive(opt, scheduler, n)

    opt = make_optimizer()
    scheduler = ScheduleLR(opt, sched, momentum=momentum)
    drive(opt, scheduler, k)
    buffer = io.BytesIO()
    torch.save({"scheduler": scheduler.state_dict(), "optimizer": opt.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)  # plain data only

    fresh_opt = make_optimizer(lr=7.0)
    fresh = ScheduleLR(fresh_opt, sched, momentum=momentum)
    fresh_opt.load_state_dict(checkpoint["optimizer"])
    fresh.load_state_dict(checkpoint["scheduler"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rest_lrs, rest_moms = drive(fresh_opt, fresh, n - k)
    np.testing.assert_array_equal(rest_lrs, full_lrs[k:])
    np.testing.assert_array_equal(rest_moms, full_moms[k:])


def test_loading_a_different_schedules_state_is_refused():
    opt = make_optimizer()
    state = ScheduleLR(opt, S.cosine(0.1, 100)).state_dict()
    other = ScheduleLR(make_optimizer(), S.cosine(0.1, 200))
    with pytest.raises(ValueError, match=r"ScheduleLR: state_dict must be saved from the same "
                                         r"schedules \['cosine\(lr=0.1, T_max=200"):
        other.load_state_dict(state)


def test_wrong_call_order_gives_torchs_warning():
    opt = make_optimizer()
    scheduler = ScheduleLR(opt, S.step(0.1, 1, 0.5))
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    assert opt.param_groups[0]["lr"] == 0.05  # the first rate was skipped


BAD = [
    (lambda: ScheduleLR("sgd", S.constant(0.1)),
     "ScheduleLR: optimizer must be a torch.optim.Optimizer, got optimizer='sgd'"),
    (lambda: ScheduleLR(make_optimizer(), lambda t: 0.1),
     "ScheduleLR: schedule must be an lrlib schedule or a list of them"),
    (lambda: ScheduleLR(make_optimizer(groups=2), [S.constant(0.1)]),
     r"ScheduleLR: schedule must be one entry per param group \(2\)"),
    (lambda: ScheduleLR(make_optimizer(), S.constant(0.1), momentum=0.9),
     "ScheduleLR: momentum must be a momentum schedule"),
    (lambda: ScheduleLR(make_optimizer("adagrad"), S.cyclic(0.1, 1.0, 5),
                        momentum=S.cyclic(0.1, 1.0, 5).momentum),
     "ScheduleLR: momentum must be None for an optimizer without momentum or betas"),
    (lambda: ScheduleLR(make_optimizer(), S.constant(0.1), last_epoch=-2),
     "ScheduleLR: last_epoch must be an int >= -1, got last_epoch=-2"),
    (lambda: ScheduleLR(make_optimizer(), S.constant(0.1)).load_state_dict(
        {"last_epoch": -5}), r"ScheduleLR: state_dict\['last_epoch'\] must be a non-negative"),
]


@pytest.mark.parametrize(("make", "message"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_scheduler_values_records_in_torch_order():
    # by hand: StepLR(step_size=2, gamma=0.5) from 1.0 gives 1, 1, .5, .5, .25
    lrs, moms = scheduler_values(
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5), 5, lr=1.0,
        momentum=0.9)
    assert lrs.tolist() == [1.0, 1.0, 0.5, 0.5, 0.25] and moms.tolist() == [0.9] * 5
    opt = make_optimizer("adam", lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    lrs, betas = scheduler_values(sched, 10)   # a scheduler instance, with Adam's beta1
    np.testing.assert_array_equal(lrs, S.one_cycle(0.1, 10)(np.arange(10)))
    np.testing.assert_array_equal(betas, S.one_cycle(0.1, 10).momentum(np.arange(10)))
    adagrad = make_optimizer("adagrad")
    _, none = scheduler_values(torch.optim.lr_scheduler.ConstantLR(adagrad, 1.0, 0), 3)
    assert np.isnan(none).all()
    with pytest.raises(ValueError, match="scheduler_values: scheduler must be a scheduler "
                                         "whose step"):
        scheduler_values(torch.optim.lr_scheduler.ReduceLROnPlateau(make_optimizer()), 3)
    with pytest.raises(ValueError, match="scheduler_values: scheduler must be a torch "
                                         "LRScheduler or a factory"):
        scheduler_values(3, 3)
    with pytest.raises(ValueError, match="scheduler_values: num_steps must be a non-neg"):
        scheduler_values(lambda o: torch.optim.lr_scheduler.ConstantLR(o), -1)
    with pytest.raises(ValueError, match="scheduler_values: scheduler must be a factory "
                                         "that returns"):
        scheduler_values(lambda o: None, 3)
