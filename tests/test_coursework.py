"""The student release and the grader, on a small synthetic chapter and on the real ones."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from lrlib import coursework as CW

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_NOTEBOOKS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb")
                           if ".ipynb_checkpoints" not in p.parts)
GRADED_NOTEBOOKS = [p for p in CHAPTER_NOTEBOOKS
                    if any(CW._is_check(c) for c in nbformat.read(p, as_version=4).cells)]


def answer(gid, source):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata = {"tags": ["hide-input"], "nbgrader": {
        "grade": False, "grade_id": gid, "locked": False, "schema_version": 3,
        "solution": True, "task": False}}
    return cell


def check(gid, source):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata = {"nbgrader": {"grade": True, "grade_id": gid, "locked": True,
                                  "points": 1, "schema_version": 3, "solution": False,
                                  "task": False}}
    return cell


def worked(gid, text):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata = {"tags": ["solution"], "nbgrader": {
        "grade": True, "grade_id": gid, "locked": False, "points": 0, "schema_version": 3,
        "solution": True, "task": False}}
    return cell


CHECK_1 = ('checks._core.close("99.1", "x", x, 2.0, hint="x is 1 + 1")\n'
           'checks._core.passed("99.1", "x is right")')
CHECK_2 = ('got = checks._core.call("99.2", double, 3.0)\n'
           'checks._core.close("99.2", "double(3)", got, 6.0)\n'
           'checks._core.close("99.2", "double(-1)", checks._core.call("99.2", double, -1.0), '
           '-2.0)\n'
           'checks._core.passed("99.2", "double works")')
CHECK_3 = ('checks._core.close("99.3", "best", best, 0.25, rtol=1e-9)\n'
           'checks._core.passed("99.3", "found the best rate")')
SECRET = "SECRET_SOLUTION_TEXT"


def make_chapter(answers=None, checks=None, extra=None):
    """A tiny chapter with three exercises; ``answers``/``checks`` override cells."""
    answers = {"1": "x = 1.0 + 1.0  # " + SECRET, "2": "def double(v):\n"
               "    ### BEGIN SOLUTION\n    return 2 * v  # " + SECRET + "\n"
               "    ### END SOLUTION", "3": "best = min([0.5, 0.25, 1.0])  # " + SECRET,
               **(answers or {})}
    checks_src = {"1": CHECK_1, "2": CHECK_2, "3": CHECK_3, **(checks or {})}
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cells = [nbformat.v4.new_markdown_cell("# 99. A test chapter"),
             nbformat.v4.new_code_cell("from lrlib import checks\nimport math"),
             nbformat.v4.new_code_cell("chapter_value = math.pi"),
             nbformat.v4.new_markdown_cell("## Exercises"),
             nbformat.v4.new_markdown_cell("### Exercise 99.1 (by hand): add one and one")]
    for k, kind in [("1", "by hand"), ("2", "implement"), ("3", "experiment")]:
        if k != "1":
            cells.append(nbformat.v4.new_markdown_cell(f"### Exercise 99.{k} ({kind}): task"))
        src = answers[k]
        if k != "2" and src is not None and "BEGIN" not in src:
            src = f"### BEGIN SOLUTION\n{src}\n### END SOLUTION"
        if src is not None:
            cells.append(answer(f"ex99_{k}_answer", src))
        if k == "1":
            cells.append(worked("ex99_1_worked", "```{admonition} Solution\n:class: dropdown\n"
                                "1 + 1 = 2, " + SECRET + "\n```"))
        if checks_src[k] is not None:
            cells.append(check(f"ex99_{k}_check", checks_src[k]))
    cells.extend(extra or [])
    nb.cells = cells
    return nb


@pytest.fixture
def reference(tmp_path):
    folder = tmp_path / "reference"
    folder.mkdir()
    nbformat.write(make_chapter(), folder / "99_test.ipynb")
    return folder


def write(tmp_path, nb, name="99_test.ipynb"):
    path = tmp_path / "submissions" / name
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path) if not isinstance(nb, str) else path.write_text(nb)
    return path


def by_exercise(report):
    return {e.exercise: e for e in report.exercises}


# --- release ----------------------------------------------------------------------------


def test_release_strips_solutions_keeps_checks_and_leaves_the_source_alone(reference, tmp_path):
    source = reference / "99_test.ipynb"
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    written = CW.release(reference, tmp_path / "student")
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before
    assert [p.name for p in written] == ["99_test.ipynb"]
    student = nbformat.read(written[0], as_version=4)
    text = json.dumps(student)
    assert SECRET not in text and "BEGIN SOLUTION" not in text
    assert text.count("raise NotImplementedError") == 3
    assert sum(CW._is_check(c) for c in student.cells) == 3
    assert not any("solution" in c.metadata.get("tags", []) for c in student.cells)
    stub = next(c for c in student.cells if CW._grade_id(c) == "ex99_2_answer")
    assert stub.source.startswith("def double(v):\n    # YOUR CODE HERE\n    raise ")
    assert all(c.get("outputs", []) == [] for c in student.cells if c.cell_type == "code")


def test_release_refuses_unbalanced_markers(tmp_path):
    nb = make_chapter(answers={"2": "def double(v):\n    ### BEGIN SOLUTION\n    return 2"})
    with pytest.raises(ValueError, match="without"):
        CW.release_notebook(nb)


# --- grading the synthetic chapter --------------------------------------------------------


def test_reference_gets_full_marks_and_release_gets_zero(reference, tmp_path):
    full = CW.grade(reference / "99_test.ipynb", reference, timeout=30)
    assert (full.score, full.max_score, full.problems) == (3, 3, [])
    assert by_exercise(full)["99.2"].message == "✓ Exercise 99.2 passed: double works"
    student = CW.release(reference, tmp_path / "student")[0]
    zero = CW.grade(student, reference, timeout=30)
    assert (zero.score, zero.max_score) == (0, 3)
    messages = {e.exercise: e.message for e in zero.exercises}
    assert messages["99.1"].startswith("not answered yet (the answer cell still raises")
    assert messages["99.3"].startswith("not answered yet (the answer cell still raises")
    assert "double is not written yet" in messages["99.2"]
    assert by_exercise(zero)["99.1"].title == "by hand: add one and one"


BAD_SUBMISSIONS = {
    "syntax error": ({"answers": {"1": "x = = 2"}}, "99.1",
                     "the answer cell raised SyntaxError"),
    "exception": ({"answers": {"3": "best = [0.5][3]"}}, "99.3",
                  "the answer cell raised IndexError"),
    "wrong value": ({"answers": {"1": "x = 3.0"}}, "99.1",
                    "expected x = 2, got x = 3.\nHint: x is 1 + 1"),
    "crashing function": ({"answers": {"2": "def double(v):\n    return v / 0"}}, "99.2",
                          "double(3) raised ZeroDivisionError"),
    "endless loop": ({"answers": {"3": "while True:\n    pass"}}, "99.3",
                     "did not finish within 3 s"),
    "deleted check": ({"answers": {"1": "x = 5.0"}, "checks": {"1": None}}, "99.1",
                      "expected x = 2, got x = 5"),
    "faked check": ({"answers": {"1": "x = 5.0"},
                     "checks": {"1": 'print("✓ Exercise 99.1 passed: trust me")'}}, "99.1",
                    "expected x = 2, got x = 5"),
    "overwritten checks": ({"answers": {"1": "x = 5.0\nimport lrlib.checks._core as c\n"
                                             "c.close = lambda *a, **k: 2.0\nchecks = None"}},
                           "99.1", "expected x = 2, got x = 5"),
}


@pytest.mark.parametrize("case", sorted(BAD_SUBMISSIONS))
def test_bad_submissions_get_a_clear_line_and_the_rest_is_graded(case, reference, tmp_path):
    kwargs, exercise, message = BAD_SUBMISSIONS[case]
    report = CW.grade(write(tmp_path, make_chapter(**kwargs)), reference, timeout=3)
    results = by_exercise(report)
    assert set(results) == {"99.1", "99.2", "99.3"}
    assert not results[exercise].passed
    assert message in results[exercise].message, results[exercise].message
    others = [r for k, r in results.items() if k != exercise]
    assert all(r.passed for r in others), [r.message for r in others]
    if case == "deleted check":
        assert "Exercise 99.1: the check cell was deleted; the original check was run." \
            in report.problems
    if case == "faked check":
        assert "Exercise 99.1: the check cell was changed; the original check was run." \
            in report.problems


def test_a_dead_kernel_stops_grading_without_crashing(reference, tmp_path):
    nb = make_chapter(answers={"2": "import os\nos._exit(1)"})
    report = CW.grade(write(tmp_path, nb), reference, timeout=30)
    results = by_exercise(report)
    assert results["99.1"].passed
    assert not results["99.2"].passed and not results["99.3"].passed
    assert "the kernel died" in results["99.3"].message
    assert any("the kernel died" in p for p in report.problems)


@pytest.mark.parametrize(("content", "reason"), [
    ("", "the file is empty"),
    ("{not json", "could not be read as a notebook"),
    ("[1, 2, 3]", "could not be read as a notebook"),
    ('{"cells": "nope", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
     "could not be read as a notebook"),
])
def test_unreadable_files_are_reported_not_crashed_on(content, reason, reference, tmp_path):
    report = CW.grade(write(tmp_path, content), reference, timeout=10)
    assert any(reason in p for p in report.problems), report.problems
    assert report.score == 0 and report.max_score == 3
    assert all("could not be read" in e.message for e in report.exercises)


def test_unknown_notebook_is_reported(reference, tmp_path):
    nb = nbformat.v4.new_notebook()
    report = CW.grade(write(tmp_path, nb, "other.ipynb"), reference, timeout=10)
    assert report.max_score == 0 and "no reference notebook matches" in report.problems[0]


def test_command_line_grades_a_folder_and_writes_json_and_text(reference, tmp_path, capsys):
    write(tmp_path, make_chapter(), "99_test.ipynb")
    sub = tmp_path / "submissions" / "b"
    sub.mkdir()
    nbformat.write(make_chapter(answers={"1": "x = 0.0"}), sub / "99_test.ipynb")
    code = CW.main(["grade", str(tmp_path / "submissions"), "--reference", str(reference),
                    "--timeout", "30", "--json", str(tmp_path / "r.json"),
                    "--text", str(tmp_path / "r.txt")])
    assert code == 0
    data = json.loads((tmp_path / "r.json").read_text())
    assert sorted(r["score"] for r in data) == [2, 3]
    text = (tmp_path / "r.txt").read_text()
    assert "Summary:" in text and "[FAIL] Exercise 99.1: 0/1  (by hand: add one and one)" in text
    assert text.strip() in capsys.readouterr().out


def test_command_line_release(reference, tmp_path, capsys):
    assert CW.main(["release", str(reference), str(tmp_path / "out")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "out" / "99_test.ipynb").exists()


# --- the real chapters --------------------------------------------------------------------


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    CW.release(ROOT / "chapters", out)
    return out


def solution_and_public_text(nb):
    """The solution regions (and worked solutions) of a notebook, and all the rest."""
    secret, public = [], []
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []) or (
                cell.cell_type == "markdown" and CW._is_solution(cell)):
            secret.append(cell.source)
            continue
        parts = cell.source.split(CW.BEGIN)
        public.append(parts[0])
        for block in parts[1:]:
            inside, _, after = block.partition(CW.END)
            secret.append(inside)
            public.append(after)
    return "\n".join(secret), "\n".join(public)


@pytest.mark.parametrize("path", GRADED_NOTEBOOKS, ids=[p.name for p in GRADED_NOTEBOOKS])
def test_chapter_release_has_no_solution_text(path, released):
    student = released / path.relative_to(ROOT / "chapters")
    text = json.dumps(nbformat.read(student, as_version=4))
    assert "BEGIN SOLUTION" not in text
    secret, public = solution_and_public_text(nbformat.read(path, as_version=4))
    assert secret.strip(), "a graded chapter has solutions"
    for line in secret.splitlines():
        line = line.strip()
        # a line counts if it is long enough to be specific and is not also written
        # outside the solutions (chapters reuse code lines in their own text)
        if len(line) > 25 and not line.startswith("#") and line not in public:
            assert json.dumps(line)[1:-1] not in text, f"solution line leaked: {line!r}"


@pytest.mark.parametrize("path", GRADED_NOTEBOOKS, ids=[p.name for p in GRADED_NOTEBOOKS])
def test_chapter_source_gets_full_marks_and_release_gets_zero(path, released):
    full = CW.grade(path, ROOT / "chapters", timeout=120)
    assert full.problems == [] and full.max_score >= 3
    assert full.score == full.max_score, full.to_text()
    student = released / path.relative_to(ROOT / "chapters")
    zero = CW.grade(student, ROOT / "chapters", timeout=120)
    assert zero.score == 0 and zero.max_score == full.max_score
    for result in zero.exercises:
        assert "not written yet" in result.message or "not answered yet" in result.message, \
            result.message
