"""The committed full grid (bench/results/grid.json) is not stale.

bench/bench_grid.py writes the file that chapter 8 shows. These tests check that it
was made with the protocol lrlib.compare defines today, that every number derived
from a run's curve (final accuracy, epochs to the target, the drop columns) agrees
with that curve, and they re-run a fixed sample of every kind of run the file holds:
one whole rate sweep (its choice, its curve and its drops), the reported seeds of two
configurations, a sensitivity run, a control run and three baselines. A re-run must
agree with the file within the spread over seeds (at least one point of accuracy), so
a change to lrlib, torch or the protocol that moves the results makes a test fail
until the bench is re-run. On the machine that wrote the file the runs are identical.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lrlib import compare as C

RESULTS = C.load_results()
FLOOR = 0.01  # one point of accuracy: ten test examples
STALE = "re-run .venv/bin/python bench/bench_grid.py"


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the bench: the same numbers on the same machine
    yield
    torch.set_num_threads(threads)


def tolerance(values) -> float:
    """Twice the spread over seeds of the stored values, at least one point."""
    return max(2 * float(np.std(values)), FLOOR)


def agree(fresh: float, stored: float, tol: float, what: str) -> None:
    assert abs(fresh - stored) <= tol, (
        f"{what}: {fresh:.4f} now, {stored:.4f} in bench/results/grid.json "
        f"(tolerance {tol:.4f}); {STALE}")


def every_cell():
    """Every training run of the grid: sweeps, reported seeds, sensitivity, controls."""
    for config in RESULTS["configs"]:
        yield from (*config["sweep"]["cells"], *config["runs"],
                    *config["sensitivity"]["cells"])
    for control in RESULTS["controls"]:
        yield from control["runs"]


# --- the file itself --------------------------------------------------------------------


def test_file_was_made_with_this_protocol():
    assert RESULTS["protocol"] == json.loads(json.dumps(C.PROTOCOL)), (
        f"lrlib.compare.PROTOCOL changed since bench/results/grid.json was written: {STALE}")
    assert C.protocol_matches(RESULTS)


def test_file_is_complete():
    keys = [(c["model"], c["optimizer"], c["method"]) for c in RESULTS["configs"]]
    assert keys == [(m, o, s) for m in C.MODELS for o in C.OPTIMIZERS for s in C.METHODS]
    sens = C.PROTOCOL["sensitivity"]
    for config in RESULTS["configs"]:
        assert [r["seed"] for r in config["runs"]] == C.PROTOCOL["seeds"]
        assert all(r["lr"] == config["chosen_lr"] for r in config["runs"])
        sweep = config["sweep"]["cells"]
        rates = [c["lr"] for c in sweep]
        assert rates == sorted(rates) and len(sweep) >= len(C.PROTOCOL["sweep"]["start"])
        assert {c["seed"] for c in sweep} == {C.PROTOCOL["sweep"]["seed"]}
        assert config["chosen_lr"] == C.choose_rate(rates, [c["final_val_acc"] for c in sweep])
        assert C.next_sweep_rate(rates, [c["final_val_acc"] for c in sweep]) is None
        assert config["sensitivity"]["seed"] == sens["seed"]
        assert [(c["lr"], c["seed"]) for c in config["sensitivity"]["cells"]] == [
            (config["chosen_lr"] * f, sens["seed"]) for f in sens["factors"]]
    assert [(c["model"], c["optimizer"], c["method"], c["lr"]) for c in RESULTS["controls"]] \
        == [(c["model"], c["optimizer"], m, lr) for c in C.PROTOCOL["controls"]
            for m in c["methods"] for lr in c["lrs"]]
    for control in RESULTS["controls"]:
        assert [(r["lr"], r["seed"]) for r in control["runs"]] == [
            (control["lr"], s) for s in C.PROTOCOL["seeds"]]
    cfg = C.PROTOCOL["baselines"]
    assert [(b["model"], b["lr"], b["seed"]) for b in RESULTS["baselines"]] == [
        (m, lr, s) for m in C.BASELINE_MODELS for lr in cfg["lrs"] for s in cfg["seeds"]]
    assert RESULTS["wall_time"] > 0 and RESULTS["versions"]["torch"]


def test_every_derived_number_agrees_with_its_curve():
    targets = C.PROTOCOL["targets"]
    for cell in every_cell():
        assert len(cell["test_acc"]) == len(cell["val_acc"]) == C.PROTOCOL["epochs"]
        assert cell["final_test_acc"] == cell["test_acc"][-1]
        assert cell["final_val_acc"] == cell["val_acc"][-1]
        assert cell["epochs_to_target"] == C.epochs_to_target(cell["test_acc"],
                                                               targets[cell["model"]])
    for config in RESULTS["configs"]:
        row = C.config_summary(config)
        test = {c["lr"]: c["final_test_acc"] for c in config["sweep"]["cells"]}
        chosen = config["chosen_lr"]
        for key, factor in (("drop_half", 0.5), ("drop_double", 2.0)):
            near = chosen * factor
            sweep_drop = config["sweep"][key]
            assert (sweep_drop is None) == (near not in test)
            if sweep_drop is not None:
                assert math.isclose(sweep_drop, test[chosen] - test[near], abs_tol=1e-12)
            cell = next(c for c in config["sensitivity"]["cells"] if c["lr"] == near)
            seed_run = config["runs"][C.PROTOCOL["seeds"].index(cell["seed"])]
            assert math.isclose(row[key], seed_run["final_test_acc"] - cell["final_test_acc"],
                                abs_tol=1e-12)
    for run in RESULTS["baselines"]:
        assert run["final_test_acc"] == run["test_acc"][-1]
        assert run["best_test_acc"] == max(run["test_acc"])


def test_runs_made_twice_in_the_file_are_identical():
    """A control at a configuration's chosen rate repeats that configuration's runs."""
    repeated = 0
    for control in RESULTS["controls"]:
        config = C.find_config(RESULTS, control["model"], control["optimizer"],
                               control["method"])
        if config["chosen_lr"] == control["lr"]:
            repeated += 1
            assert [r["test_acc"] for r in control["runs"]] == \
                   [r["test_acc"] for r in config["runs"]]
    assert repeated >= 1


# --- re-runs of a fixed sample ----------------------------------------------------------


def test_a_whole_sweep_reproduces():
    """The MLP + SGD cosine sweep: 4 MLP runs, its choice, its curve and its drops."""
    config = C.find_config(RESULTS, "mlp", "sgd", "cosine")
    stored = config["sweep"]
    tol = tolerance([r["final_test_acc"] for r in config["runs"]])
    fresh = C.sweep("mlp", "sgd", "cosine")
    assert fresh["chosen_lr"] == stored["chosen_lr"], (
        f"the sweep now chooses {fresh['chosen_lr']}, the file {stored['chosen_lr']}; {STALE}")
    assert [c["lr"] for c in fresh["cells"]] == [c["lr"] for c in stored["cells"]]
    for new, old in zip(fresh["cells"], stored["cells"], strict=True):
        for key in ("final_val_acc", "final_test_acc"):
            agree(new[key], old[key], tol, f"sweep cell lr={old['lr']} {key}")
        never = C.PROTOCOL["epochs"] + 1                    # None: not within the budget
        assert abs((new["epochs_to_target"] or never) - (old["epochs_to_target"] or never)) <= 2
    for key in ("drop_half", "drop_double"):
        agree(fresh[key], stored[key], 2 * tol, f"sweep {key}")


SAMPLE = [("mlp", "adamw", "plateau"), ("cnn", "sgd", "one_cycle")]


@pytest.mark.parametrize("key", SAMPLE, ids=["/".join(k) for k in SAMPLE])
def test_reported_seeds_reproduce_within_the_spread(key):
    """Every reported seed of a stateful method (plateau) and of momentum cycling."""
    config = C.find_config(RESULTS, *key)
    cells = [C.run_cell(*key, config["chosen_lr"], seed) for seed in C.PROTOCOL["seeds"]]
    stored = [r["final_test_acc"] for r in config["runs"]]
    agree(np.mean([c["final_test_acc"] for c in cells]), np.mean(stored), tolerance(stored),
          f"{'/'.join(key)} at lr={config['chosen_lr']}: mean final test accuracy")
    old = [r["epochs_to_target"] for r in config["runs"]]
    new = [c["epochs_to_target"] for c in cells]
    if None not in old and None not in new:
        assert abs(np.mean(new) - np.mean(old)) <= max(2 * np.std(old), 1.0), (
            f"{'/'.join(key)}: epochs to the target {new} now, {old} in the file; {STALE}")


def test_a_sensitivity_run_reproduces():
    """The fresh seed at twice the chosen rate, MLP + SGD cosine (one MLP run)."""
    config = C.find_config(RESULTS, "mlp", "sgd", "cosine")
    cell = config["sensitivity"]["cells"][C.PROTOCOL["sensitivity"]["factors"].index(2.0)]
    fresh = C.run_cell("mlp", "sgd", "cosine", cell["lr"], cell["seed"])
    agree(fresh["final_test_acc"], cell["final_test_acc"],
          tolerance([r["final_test_acc"] for r in config["runs"]]),
          f"sensitivity run lr={cell['lr']} seed {cell['seed']}")


def test_a_control_run_reproduces():
    """Cosine for the CNN with AdamW at the largest control rate, one seed (one CNN run)."""
    control = RESULTS["controls"][C.PROTOCOL["controls"][0]["lrs"].index(0.032)]
    assert (control["method"], control["lr"]) == ("cosine", 0.032)
    cell = control["runs"][0]
    fresh = C.run_cell(control["model"], control["optimizer"], "cosine", 0.032, cell["seed"])
    agree(fresh["final_test_acc"], cell["final_test_acc"],
          tolerance([r["final_test_acc"] for r in control["runs"]]),
          f"control cosine lr=0.032 seed {cell['seed']}")


def test_baseline_sample_reproduces_within_the_spread():
    """All logistic-regression seeds at 1e-2, and one seed of the MLP and of the CNN."""
    cfg = C.PROTOCOL["baselines"]
    stored = {(b["model"], b["lr"], b["seed"]): b["final_test_acc"]
              for b in RESULTS["baselines"]}
    lr = [stored["logistic_regression", 0.01, s] for s in cfg["seeds"]]
    fresh = [C.run_baseline("logistic_regression", 0.01, s)["final_test_acc"]
             for s in cfg["seeds"]]
    agree(np.mean(fresh), np.mean(lr), tolerance(lr), "logistic regression baseline, mean")
    for model in ("mlp", "cnn"):
        seeds = [stored[model, 0.01, s] for s in cfg["seeds"]]
        seed = cfg["seeds"][0]
        agree(C.run_baseline(model, 0.01, seed)["final_test_acc"], stored[model, 0.01, seed],
              tolerance(seeds), f"{model} baseline at 1e-2, seed {seed}")
