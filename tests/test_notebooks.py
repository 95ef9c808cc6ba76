"""Chapter notebooks are committed clean and all of them are in the book."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def dirty_cells(nb: dict) -> list[int]:
    """Indices of code cells that carry outputs or an execution count."""
    return [i for i, cell in enumerate(nb.get("cells", []))
            if cell.get("cell_type") == "code"
            and (cell.get("outputs") or cell.get("execution_count") is not None)]


def toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.add(str(Path(node["file"]).with_suffix("")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def test_dirty_cells_detects_outputs_and_counts():
    clean = {"cells": [{"cell_type": "code", "outputs": [], "execution_count": None},
                       {"cell_type": "markdown", "source": "x"}]}
    assert dirty_cells(clean) == []
    with_output = {"cells": [{"cell_type": "code", "execution_count": None,
                              "outputs": [{"output_type": "stream", "text": "1"}]}]}
    assert dirty_cells(with_output) == [0]
    with_count = {"cells": [{"cell_type": "code", "outputs": [], "execution_count": 3}]}
    assert dirty_cells(with_count) == [0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    assert dirty_cells(nb) == [], (
        f"{path.relative_to(ROOT)} carries outputs in cells {dirty_cells(nb)}; clear them "
        "(jupyter nbconvert --clear-output --inplace) before committing")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_in_the_table_of_contents(path):
    rel = str(path.relative_to(ROOT).with_suffix(""))
    assert rel in toc_files(), f"{rel} is not listed in _toc.yml, so the book skips it"
