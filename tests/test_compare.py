"""Tests for lrlib.compare: the protocol of chapter 8's head-to-head comparison."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lrlib import compare as C
from lrlib.torch_bridge import ScheduleLR

T = 825  # the protocol's horizon: 15 epochs of ceil(3500 / 64) = 55 updates


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- the protocol ---------------------------------------------------------------------


def test_protocol_is_json_and_names_every_method():
    assert json.loads(json.dumps(C.PROTOCOL)) == C.PROTOCOL
    assert C.PROTOCOL["methods"] == list(C.METHODS) and len(C.METHODS) == 10
    assert set(C.PROTOCOL["method_settings"]) == set(C.METHODS) == set(C.METHOD_LABELS)
    assert set(C.PROTOCOL["optimizers"]) == set(C.OPTIMIZERS)
    assert C.PROTOCOL["sweep"]["seed"] not in C.PROTOCOL["seeds"]   # report fresh seeds
    assert len(C.PROTOCOL["seeds"]) >= 3
    assert C.PROTOCOL["sensitivity"]["seed"] in C.PROTOCOL["seeds"]
    assert sorted(C.PROTOCOL["sensitivity"]["factors"]) == [0.5, 2.0]
    for control in C.PROTOCOL["controls"]:
        assert control["model"] in C.MODELS and control["optimizer"] in C.OPTIMIZERS
        assert set(control["methods"]) <= set(C.METHODS) and control["lrs"]


def test_targets_are_ninety_percent_of_the_published_accuracies():
    frac = C.PROTOCOL["target_fraction"]
    for model in C.MODELS:
        assert math.isclose(C.PROTOCOL["targets"][model], frac * C.PUBLISHED[model],
                            abs_tol=5e-4)


def test_protocol_data_and_horizon():
    data = C.protocol_data()
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (3500, 500, 1000)
    full = C.protocol_data(validation=False)
    assert len(full.y_train) == 4000 and not full.has_validation
    assert C.total_steps() == T == 15 * 55
    assert C.total_steps(epochs=2) == 110


def test_protocol_matches_detects_a_change():
    results = {"protocol": json.loads(json.dumps(C.PROTOCOL))}
    assert C.protocol_matches(results)
    results["protocol"]["epochs"] += 1
    assert not C.protocol_matches(results)
    assert not C.protocol_matches({})


# --- schedules tied to the horizon -------------------------------------------------------


@pytest.mark.parametrize("method", [m for m in C.METHODS if m != "plateau"])
def test_every_schedule_peaks_at_lr_and_stays_positive(method):
    sched, momentum = C.make_schedule(method, 0.2, T)
    rates = sched(np.arange(T))
    assert np.all(np.isfinite(rates)) and np.all(rates >= 0)
    # one-cycle's peak falls between two steps (pct_start * T - 1 = 246.5)
    assert math.isclose(rates.max(), 0.2, rel_tol=1e-5)
    assert (momentum is not None) == (method in ("cyclic", "one_cycle"))


def test_schedule_shapes_follow_the_horizon():
    t = np.arange(T)
    step, _ = C.make_schedule("step", 1.0, T)
    assert step.step_size == 275
    assert np.allclose(step([274, 275, 549, 550, 824]), [1, 0.1, 0.1, 0.01, 0.01])
    expo, _ = C.make_schedule("exponential", 1.0, T)
    assert math.isclose(expo(T), 0.01, rel_tol=1e-9)
    inv, _ = C.make_schedule("inverse_time", 1.0, T)
    assert math.isclose(inv(T), 0.1, rel_tol=1e-9)
    cos, _ = C.make_schedule("cosine", 1.0, T)
    assert cos(0) == 1.0 and cos(824) < 1e-4
    restarts, _ = C.make_schedule("cosine_restarts", 1.0, T)
    assert restarts.T_0 == 118 and restarts.T_mult == 2       # 118 + 236 + 472 = 826 >= T
    assert restarts(118) == restarts(354) == 1.0 and restarts(824) < 1e-3
    cyc, mom = C.make_schedule("cyclic", 1.0, T)
    assert cyc.step_size_up == 104 and cyc(0) == 0.25 and cyc(104) == 1.0
    assert np.isclose(mom(0), 0.9) and np.isclose(mom(104), 0.8)
    warm, _ = C.make_schedule("warmup_cosine", 1.0, T)
    assert warm(0) == 0.0 and warm(83) == 1.0 and warm(824) < 1e-4   # W = ceil(82.5) = 83
    one, mom = C.make_schedule("one_cycle", 1.0, T)
    assert np.isclose(one(0), 1 / 25) and np.isclose(one(T - 1), 1 / 25 / 1e4)
    assert np.isclose(mom(0), 0.95) and int(np.argmax(one(t))) in (246, 247)


def test_make_schedule_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"compare\.make_schedule: method must be one of"):
        C.make_schedule("plateau", 0.1, T)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        C.make_schedule("cosine", 0.0, T)
    with pytest.raises(ValueError, match="T must be an int >= 10"):
        C.make_schedule("cosine", 0.1, 5)


def test_function_schedule_wraps_a_vectorized_function():
    sched = C.FunctionSchedule(lambda t: 0.1 * 0.5 ** (t // 10))
    assert sched(25) == 0.025 and isinstance(sched(25), float)
    assert np.allclose(sched(np.array([0, 10, 20])), [0.1, 0.05, 0.025])
    w = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([w], lr=1.0)
    ScheduleLR(opt, sched)
    assert opt.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="fn must be a callable"):
        C.FunctionSchedule(3.0)


def test_build_optimizer_settings():
    p = [torch.nn.Parameter(torch.zeros(2))]
    sgd = C.build_optimizer("sgd", p, 0.1)
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["momentum"] == 0.9
    adamw = C.build_optimizer("adamw", p, 0.01)
    assert isinstance(adamw, torch.optim.AdamW)
    assert adamw.param_groups[0]["weight_decay"] == 0.01
    assert type(C.build_optimizer("adam", p, 0.01)) is torch.optim.Adam
    with pytest.raises(ValueError, match="optimizer must be one of"):
        C.build_optimizer("rmsprop", p, 0.01)


# --- the sweep rule -----------------------------------------------------------------


def test_choose_rate_takes_the_best_and_breaks_ties_low():
    assert C.choose_rate([0.05, 0.1, 0.2], [0.5, 0.7, 0.6]) == 0.1
    assert C.choose_rate([0.2, 0.05, 0.1], [0.7, 0.5, 0.7]) == 0.1
    with pytest.raises(ValueError, match="scores must be one finite score per rate"):
        C.choose_rate([0.1, 0.2], [0.5, float("nan")])


def test_next_sweep_rate_brackets_the_best():
    assert C.next_sweep_rate([0.05, 0.1, 0.2], [0.6, 0.5, 0.4]) == 0.025
    assert C.next_sweep_rate([0.05, 0.1, 0.2], [0.4, 0.5, 0.6]) == 0.4
    assert C.next_sweep_rate([0.05, 0.1, 0.2], [0.4, 0.6, 0.5]) is None
    seven = [0.1 * 2.0**k for k in range(-1, 6)]
    assert C.next_sweep_rate(seven, list(range(7))) is None   # max_extra = 4 reached


def _fake_run(best_lr):
    """A run whose validation and test accuracy peak at best_lr, 0.1 per factor 2 away."""
    calls = []

    def run(model, optimizer, method, lr, seed):
        calls.append((lr, seed))
        acc = 0.8 - 0.1 * abs(math.log2(lr / best_lr)) + 0.001 * seed
        return {"model": model, "optimizer": optimizer, "method": method, "lr": lr,
                "seed": seed, "final_val_acc": acc, "final_test_acc": acc,
                "epochs_to_target": 5 + seed, "wall_time": 1.0}

    return run, calls


def test_sweep_extends_upwards_until_the_best_is_inside():
    run, calls = _fake_run(best_lr=0.8)
    found = C.sweep("mlp", "sgd", "cosine", run=run)
    assert [lr for lr, _ in calls] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1.6])
    assert found["chosen_lr"] == pytest.approx(0.8)
    assert found["drop_half"] == pytest.approx(0.1) and found["drop_double"] == pytest.approx(0.1)


def test_sweep_extends_downwards_and_stops_at_max_extra():
    run, calls = _fake_run(best_lr=1e-4)
    found = C.sweep("mlp", "adamw", "fixed", run=run)
    assert len(calls) == 3 + C.PROTOCOL["sweep"]["max_extra"]
    assert found["chosen_lr"] == pytest.approx(0.008 / 2**5)
    assert found["drop_half"] is None and found["drop_double"] is not None


def test_run_config_reports_fresh_seeds_and_measures_the_sensitivity():
    run, calls = _fake_run(best_lr=0.1)
    config = C.run_config("cnn", "sgd", "step", run=run)
    assert calls[:3] == [(0.05, 0), (0.1, 0), (0.2, 0)]           # the sweep: seed 0
    assert calls[3:] == [(0.1, 1), (0.1, 2), (0.1, 3), (0.05, 1), (0.2, 1)]
    assert [c["seed"] for c in config["runs"]] == [1, 2, 3]
    assert [(c["lr"], c["seed"]) for c in config["sensitivity"]["cells"]] == [(0.05, 1),
                                                                              (0.2, 1)]
    row = C.config_summary(config)
    assert row["lr"] == 0.1 and row["sweep_runs"] == 3 and row["reached"] == 3
    assert row["acc_mean"] == pytest.approx(0.802)
    assert row["acc_std"] == pytest.approx(np.std([0.801, 0.802, 0.803]))
    assert row["epochs"] == [6, 7, 8] and row["epochs_to_target"] == 7.0
    assert row["drop_half"] == pytest.approx(0.1) and row["drop_double"] == pytest.approx(0.1)
    assert row["sweep_drop_half"] == pytest.approx(0.1) and row["sweep_acc"] == 0.8


def test_run_config_can_skip_the_sensitivity_runs():
    run, calls = _fake_run(best_lr=0.1)
    config = C.run_config("mlp", "sgd", "cosine", run=run, sensitivity=False)
    assert len(calls) == 6 and config["sensitivity"] is None
    row = C.config_summary(config)
    assert row["drop_half"] is None and row["drop_double"] is None
    assert row["sweep_drop_half"] is not None


def test_run_control_runs_every_reported_seed():
    run, calls = _fake_run(best_lr=0.1)
    control = C.run_control("cnn", "adamw", "cosine", 0.016, run=run)
    assert calls == [(0.016, s) for s in C.PROTOCOL["seeds"]]
    assert control["lr"] == 0.016 and [c["seed"] for c in control["runs"]] == [1, 2, 3]


def test_tie_margin_is_two_standard_errors_of_the_difference():
    a, b = [0.60, 0.62, 0.64], [0.70, 0.70, 0.70]
    assert C.tie_margin(a, b) == pytest.approx(2 * math.sqrt(0.0004 / 3))
    assert C.tie_margin(a, b) == C.tie_margin(b, a)
    assert C.tie_margin(a, b, z=1.0) == pytest.approx(C.tie_margin(a, b) / 2)
    # s^2 / 3 with ddof=1 equals sigma^2 / 2 with the population sigma of the tables
    assert C.tie_margin(a, a) == pytest.approx(2 * math.sqrt(2 * np.std(a) ** 2 / 2))
    with pytest.raises(ValueError, match="a 1-D sequence of >= 2 finite per-seed values"):
        C.tie_margin([0.6], b)
    with pytest.raises(ValueError, match="z must be"):
        C.tie_margin(a, b, z=0)


def test_pooled_std_weights_rows_by_their_degrees_of_freedom():
    a, b = [0.60, 0.62, 0.64], [0.70, 0.70, 0.70]
    assert C.pooled_std([a, b]) == pytest.approx(math.sqrt(0.0004 / 2))
    assert C.pooled_std([a]) == pytest.approx(np.std(a, ddof=1))
    # a row of five counts twice as much as a row of three
    five = [0.5, 0.6, 0.7, 0.6, 0.5]
    want = math.sqrt((4 * np.var(five, ddof=1) + 2 * np.var(a, ddof=1)) / 6)
    assert C.pooled_std([five, a]) == pytest.approx(want)
    # the means do not matter, only the spread around each row's own mean
    assert C.pooled_std([a, [x + 0.3 for x in a]]) == pytest.approx(C.pooled_std([a]))
    for bad in ([], "abc", [[0.6]], [a, [0.6, float("nan")]]):
        with pytest.raises(ValueError, match="rows"):
            C.pooled_std(bad)


def test_rerun_margin_is_three_standard_errors_and_at_least_a_point():
    assert C.RERUN_Z == 3.0
    assert C.rerun_margin(0.02, 3, 3) == pytest.approx(3 * 0.02 * math.sqrt(2 / 3))
    assert C.rerun_margin(0.02, 1, 1) == pytest.approx(3 * 0.02 * math.sqrt(2))
    assert C.rerun_margin(0.02, 1, 3) == C.rerun_margin(0.02, 3, 1)
    assert C.rerun_margin(0.02, 3, 3, z=1.5) == pytest.approx(C.rerun_margin(0.02, 3, 3) / 2)
    assert C.rerun_margin(0.0, 3, 3) == C.rerun_margin(0.001, 1, 1) == 0.01  # the floor
    assert C.rerun_margin(0.5, 3, 3, floor=2.0) == 2.0           # in epochs, say
    assert C.rerun_margin(1.0, 1, 1, floor=1.0) == pytest.approx(3 * math.sqrt(2))
    for kwargs, name in ((dict(sigma=-0.1), "sigma"), (dict(sigma=float("nan")), "sigma"),
                         (dict(n_fresh=0), "n_fresh"), (dict(n_stored=1.5), "n_stored"),
                         (dict(z=0), "z"), (dict(floor=-1.0), "floor")):
        args = dict(sigma=0.02, n_fresh=3, n_stored=3) | kwargs
        with pytest.raises(ValueError, match=name):
            C.rerun_margin(**args)


def test_top_group_ties_each_row_with_the_best():
    rows = {"a": [0.60, 0.62, 0.64], "b": [0.63, 0.64, 0.65], "c": [0.55, 0.56, 0.57],
            "noisy": [0.40, 0.60, 0.80]}
    group = C.top_group(rows)
    assert group == {"a", "b", "noisy"}          # noisy: too spread to tell apart
    assert "c" not in group
    epochs = {"a": [7, 8, 7], "b": [9, 10, 9], "c": [7, 7, 8]}
    assert C.top_group(epochs, higher=False) == {"a", "c"}
    with pytest.raises(ValueError, match="non-empty mapping"):
        C.top_group({})


def test_epochs_to_target():
    assert C.epochs_to_target([0.5, 0.612, 0.6], 0.612) == 2
    assert C.epochs_to_target([0.5, 0.6], 0.612) is None


# --- real runs, one epoch -------------------------------------------------------------


def test_run_cell_records_the_schedule_and_is_deterministic():
    a = C.run_cell("mlp", "sgd", "cosine", 0.1, seed=3, epochs=2)
    b = C.run_cell("mlp", "sgd", "cosine", 0.1, seed=3, epochs=2)
    assert {k: v for k, v in a.items() if k != "wall_time"} == \
           {k: v for k, v in b.items() if k != "wall_time"}
    assert a["epochs"] == 2 and len(a["test_acc"]) == len(a["val_acc"]) == 2
    sched, _ = C.make_schedule("cosine", 0.1, C.total_steps(epochs=2))
    assert np.allclose(a["epoch_lr"], sched(np.array([0, 55])))
    assert a["final_lr"] == pytest.approx(sched(109))
    assert 0.1 < a["final_test_acc"] < 1 and not a["diverged"]


def test_run_cell_plateau_and_a_custom_schedule():
    cell = C.run_cell("mlp", "adamw", "plateau", 0.01, seed=0, epochs=1)
    assert cell["method"] == "plateau" and cell["epoch_lr"] == [0.01]
    custom = C.run_cell("mlp", "sgd", lambda lr, T: (lambda t: lr * (1 - t / T)), 0.1,
                        seed=0, epochs=1)
    assert custom["method"] == "custom"
    assert custom["final_lr"] == pytest.approx(0.1 * (1 - 54 / 55))
    with pytest.raises(ValueError, match="method must be one of fixed"):
        C.run_cell("mlp", "sgd", 3, 0.1, seed=0, epochs=1)


def test_run_baseline_uses_the_full_training_set():
    run = C.run_baseline("logistic_regression", 0.01, seed=0, epochs=1)
    assert run["epochs"] == 1 and run["lr"] == 0.01
    assert run["best_test_acc"] >= run["final_test_acc"] > 0.1


def test_load_and_find_config(tmp_path):
    run, _ = _fake_run(best_lr=0.1)
    config = C.run_config("mlp", "sgd", "cosine", run=run)
    path = tmp_path / "grid.json"
    path.write_text(json.dumps({"protocol": C.PROTOCOL, "configs": [config]}))
    results = C.load_results(path)
    assert C.protocol_matches(results)
    assert C.find_config(results, "mlp", "sgd", "cosine")["chosen_lr"] == 0.1
    with pytest.raises(ValueError, match="a configuration present in the results"):
        C.find_config(results, "cnn", "sgd", "cosine")
