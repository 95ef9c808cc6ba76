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


# --- figures, cross-references and glossary terms (the HTML book's contract) --------

# A code cell draws a figure when it calls plt.show(), creates one with plt.subplots or
# plt.figure, or calls one of lrlib's plot helpers (which create a figure without ax=).
FIGURE_CALL = re.compile(r"\bplt\.(?:show|subplots|figure)\("
                         r"|\bplot_(?:schedule|history|trajectories|range_test)\(")
NEW_FIGURE = re.compile(r"\bplt\.(?:subplots|figure)\(")
FIGURE_NAME = re.compile(r"fig-ch(\d\d)-[a-z0-9]+(?:-[a-z0-9]+)*")
ROLE = re.compile(r"\{(term|numref|ref)\}`([^`]+)`")
MD_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
GLOSSARY = ROOT / "docs" / "glossary.md"
MD_PAGES = sorted([ROOT / "intro.md", *(ROOT / "docs").glob("*.md")])


def draws_figure(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(FIGURE_CALL.search(source(cell)))


def figure_options(cell) -> dict:
    return cell.get("metadata", {}).get("mystnb", {}).get("figure", {}) or {}


def figure_problems(nbs: list[dict], chapter_number: int) -> list[str]:
    """What is wrong with the figure metadata of one chapter's notebooks."""
    problems = []
    for k, nb in enumerate(nbs):
        for i, cell in enumerate(nb["cells"]):
            if cell.get("cell_type") != "code":
                continue
            where = f"notebook {k}, cell {i}"
            options, text = figure_options(cell), source(cell)
            if draws_figure(cell) and not options:
                problems.append(f"{where} draws a figure but has no mystnb.figure metadata "
                                "(caption and name)")
            if options and not draws_figure(cell):
                problems.append(f"{where} has mystnb.figure metadata but draws no figure")
            if not options:
                continue
            if not str(options.get("caption", "")).strip():
                problems.append(f"{where}: the figure caption is empty")
            name = str(options.get("name", ""))
            match = FIGURE_NAME.fullmatch(name)
            if not match or int(match.group(1)) != chapter_number:
                problems.append(f"{where}: figure name {name!r} is not "
                                f"fig-ch{chapter_number:02d}-<slug>")
            if text.count("plt.show()") > 1 or len(NEW_FIGURE.findall(text)) > 1:
                problems.append(f"{where} draws more than one figure: one caption cannot "
                                "name them all; split the cell")
    return problems


def figure_names(nbs) -> list[str]:
    return [str(figure_options(c).get("name", "")) for nb in nbs for c in nb["cells"]
            if figure_options(c)]


def glossary_terms() -> set[str]:
    """Terms defined in docs/glossary.md (lower case, as Sphinx looks them up)."""
    text = GLOSSARY.read_text()
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.S)
    assert block, "docs/glossary.md has no glossary directive"
    return {line.strip().lower() for line in block.group(1).splitlines()
            if line.strip() and not line[0].isspace()}


def role_target(content: str) -> str:
    explicit = re.search(r"<([^<>]+)>\s*$", content)
    return (explicit.group(1) if explicit else content).strip()


def book_markdown() -> list[tuple[Path, str]]:
    """(file, markdown text) of every notebook's markdown cells and every .md page."""
    out = [(path, "\n".join(source(c) for c in json.loads(path.read_text())["cells"]
                            if c["cell_type"] == "markdown")) for path in NOTEBOOKS]
    return out + [(path, path.read_text()) for path in MD_PAGES]


def roles(kind: str) -> list[tuple[Path, str]]:
    return [(path, role_target(m.group(2))) for path, text in book_markdown()
            for m in ROLE.finditer(text) if m.group(1) == kind]


def test_figure_problems_catch_missing_captions_and_bad_names():
    def nb(*cells):
        return {"cells": list(cells)}

    def code(text, options=None):
        return {"cell_type": "code", "source": text, "outputs": [], "execution_count": None,
                "metadata": {"mystnb": {"figure": options}} if options else {}}

    good = {"caption": "A curve.", "name": "fig-ch04-curve"}
    assert figure_problems([nb(code("plt.show()", good), code("x = 1"))], 4) == []
    assert "no mystnb.figure" in figure_problems([nb(code("ax.plot(x)\nplt.show()"))], 4)[0]
    assert "no mystnb.figure" in figure_problems([nb(code("plot_schedule(s, 10);"))], 4)[0]
    empty = figure_problems([nb(code("plt.show()", {"caption": " ", "name": "fig-ch04-a"}))], 4)
    assert "caption is empty" in empty[0]
    assert "not fig-ch05" in figure_problems([nb(code("plt.show()", good))], 5)[0]
    assert "not fig-ch04" in figure_problems(
        [nb(code("plt.show()", {"caption": "c", "name": "figure-1"}))], 4)[0]
    two = code("plt.subplots()\nplt.show()\nplt.subplots()\nplt.show()", good)
    assert "more than one figure" in figure_problems([nb(two)], 4)[0]
    assert "draws no figure" in figure_problems([nb(code("x = 1", good))], 4)[0]


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_every_figure_has_a_caption_and_a_chapter_name(chapter):
    problems = figure_problems(CHAPTERS[chapter], int(chapter[:2]))
    assert not problems, "\n".join(problems)


def test_figure_names_are_unique_and_every_numref_exists():
    names = [name for nbs in CHAPTERS.values() for name in figure_names(nbs)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"figure names used twice: {duplicates}"
    missing = [(str(path.relative_to(ROOT)), target) for path, target in roles("numref")
               if target not in names]
    assert not missing, f"{{numref}} targets that are no figure name: {missing}"


def test_every_ref_target_is_a_label_of_the_book():
    labels = {m.group(1) for _, text in book_markdown()
              for m in re.finditer(r"^\(([^()\s]+)\)=\s*$", text, re.M)}
    missing = [(str(path.relative_to(ROOT)), target) for path, target in roles("ref")
               if target not in labels]
    assert not missing, f"{{ref}} targets without a (label)= in the book: {missing}"


def test_every_term_role_is_defined_in_the_glossary():
    terms = glossary_terms()
    assert {"learning rate", "warm-up", "one-cycle policy"} <= terms
    missing = sorted({(str(path.relative_to(ROOT)), target) for path, target in roles("term")
                      if target.lower() not in terms})
    assert not missing, (f"{{term}} roles whose target is not a term of docs/glossary.md "
                         f"(use {{term}}`shown text <glossary term>`): {missing}")


def test_links_to_notebooks_and_pages_exist():
    broken = []
    for path, text in book_markdown():
        for m in MD_LINK.finditer(text):
            url = m.group(1).split("#")[0]
            if url.endswith((".ipynb", ".md")) and "://" not in url:
                if not (path.parent / url).resolve().is_file():
                    broken.append((str(path.relative_to(ROOT)), m.group(1)))
    assert not broken, f"links to files that do not exist: {broken}"
