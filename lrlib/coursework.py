r"""Coursework: a student release of the chapters, and a grader for submissions.

Two commands::

    python -m lrlib.coursework release chapters/ dist/student/
    python -m lrlib.coursework grade submission.ipynb [more.ipynb or folders ...]
        [--reference chapters/] [--timeout 60] [--json report.json] [--text report.txt]

The exercises follow nbgrader's conventions (see CONTRIBUTING.md): answer code sits
between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in cells whose metadata marks
them as nbgrader solution cells; each exercise has a check cell (nbgrader ``grade``
metadata, ``grade_id`` ``exNN_K_check``) that calls :mod:`lrlib.checks`; worked
solutions in markdown carry the tag ``solution``.

**Release** writes student notebooks: every solution region replaced by a stub that
raises ``NotImplementedError``, worked-solution cells removed, checks kept, outputs
cleared. The source notebooks are not touched. The same files also work with
``nbgrader generate_assignment``.

**Grade** executes a submission in a fresh kernel (a temporary working directory, a
per-cell timeout) and reports each exercise as passed or failed with the check's
message, plus a total. It runs the notebook's first code cell (imports and seeds) and
every code cell of its exercises section; ``--all-cells`` runs the whole notebook. The
check cells that run are the *reference's* (from ``--reference``, the source chapters),
each preceded by a fresh import of :mod:`lrlib.checks`, so a submission that edits,
deletes or overwrites a check is still graded by the real check (and the report says
so). A submission that is not valid JSON, not a notebook, or empty; a syntax error; an
exception; an endless loop (interrupted at the timeout); a crashed kernel: each gets a
clear line in the report, and the other exercises are still graded.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from lrlib import _validation as V

__all__ = [
    "ExerciseResult",
    "Report",
    "grade",
    "grade_many",
    "release",
    "release_notebook",
]

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_ID = re.compile(r"^ex(\d+)_(\d+)_(answer|worked|check)$")
_STUB = "# YOUR CODE HERE\nraise NotImplementedError(\"Exercise {ex}: write your solution here\")"
_MARKDOWN_STUB = "YOUR ANSWER HERE"


# ---------------------------------------------------------------------------
# Reading the exercise metadata
# ---------------------------------------------------------------------------


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _grade_id(cell) -> str:
    return str(_nbgrader(cell).get("grade_id", ""))


def _exercise_of(grade_id: str) -> str | None:
    """``ex01_2_check`` -> ``'1.2'``."""
    match = _ID.match(grade_id)
    return f"{int(match.group(1))}.{int(match.group(2))}" if match else None


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _is_check(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(_nbgrader(cell).get("grade"))


def _is_solution(cell) -> bool:
    return bool(_nbgrader(cell).get("solution"))


# ---------------------------------------------------------------------------
# Release
# ---------------------------------------------------------------------------


def _strip_regions(source: str, stub: str) -> tuple[str, int]:
    """Replace each BEGIN/END SOLUTION region (markers included) by the stub, indented."""
    lines = source.split("\n")
    out, count, inside = [], 0, False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise ValueError(f"nested '{BEGIN}' in:\n{source}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in stub.split("\n"))
            count += 1
        elif stripped.startswith(END):
            if not inside:
                raise ValueError(f"'{END}' without '{BEGIN}' in:\n{source}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"'{BEGIN}' without '{END}' in:\n{source}")
    return "\n".join(out), count


def release_notebook(nb: Any) -> Any:
    """Return the student version of one notebook (the argument is not modified).

    Solution regions become stubs that raise ``NotImplementedError``; a solution code
    cell without markers becomes a stub entirely; markdown solution cells and cells
    tagged ``solution`` are removed; outputs and execution counts are cleared.
    """
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cells = []
    for cell in nb.cells:
        tags = _tags(cell)
        if "solution" in tags or (cell.cell_type == "markdown" and _is_solution(cell)):
            continue
        exercise = _exercise_of(_grade_id(cell)) or "?"
        stub = _STUB.format(ex=exercise)
        if cell.cell_type == "code":
            source, count = _strip_regions(cell.source, stub)
            if count == 0 and _is_solution(cell):
                source = stub
            cell.source = source
            cell.outputs = []
            cell.execution_count = None
            if _is_solution(cell) and "hide-input" in tags:
                cell.metadata["tags"] = [t for t in tags if t != "hide-input"]
        elif BEGIN in cell.source:
            cell.source, _ = _strip_regions(cell.source, _MARKDOWN_STUB)
        cells.append(cell)
    nb.cells = cells
    return nb


def release(source: str | Path, destination: str | Path) -> list[Path]:
    """Write the student version of every notebook under ``source`` into ``destination``.

    Parameters
    ----------
    source : path
        A notebook or a folder of notebooks (searched recursively; checkpoints skipped).
    destination : path
        Output folder, created if needed; the relative layout is kept. It must not be
        inside ``source``.

    Returns
    -------
    list of Path
        The notebooks written.
    """
    src, dest = Path(source).resolve(), Path(destination).resolve()
    if not src.exists():
        V.fail("release", "source", "an existing notebook or folder", str(source))
    if src.is_dir() and (dest == src or src in dest.parents):
        V.fail("release", "destination", "a folder outside source", str(destination))
    notebooks = [src] if src.is_file() else sorted(
        p for p in src.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    written = []
    for path in notebooks:
        target = dest / (path.name if src.is_file() else path.relative_to(src))
        target.parent.mkdir(parents=True, exist_ok=True)
        student = release_notebook(nbformat.read(path, as_version=4))
        nbformat.write(student, target)
        written.append(target)
    return written


# ---------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------


@dataclass
class ExerciseResult:
    """The outcome of one exercise."""

    exercise: str
    title: str
    points: float
    passed: bool
    message: str


@dataclass
class Report:
    """The grade of one submission."""

    submission: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Points earned."""
        return sum(e.points for e in self.exercises if e.passed)

    @property
    def max_score(self) -> float:
        """Points available."""
        return sum(e.points for e in self.exercises)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (for JSON)."""
        return {"submission": self.submission, "score": self.score,
                "max_score": self.max_score, "problems": list(self.problems),
                "exercises": [asdict(e) for e in self.exercises]}

    def to_text(self) -> str:
        """The report as readable text."""
        lines = [f"Submission: {self.submission}"]
        lines += [f"  ! {p}" for p in self.problems]
        for e in self.exercises:
            mark = "PASS" if e.passed else "FAIL"
            lines.append(f"  [{mark}] Exercise {e.exercise}: "
                         f"{e.points if e.passed else 0:g}/{e.points:g}  ({e.title})")
            for text_line in e.message.strip().splitlines():
                lines.append(f"         {text_line}")
        lines.append(f"  Total: {self.score:g}/{self.max_score:g}")
        return "\n".join(lines)


@dataclass
class _Exercise:
    exercise: str
    title: str
    points: float
    check_id: str
    check_source: str
    answer_id: str


def _reference_exercises(nb) -> list[_Exercise]:
    """The exercises of a reference notebook, from its check cells."""
    exercises, title = [], {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.match(r"###\s+Exercise\s+(\d+\.\d+)\s*(.*)", cell.source)
            if match:  # "(by hand): a first step" -> "by hand: a first step"
                heading = re.sub(r"^\((.*?)\)", r"\1", match.group(2).strip())
                title[match.group(1)] = heading.strip().rstrip(":") or "exercise"
    for cell in nb.cells:
        if _is_check(cell):
            gid = _grade_id(cell)
            ex = _exercise_of(gid) or gid
            exercises.append(_Exercise(
                exercise=ex, title=title.get(ex, "exercise"),
                points=float(_nbgrader(cell).get("points", 1)), check_id=gid,
                check_source=cell.source, answer_id=gid.replace("_check", "_answer")))
    return exercises


def _reference_index(reference: Path) -> dict[str, Path]:
    """Notebook file name -> reference path (the source chapters)."""
    paths = [reference] if reference.is_file() else sorted(
        p for p in reference.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    return {p.name: p for p in paths}


def _find_reference(path: Path, nb, index: dict[str, Path]) -> Path | None:
    if path.name in index:
        return index[path.name]
    if nb is not None:  # match by the exercises it contains
        ids = {_grade_id(c) for c in nb.cells if _grade_id(c)}
        for ref in index.values():
            ref_ids = {_grade_id(c) for c in nbformat.read(ref, as_version=4).cells
                       if _is_check(c)}
            if ref_ids and ref_ids <= ids:
                return ref
    return None


def _guarded(check_source: str) -> str:
    """The check, preceded by a fresh import of lrlib.checks (undoes any tampering)."""
    return ("import sys as _lrlib_sys\n"
            "for _lrlib_name in [n for n in list(_lrlib_sys.modules)\n"
            "                    if n == 'lrlib.checks' or n.startswith('lrlib.checks.')]:\n"
            "    del _lrlib_sys.modules[_lrlib_name]\n"
            "import importlib as _lrlib_importlib\n"
            "checks = _lrlib_importlib.import_module('lrlib.checks')\n" + check_source)


def _error_text(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            name, value = out.get("ename", "Error"), str(out.get("evalue", "")).strip()
            return f"{name}: {value}" if value else name
    return None


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream")


def _plan(submission, exercises: list[_Exercise], all_cells: bool):
    """The cells to run, with every check replaced by the reference's; and problems."""
    problems, cells = [], []
    first_code = next((i for i, c in enumerate(submission.cells) if c.cell_type == "code"),
                      None)
    start = len(submission.cells)
    for i, cell in enumerate(submission.cells):
        if (cell.cell_type == "markdown" and re.match(r"##\s+Exercises\b", cell.source)) \
                or _grade_id(cell):
            start = i
            break
    expected = {e.check_id: e for e in exercises}
    placed = set()
    for i, cell in enumerate(submission.cells):
        if cell.cell_type != "code":
            continue
        if not (all_cells or i == first_code or i >= start):
            continue
        gid = _grade_id(cell)
        if _is_check(cell) and gid in expected:
            ex = expected[gid]
            if cell.source.strip() != ex.check_source.strip():
                problems.append(f"Exercise {ex.exercise}: the check cell was changed; the "
                                "original check was run.")
            cells.append(("check", ex, _guarded(ex.check_source)))
            placed.add(gid)
        elif _is_check(cell):
            continue  # a check the reference does not have: not run
        else:
            cells.append(("code", _exercise_of(gid), cell.source))
    for ex in exercises:  # deleted checks: run after the answer, or at the end
        if ex.check_id in placed:
            continue
        problems.append(f"Exercise {ex.exercise}: the check cell was deleted; the original "
                        "check was run.")
        position = len(cells)
        for k, (kind, who, _) in enumerate(cells):
            if kind == "code" and who == ex.exercise:
                position = k + 1
        cells.insert(position, ("check", ex, _guarded(ex.check_source)))
    return cells, problems


def _execute(cells, timeout: int, workdir: str):
    """Run the planned cells one by one; return their outputs (None if not run)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for _, _, source in cells]
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=True,
        interrupt_on_timeout=True, resources={"metadata": {"path": workdir}},
        error_on_timeout={"ename": "TimeoutError",
                          "evalue": f"the cell did not finish within {timeout} s (stopped)",
                          "traceback": []})
    results: list[Any] = [None] * len(cells)
    stopped = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            begin = time.monotonic()
            try:
                client.execute_cell(cell, index)
                if time.monotonic() - begin >= timeout and _error_text(cell) in (
                        "KeyboardInterrupt", "TimeoutError"):
                    # interrupted at the timeout: say so rather than "KeyboardInterrupt"
                    cell.outputs = [nbformat.v4.new_output(
                        "error", ename="TimeoutError", traceback=[],
                        evalue=f"the cell did not finish within {timeout} s (stopped)")]
            except DeadKernelError:
                stopped = f"the kernel died while running cell {index + 1} of the graded cells"
                break
            except CellTimeoutError:
                stopped = (f"cell {index + 1} of the graded cells did not stop within "
                           f"{timeout} s, even when interrupted")
                break
            results[index] = cell
    return results, stopped


def grade(path: str | Path, reference: str | Path = "chapters", *, timeout: int = 60,
          all_cells: bool = False) -> Report:
    """Grade one submitted notebook.

    Parameters
    ----------
    path : path
        The submission (an .ipynb file).
    reference : path, default='chapters'
        The source notebooks (with solutions and checks), or one of them; the
        submission is matched to its reference by file name, else by its exercise ids.
    timeout : int, default=60
        Seconds allowed per cell; a cell that runs longer is interrupted.
    all_cells : bool, default=False
        Run every code cell, not just the first one and the exercises.

    Returns
    -------
    Report
    """
    path = Path(path)
    timeout = V.integer("grade", "timeout", timeout, low=1)
    report = Report(submission=str(path))
    index = _reference_index(Path(reference))
    try:
        text = path.read_text(encoding="utf-8")
        if not text.strip():
            raise ValueError("the file is empty")
        submission = nbformat.reads(text, as_version=4)
        if not isinstance(submission.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as error:  # any unreadable file gets a line, never a crash
        submission = None
        report.problems.append(f"the submission could not be read as a notebook "
                               f"({type(error).__name__}: {error}).")
    ref_path = _find_reference(path, submission, index)
    if ref_path is None:
        report.problems.append("no reference notebook matches this submission (by file "
                               f"name or exercise ids) in {reference}; nothing was graded.")
        return report
    exercises = _reference_exercises(nbformat.read(ref_path, as_version=4))
    if submission is None:
        report.exercises = [ExerciseResult(e.exercise, e.title, e.points, False,
                                           "not graded: the submission could not be read.")
                            for e in exercises]
        return report
    cells, problems = _plan(submission, exercises, all_cells)
    report.problems.extend(problems)
    with tempfile.TemporaryDirectory(prefix="lrlib-grade-") as workdir:
        outputs, stopped = _execute(cells, timeout, workdir)
    if stopped:
        report.problems.append(stopped + "; the exercises after it were not graded.")
    answer_errors: dict[str, str] = {}
    for (kind, who, _), out in zip(cells, outputs, strict=True):
        if kind == "code" and who and out is not None and _error_text(out):
            answer_errors.setdefault(who, _error_text(out))
    for (kind, ex, _), out in zip(cells, outputs, strict=True):
        if kind != "check":
            continue
        report.exercises.append(_judge(ex, out, answer_errors.get(ex.exercise), stopped))
    return report


def _judge(ex: _Exercise, out, answer_error: str | None, stopped: str | None) -> ExerciseResult:
    if out is None:
        return ExerciseResult(ex.exercise, ex.title, ex.points, False,
                              f"not graded: {stopped or 'the check did not run'}.")
    error = _error_text(out)
    confirmed = f"Exercise {ex.exercise} passed" in _stdout(out)
    if error is None and confirmed:
        return ExerciseResult(ex.exercise, ex.title, ex.points, True,
                              _stdout(out).strip().splitlines()[-1])
    if error is None:
        message = "the check finished without confirming the exercise."
    elif error.startswith("CheckFailed: "):
        message = error.removeprefix("CheckFailed: ")
    else:
        message = f"the check could not run: {error}"
    if answer_error:
        if answer_error.startswith("NotImplementedError"):
            message = f"not answered yet (the answer cell still raises NotImplementedError). " \
                      f"{message}"
        else:
            message = f"the answer cell raised {answer_error}. {message}"
    return ExerciseResult(ex.exercise, ex.title, ex.points, False, message)


def grade_many(paths: list[str | Path], reference: str | Path = "chapters", *,
               timeout: int = 60, all_cells: bool = False) -> list[Report]:
    """Grade notebooks and folders of notebooks (searched recursively)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("*.ipynb")
                                if ".ipynb_checkpoints" not in q.parts))
        else:
            found.append(p)
    return [grade(p, reference, timeout=timeout, all_cells=all_cells) for p in found]


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """The ``python -m lrlib.coursework`` command."""
    parser = argparse.ArgumentParser(prog="python -m lrlib.coursework",
                                     description="Student release and grading of the book's "
                                                 "exercises.")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="write student notebooks without solutions")
    rel.add_argument("source", help="a notebook or a folder of notebooks (e.g. chapters/)")
    rel.add_argument("destination", help="output folder (e.g. dist/student/)")
    gr = sub.add_parser("grade", help="grade submitted notebooks")
    gr.add_argument("submissions", nargs="+", help="notebooks or folders of notebooks")
    gr.add_argument("--reference", default="chapters",
                    help="the source notebooks with solutions (default: chapters)")
    gr.add_argument("--timeout", type=int, default=60, help="seconds per cell (default 60)")
    gr.add_argument("--all-cells", action="store_true",
                    help="run every cell, not just the first one and the exercises")
    gr.add_argument("--json", help="also write the report as JSON to this file")
    gr.add_argument("--text", help="also write the readable report to this file")
    args = parser.parse_args(argv)
    if args.command == "release":
        written = release(args.source, args.destination)
        for path in written:
            print(f"wrote {path}")
        return 0
    reports = grade_many(args.submissions, args.reference, timeout=args.timeout,
                         all_cells=args.all_cells)
    text = "\n\n".join(r.to_text() for r in reports)
    if len(reports) > 1:
        text += "\n\nSummary:\n" + "\n".join(
            f"  {r.score:g}/{r.max_score:g}  {r.submission}" for r in reports)
    print(text)
    if args.text:
        Path(args.text).write_text(text + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in reports], indent=2) + "\n",
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
