"""The committed full grid (bench/results/grid.json) is not stale.

bench/bench_grid.py writes the file that chapter 8 shows. These tests check that it
was made with the protocol lrlib.compare defines today, and re-run a sample of its
configurations (every seed at the chosen rate) and of its baselines through
lrlib.compare: each mean final test accuracy must agree with the file within the
spread over seeds, so a change to lrlib, torch or the protocol that moves the results
makes the test fail until the bench is re-run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lrlib import compare as C

RESULTS = C.load_results()

# A fixed sample: both models, both optimizer families, a stateful method (plateau),
# momentum cycling (one-cycle) and a plain annealing schedule.
SAMPLE = [("mlp", "sgd", "cosine"), ("mlp", "adamw", "plateau"), ("cnn", "sgd", "one_cycle")]
FLOOR = 0.01  # one point of accuracy: ten test examples


def test_file_was_made_with_this_protocol():
    assert RESULTS["protocol"] == json.loads(json.dumps(C.PROTOCOL)), (
        "lrlib.compare.PROTOCOL changed since bench/results/grid.json was written: "
        "re-run .venv/bin/python bench/bench_grid.py")
    assert C.protocol_matches(RESULTS)


def test_file_is_complete():
    keys = [(c["model"], c["optimizer"], c["method"]) for c in RESULTS["configs"]]
    assert keys == [(m, o, s) for m in C.MODELS for o in C.OPTIMIZERS for s in C.METHODS]
    for config in RESULTS["configs"]:
        assert [r["seed"] for r in config["runs"]] == C.PROTOCOL["seeds"]
        assert all(r["lr"] == config["chosen_lr"] for r in config["runs"])
        assert all(r["epochs"] == C.PROTOCOL["epochs"] for r in config["runs"])
        sweep = config["sweep"]["cells"]
        rates = [c["lr"] for c in sweep]
        assert rates == sorted(rates) and len(sweep) >= len(C.PROTOCOL["sweep"]["start"])
        assert config["chosen_lr"] == C.choose_rate(rates, [c["final_val_acc"] for c in sweep])
        assert C.next_sweep_rate(rates, [c["final_val_acc"] for c in sweep]) is None
    cfg = C.PROTOCOL["baselines"]
    assert [(b["model"], b["lr"], b["seed"]) for b in RESULTS["baselines"]] == [
        (m, lr, s) for m in C.BASELINE_MODELS for lr in cfg["lrs"] for s in cfg["seeds"]]
    assert RESULTS["wall_time"] > 0 and RESULTS["versions"]["torch"]


@pytest.mark.parametrize("key", SAMPLE, ids=["/".join(k) for k in SAMPLE])
def test_sample_reproduces_within_the_spread(key):
    config = C.find_config(RESULTS, *key)
    stored = np.array([r["final_test_acc"] for r in config["runs"]])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the bench: the same numbers on the same machine
    try:
        fresh = np.array([C.run_cell(*key, config["chosen_lr"], seed)["final_test_acc"]
                          for seed in C.PROTOCOL["seeds"]])
    finally:
        torch.set_num_threads(threads)
    tol = max(2 * stored.std(), FLOOR)
    assert abs(fresh.mean() - stored.mean()) <= tol, (
        f"{'/'.join(key)} at lr={config['chosen_lr']}: mean final test accuracy "
        f"{fresh.mean():.4f} now, {stored.mean():.4f} in bench/results/grid.json "
        f"(tolerance {tol:.4f}); re-run .venv/bin/python bench/bench_grid.py")


def test_baseline_sample_reproduces_within_the_spread():
    cfg = C.PROTOCOL["baselines"]
    stored = np.array([b["final_test_acc"] for b in RESULTS["baselines"]
                       if (b["model"], b["lr"]) == ("logistic_regression", 0.01)])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fresh = np.array([C.run_baseline("logistic_regression", 0.01, seed)["final_test_acc"]
                          for seed in cfg["seeds"]])
    finally:
        torch.set_num_threads(threads)
    tol = max(2 * stored.std(), FLOOR)
    assert len(stored) == len(cfg["seeds"]) and abs(fresh.mean() - stored.mean()) <= tol, (
        f"logistic regression baseline: {fresh.mean():.4f} now, {stored.mean():.4f} in the "
        "file; re-run .venv/bin/python bench/bench_grid.py")
