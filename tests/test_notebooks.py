"""Chapter notebooks are committed clean and all of them are in the book."""

from __future__ import annotations

import json
import re
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


# --- the chapter contract, mechanically (CONTRIBUTING.md) ----------------------------

GLOBAL_RNG = re.compile(r"np\.random\.(?!default_rng\b|Generator\b)[a-z_]+\(")


def chapters() -> dict[str, list[dict]]:
    """Chapter id (file stem or folder name under chapters/) -> its notebooks."""
    out: dict[str, list[dict]] = {}
    for path in NOTEBOOKS:
        key = path.relative_to(ROOT / "chapters").parts[0].removesuffix(".ipynb")
        out.setdefault(key, []).append(json.loads(path.read_text()))
    return out


CHAPTERS = chapters()


def cells(nbs, kind=None):
    return [c for nb in nbs for c in nb["cells"] if kind is None or c["cell_type"] == kind]


def source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_chapter_opens_with_goals_and_seeds(chapter):
    for nb in CHAPTERS[chapter]:
        first = source(nb["cells"][0])
        assert nb["cells"][0]["cell_type"] == "markdown" and first.startswith("# ")
        assert "Learning goals" in first and "Prerequisites" in first
        code = [source(c) for c in nb["cells"] if c["cell_type"] == "code"]
        assert "default_rng(" in code[0] or "manual_seed(" in code[0], "seeds first"
        if "import torch" in code[0]:
            assert "torch.manual_seed(" in code[0] and "set_num_threads(1)" in code[0]
        for text in code:
            assert not GLOBAL_RNG.search(text), f"global numpy RNG used: {text[:80]!r}"
        assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_chapter_has_summary_exercises_and_references(chapter):
    text = "\n".join(source(c) for c in cells(CHAPTERS[chapter], "markdown"))
    for heading in ("## Summary", "## Exercises", "## References"):
        assert re.search(rf"^{heading}\b", text, re.M), f"missing {heading}"
    assert "{footbibliography}" in text
    assert "### Theory" in text and "### Worked example" in text and "### Code" in text


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_chapter_exercises_are_wired_to_checks(chapter):
    nbs = CHAPTERS[chapter]
    statements = [source(c) for c in cells(nbs, "markdown")
                  if re.match(r"### Exercise \d+\.\d+", source(c))]
    kinds = " ".join(statements)
    for kind in ("(by hand", "(implement", "(experiment"):
        assert kind in kinds, f"no exercise {kind})"
    answers = [c for c in cells(nbs, "code") if nbgrader(c).get("solution")]
    checks = [c for c in cells(nbs, "code") if nbgrader(c).get("grade")]
    assert len(checks) >= 3 and len(answers) >= 3
    for cell in answers:
        text = source(cell)
        assert "### BEGIN SOLUTION" in text and "### END SOLUTION" in text
        assert "hide-input" in cell["metadata"].get("tags", [])
    for cell in checks:
        assert "checks." in source(cell) and nbgrader(cell).get("points", 0) > 0
        assert not nbgrader(cell).get("solution")
    ids = [nbgrader(c)["grade_id"] for c in answers + checks]
    assert len(ids) == len(set(ids)), "grade_id values must be unique"
    for cell in cells(nbs, "markdown"):
        if "solution" in cell["metadata"].get("tags", []) or nbgrader(cell).get("solution"):
            # nbgrader requires a markdown solution cell to be a grade cell too
            meta = nbgrader(cell)
            assert meta.get("solution") and meta.get("grade") and meta.get("points") == 0, \
                f"worked solution needs nbgrader solution+grade metadata, 0 points: {meta}"
            assert "solution" in cell["metadata"].get("tags", [])
