"""Run chapter 8's full comparison grid and write bench/results/grid.json.

Every configuration (2 models x 2 optimizer families x 10 methods) goes through
``lrlib.compare.run_config``: a bracket sweep of the rate (seed 0, scored on the
validation split), then the protocol's seeds (1, 2, 3) at the chosen rate, and the
sensitivity seed at half and at twice that rate. The controls of the protocol
(``lrlib.compare.run_control``: methods at fixed rates, every seed) and the three
published baselines (``lrlib.compare.run_baseline``, both baseline rates, every seed)
run too. The file stores the protocol (``lrlib.compare.PROTOCOL``), the versions of
lrlib, torch, numpy and mnist1d, the wall time of the whole run, and every run's
metrics, so the chapter shows the table without re-running it and
``tests/test_grid_results.py`` can check that it is not stale.

Run (from the repository root)::

    .venv/bin/python bench/bench_grid.py              # 2 processes: 10-25 minutes
    .venv/bin/python bench/bench_grid.py --jobs 1     # one process
    .venv/bin/python bench/bench_grid.py --resume     # continue an interrupted run

The committed file took 22.7 minutes with 2 processes on a 2-core machine shared
with other jobs; the time grows with the load. Each process trains with one thread,
so the numbers do not depend on ``--jobs``: every run is seeded, and the same machine
gives the same file. Finished
configurations are kept in ``bench/results/.grid-partial.json`` (deleted at the end),
which ``--resume`` reads, provided it was written with the same protocol.

Chapter 8 asserts what it says about the table, so after a re-run that moves the
numbers (another machine, another torch), re-execute chapters/08_choosing.ipynb: a
failing assert names a sentence whose verdict no longer holds.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lrlib import compare as C  # noqa: E402

PARTIAL = C.RESULTS_PATH.parent / ".grid-partial.json"


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _config_job(key: tuple[str, str, str], verbose: bool) -> tuple[str, tuple, dict, float]:
    start = time.perf_counter()
    progress = (lambda line: print("   ", line, flush=True)) if verbose else None
    result = C.run_config(*key, progress=progress)
    return "config", key, result, time.perf_counter() - start


def _control_job(key: tuple[str, str, str, float], verbose: bool
                 ) -> tuple[str, tuple, dict, float]:
    start = time.perf_counter()
    progress = (lambda line: print("   ", line, flush=True)) if verbose else None
    result = C.run_control(*key, progress=progress)
    return "control", key, result, time.perf_counter() - start


def _control_keys() -> list[tuple[str, str, str, float]]:
    return [(c["model"], c["optimizer"], m, lr) for c in C.PROTOCOL["controls"]
            for m in c["methods"] for lr in c["lrs"]]


def _baseline_job(key: tuple[str, float, int], verbose: bool
                  ) -> tuple[str, tuple, dict, float]:
    start = time.perf_counter()
    result = C.run_baseline(*key)
    return "baseline", key, result, time.perf_counter() - start


def _jobs() -> list[tuple[str, tuple]]:
    """Every job, most expensive first (the CNN configurations), for a short tail."""
    configs = [("config", (m, o, s)) for m in ("cnn", "mlp") for o in C.OPTIMIZERS
               for s in C.METHODS]
    controls = [("control", key) for key in _control_keys()]
    cfg = C.PROTOCOL["baselines"]
    baselines = [("baseline", (m, lr, seed)) for m in ("cnn", "mlp", "logistic_regression")
                 for lr in cfg["lrs"] for seed in cfg["seeds"]]
    return configs[:20] + baselines[:6] + controls + configs[20:] + baselines[6:]


def _load_partial() -> dict:
    if not PARTIAL.exists():
        return {}
    saved = json.loads(PARTIAL.read_text())
    if not C.protocol_matches(saved):
        print("partial results were made with another protocol: starting afresh")
        return {}
    return saved


def _save_partial(done: dict) -> None:
    PARTIAL.parent.mkdir(parents=True, exist_ok=True)
    PARTIAL.write_text(json.dumps({"protocol": C.PROTOCOL, **done}))


def _compact(text: str) -> str:
    """Put every list of numbers (or nulls) of the indented JSON on one line."""
    number = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|null"
    pattern = re.compile(r"\[\s*((?:" + number + r")(?:,\s*(?:" + number + r"))*)\s*\]")
    return pattern.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)


def main(jobs: int, resume: bool, verbose: bool) -> int:
    start = time.perf_counter()
    done = _load_partial() if resume else {}
    configs: dict[str, dict] = done.get("configs", {})
    controls: dict[str, dict] = done.get("controls", {})
    baselines: dict[str, dict] = done.get("baselines", {})
    store = {"config": configs, "control": controls, "baseline": baselines}
    elapsed_before = done.get("elapsed", 0.0)
    todo = [(kind, key) for kind, key in _jobs() if "/".join(map(str, key)) not in store[kind]]
    print(f"{len(todo)} jobs to run ({len(configs)} configurations, {len(controls)} controls "
          f"and {len(baselines)} baseline runs already done), {jobs} process(es)", flush=True)
    job = {"config": _config_job, "control": _control_job, "baseline": _baseline_job}
    C.protocol_data()  # build (or read) the MNIST-1D cache before the workers start
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker) as pool:
        futures = [pool.submit(job[kind], key, verbose) for kind, key in todo]
        for future in as_completed(futures):
            kind, key, result, seconds = future.result()
            name = "/".join(map(str, key))
            store[kind][name] = result
            if kind == "config":
                row = C.config_summary(result)
                print(f"[{len(configs):2d}/40] {name:28s} lr={row['lr']:<8.4g} "
                      f"acc={row['acc_mean']:.3f}±{row['acc_std']:.3f} "
                      f"({row['sweep_runs']} sweep runs, {seconds:.0f} s)", flush=True)
            elif kind == "control":
                acc = [r["final_test_acc"] for r in result["runs"]]
                print(f"control {name:28s} acc={sum(acc) / len(acc):.3f} ({seconds:.0f} s)",
                      flush=True)
            else:
                print(f"baseline {name:24s} acc={result['final_test_acc']:.3f} "
                      f"({seconds:.0f} s)", flush=True)
            _save_partial({"configs": configs, "controls": controls, "baselines": baselines,
                           "elapsed": elapsed_before + time.perf_counter() - start})
    wall = elapsed_before + time.perf_counter() - start
    ordered = [configs[f"{m}/{o}/{s}"] for m in C.MODELS for o in C.OPTIMIZERS
               for s in C.METHODS]
    out = {
        "protocol": C.PROTOCOL,
        "versions": {"lrlib": version("lrlib"), "torch": version("torch"),
                     "numpy": version("numpy"), "mnist1d": version("mnist1d"),
                     "python": platform.python_version()},
        "machine": {"architecture": platform.machine(), "threads_per_run": 1, "jobs": jobs},
        "wall_time": round(wall, 1),
        "baselines": [baselines[f"{m}/{lr}/{seed}"] for m in C.BASELINE_MODELS
                      for lr in C.PROTOCOL["baselines"]["lrs"]
                      for seed in C.PROTOCOL["baselines"]["seeds"]],
        "configs": ordered,
        "controls": [controls["/".join(map(str, key))] for key in _control_keys()],
    }
    C.RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    C.RESULTS_PATH.write_text(_compact(json.dumps(out, indent=1)) + "\n")
    PARTIAL.unlink(missing_ok=True)
    print(f"wrote {C.RESULTS_PATH.relative_to(ROOT)} in {wall / 60:.1f} minutes")
    print("now re-execute chapters/08_choosing.ipynb (and run tests/test_grid_results.py): "
          "its asserts say which sentences of the chapter the new numbers still back")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the configurations of an interrupted run")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every run")
    args = parser.parse_args()
    sys.exit(main(args.jobs, args.resume, args.verbose))
