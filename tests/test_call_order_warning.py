"""Only one cell of the book may trigger PyTorch's call-order warning, on purpose.

torch warns "Detected call of `lr_scheduler.step()` before `optimizer.step()`" when a
scheduler is stepped before its optimizer. No chapter may do that except the one cell
of chapter 6 that demonstrates it, which carries the tag ``call-order-demo``.

How this is enforced (each link is tested here):

1. The chapters run in Jupyter kernels (nbval under pytest, and the book build). A
   kernel inherits the environment of the process that starts it, and Python reads
   ``PYTHONWARNINGS`` at start-up. With :data:`CALL_ORDER_FILTER` in it, the warning is
   an error in every kernel, so a notebook that triggers it fails under nbval.
2. The repository's root ``conftest.py`` adds :data:`CALL_ORDER_FILTER` to
   ``PYTHONWARNINGS`` before pytest collects anything, so every kernel nbval starts
   inherits it (:func:`test_kernels_started_by_pytest_inherit_the_filter`).
3. The demonstrating cell records the warning inside
   ``warnings.catch_warnings(record=True)`` with ``simplefilter("always")``, which
   takes precedence over the error filter inside the block and restores the filters
   after it: the warning is shown and asserted, and does not leak.
4. No other cell may switch the filter off. Outside the tagged cell, every call that
   changes warning filters must sit inside a ``with warnings.catch_warnings(...)``
   block (so it ends with the block) and must be unable to match the call-order
   warning: ``simplefilter`` needs a category other than ``Warning`` or
   ``UserWarning``, ``filterwarnings`` such a category or a literal ``message`` that
   does not match the warning's text, and ``resetwarnings`` is not allowed.
   (``catch_warnings(record=True)`` alone changes no filter: with the error filter in
   force the warning still raises.)
"""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
TAG = "call-order-demo"
DEMO_NOTEBOOK = ROOT / "chapters" / "06_pytorch_schedulers.ipynb"

CALL_ORDER_FILTER = "error:Detected call of `lr_scheduler.step()`:UserWarning"
"""A ``-W``/``PYTHONWARNINGS`` entry: the message field is a literal, case-insensitive
prefix of the warning text (no colon or comma in it, as the syntax requires)."""

FILTER_CALLS = {"simplefilter", "filterwarnings", "resetwarnings"}
WARNING_TEXT = ("Detected call of `lr_scheduler.step()` before `optimizer.step()`. In "
                "PyTorch 1.1.0 and later, you should call them in the opposite order")
BROAD = {"Warning", "UserWarning"}


def source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def code_cells() -> list[tuple[Path, int, dict]]:
    out = []
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        out.extend((path, i, c) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    return out


def python_source(text: str) -> str:
    """The cell without IPython magics and shell lines, which are not Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in text.splitlines())


def _argument(call: ast.Call, position: int, name: str):
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == name), None)


def _narrow(call: ast.Call, name: str) -> bool:
    """Whether a filter call provably cannot match the call-order warning."""
    if name == "resetwarnings":
        return False
    category = _argument(call, 1 if name == "simplefilter" else 2, "category")
    if isinstance(category, ast.Name) and category.id not in BROAD:
        return True
    if isinstance(category, ast.Attribute) and category.attr not in BROAD:
        return True
    if name == "filterwarnings":
        message = _argument(call, 1, "message")
        if isinstance(message, ast.Constant) and isinstance(message.value, str) \
                and message.value and not re.match(message.value, WARNING_TEXT, re.I):
            return True
    return False


def risky_filter_calls(text: str, *, demo: bool = False) -> list[int]:
    """Lines whose warning-filter change could hide or outlive the call-order check.

    A change outside ``with warnings.catch_warnings()`` is always reported; inside
    one, it is reported unless the cell is the demonstration or the change cannot
    match the call-order warning.
    """
    tree = ast.parse(python_source(text))
    bad: list[int] = []

    def is_catch(item: ast.withitem) -> bool:
        call = item.context_expr
        func = call.func if isinstance(call, ast.Call) else call
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return name == "catch_warnings"

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.With | ast.AsyncWith) and any(is_catch(i) for i in node.items):
            guarded = True
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in FILTER_CALLS and not (guarded and (demo or _narrow(node, name))):
                bad.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return bad


# --- the cells ---------------------------------------------------------------------

def test_exactly_one_cell_demonstrates_the_warning_and_records_it():
    tagged = [(path, i, cell) for path, i, cell in code_cells()
              if TAG in cell.get("metadata", {}).get("tags", [])]
    assert [(p.name, c["cell_type"]) for p, _, c in tagged] == [(DEMO_NOTEBOOK.name, "code")]
    text = source(tagged[0][2])
    assert "warnings.catch_warnings(record=True)" in text
    assert 'warnings.simplefilter("always")' in text
    assert "Detected call of `lr_scheduler.step()`" in text      # the cell asserts the text
    assert risky_filter_calls(text, demo=True) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_other_cell_can_silence_the_warning(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        demo = TAG in cell.get("metadata", {}).get("tags", [])
        lines = risky_filter_calls(source(cell), demo=demo)
        assert lines == [], (
            f"{path.relative_to(ROOT)}, cell {i}, line {lines}: this warning filter could "
            "silence the call-order check. Change filters only inside `with "
            "warnings.catch_warnings():`, and only for a category other than "
            "UserWarning or a specific message (see this module's docstring).")


@pytest.mark.parametrize(("text", "demo", "lines"), [
    ("import warnings\nwarnings.simplefilter('ignore')", False, [2]),
    ("import warnings\nwarnings.simplefilter('ignore')", True, [2]),   # even the demo
    ("from warnings import filterwarnings\nfilterwarnings('ignore')", False, [2]),
    ("with warnings.catch_warnings(record=True):\n    warnings.simplefilter('always')",
     False, [2]),
    ("with warnings.catch_warnings(record=True):\n    warnings.simplefilter('always')",
     True, []),
    ("%matplotlib inline\nwith warnings.catch_warnings():\n"
     "    warnings.simplefilter('ignore', RuntimeWarning)", False, []),
    ("with warnings.catch_warnings():\n    warnings.simplefilter('ignore', UserWarning)",
     False, [2]),
    ("with warnings.catch_warnings():\n"
     "    warnings.filterwarnings('ignore', message='The epoch parameter')", False, []),
    ("with warnings.catch_warnings():\n"
     "    warnings.filterwarnings('ignore', message='Detected call')", False, [2]),
    ("with warnings.catch_warnings():\n    warnings.filterwarnings('ignore', message='')",
     False, [2]),
    ("with warnings.catch_warnings():\n"
     "    warnings.filterwarnings('ignore', category=np.ComplexWarning)", False, []),
    ("with warnings.catch_warnings(record=True) as w:\n    pass\nwarnings.resetwarnings()",
     False, [3]),
    ("with warnings.catch_warnings(record=True) as w:\n    sched.step()", False, []),
])
def test_the_filter_detector_itself(text, demo, lines):
    assert risky_filter_calls(text, demo=demo) == lines


# --- the filter ----------------------------------------------------------------------

def test_the_filter_is_valid_warnings_syntax():
    action, message, category, *rest = CALL_ORDER_FILTER.split(":")
    assert action == "error" and category == "UserWarning" and rest == []
    assert "," not in CALL_ORDER_FILTER
    torch_source = (Path(__import__("torch").optim.__file__).parent / "lr_scheduler.py")
    assert re.search(re.escape(f'"{message}'), torch_source.read_text()), \
        "torch's warning text changed: update CALL_ORDER_FILTER"


def test_in_a_kernel_the_filter_makes_the_warning_an_error_except_when_recorded():
    """Start a real kernel with the filter, as nbval does, and run three cells."""
    from nbclient import NotebookClient

    setup = ("import warnings, torch\n"
             "def fresh():\n"
             "    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)\n"
             "    return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=1)\n")
    wrong = "opt, sched = fresh()\nsched.step()\nopt.step()\nprint('ran')"
    recorded = ("opt, sched = fresh()\n"
                "with warnings.catch_warnings(record=True) as caught:\n"
                "    warnings.simplefilter('always')\n"
                "    sched.step()\n"
                "print(len(caught), str(caught[0].message)[:16])")
    right = "opt, sched = fresh()\nopt.step()\nsched.step()\nprint('ran')"
    again = wrong  # after the recording block the error filter is back in force
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (setup, wrong, recorded, right, again)]
    old = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = CALL_ORDER_FILTER
    try:
        NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True).execute()
    finally:
        if old is None:
            del os.environ["PYTHONWARNINGS"]
        else:
            os.environ["PYTHONWARNINGS"] = old

    def outputs(cell):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        return errors, text

    for index in (1, 4):
        errors, text = outputs(nb.cells[index])
        assert [e.ename for e in errors] == ["UserWarning"] and text == ""
        assert errors[0].evalue.startswith("Detected call of `lr_scheduler.step()`")
    assert outputs(nb.cells[2]) == ([], "1 Detected call of\n")
    assert outputs(nb.cells[3]) == ([], "ran\n")


def test_kernels_started_by_pytest_inherit_the_filter():
    # set by the root conftest.py (and by the Makefile for the book build)
    entries = [e.strip() for e in os.environ.get("PYTHONWARNINGS", "").split(",")]
    assert CALL_ORDER_FILTER in entries


def test_the_book_build_sets_the_same_filter():
    # `make book` / `make test` export PYTHONWARNINGS for the kernels of the book build
    makefile = (ROOT / "Makefile").read_text()
    assert f"export PYTHONWARNINGS := {CALL_ORDER_FILTER}" in makefile
