"""How long does each chapter notebook take to execute? (The contract: <= 40 s each.)

Executes every notebook in ``chapters/`` in a fresh kernel, as the book build does, and
prints its wall time. Next to it, it prints the time of a fixed reference workload (a
numpy and torch computation of about a second) measured in this same process, and the
ratio of the two, so that a slow machine can be told from a slow chapter.

Run: ``make bench-chapters`` or ``.venv/bin/python bench/bench_chapters.py [paths]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import torch
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def reference_workload() -> float:
    """Seconds for a fixed mix of numpy and small-torch work (one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        rng = np.random.default_rng(0)
        a = rng.normal(size=(300, 300))
        for _ in range(60):
            a = np.tanh(a @ a / 300)
        model = torch.nn.Sequential(torch.nn.Linear(40, 100), torch.nn.ReLU(),
                                    torch.nn.Linear(100, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x, y = torch.randn(64, 40), torch.randint(0, 10, (64,))
        for _ in range(1500):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)


def run_notebook(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(paths: list[Path], timeout: int) -> int:
    reference = min(reference_workload() for _ in range(3))
    print(f"reference workload: {reference:.2f} s (in this process)")
    print(f"{'notebook':40s} {'seconds':>8s} {'x reference':>12s}  (budget: 40 s, about "
          f"{40 / 0.63:.0f}x the reference on a quiet 2-core machine)")
    over = 0
    for path in paths:
        seconds = run_notebook(path, timeout)
        flag = "" if seconds <= 40 else "  OVER"
        over += seconds > 40
        print(f"{path.relative_to(ROOT)!s:40s} {seconds:8.1f} {seconds / reference:12.1f}{flag}")
    return 1 if over else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args()
    found = args.paths or sorted(p for p in (ROOT / "chapters").rglob("*.ipynb")
                                 if ".ipynb_checkpoints" not in p.parts)
    sys.exit(main([p.resolve() for p in found], args.timeout))
