"""The shared machinery of the exercise checks."""

from __future__ import annotations

import numpy as np
import pytest

from lrlib import checks
from lrlib.checks import _core as C


def test_fail_raises_an_assertion_error_with_hint():
    with pytest.raises(AssertionError, match=r"^Exercise 1.2: bad\nHint: look again$"):
        C.fail("1.2", "bad", "look again")
    assert issubclass(checks.CheckFailed, AssertionError)


def test_passed_prints_one_line(capsys):
    C.passed("3.1", "all good")
    assert capsys.readouterr().out == "✓ Exercise 3.1 passed: all good\n"


@pytest.mark.parametrize(("got", "message"), [
    ("0.5", "w should be a number, got str '0.5'"),
    (None, "w should be a number, got NoneType None"),
    (True, "w should be a number, got bool True"),
    (np.array([1.0, 2.0]), r"w should be a single number, got an array of shape \(2,\)"),
    (float("nan"), "w should be a finite number, got nan"),
])
def test_number_rejects_what_is_not_a_finite_number(got, message):
    with pytest.raises(C.CheckFailed, match=message):
        C.number("1.1", "w", got)


def test_close_compares_with_tolerance():
    assert C.close("1.1", "w", np.float32(0.5), 0.5) == 0.5
    assert C.close("1.1", "w", np.array([2.0]), 2.0 + 1e-9) == 2.0
    with pytest.raises(C.CheckFailed, match=r"expected w = 0.5, got w = 0.6\.\nHint: sign"):
        C.close("1.1", "w", 0.6, 0.5, hint="sign")


def test_sequence_reports_the_first_wrong_step_and_a_computed_hint():
    expected = [0.1, 0.1, 0.05, 0.05]
    got = [0.1, 0.1, 0.1, 0.05]

    def hint(i, g, e):
        return "did you drop one step late?" if g > e else None

    with pytest.raises(C.CheckFailed, match=r"step 2: expected lr = 0.05, got 0.1\.\n"
                                            r"Hint: did you drop one step late\?"):
        C.sequence("2.1", "lr", got, expected, hint=hint)
    with pytest.raises(C.CheckFailed, match=r"lr should have shape \(4,\) \(one value per "
                                            r"step\), got shape \(3,\)"):
        C.sequence("2.1", "lr", got[:3], expected)
    np.testing.assert_array_equal(C.sequence("2.1", "lr", expected, expected), expected)


def test_call_turns_missing_solutions_and_crashes_into_failures():
    def todo(x):
        raise NotImplementedError

    def crash(x):
        return 1 / 0

    with pytest.raises(C.CheckFailed, match="todo is not written yet"):
        C.call("1.2", todo, 3)
    with pytest.raises(C.CheckFailed, match=r"crash\(3\) raised ZeroDivisionError: division"):
        C.call("1.2", crash, 3)
    with pytest.raises(C.CheckFailed, match="expected a function, got int 5"):
        C.call("1.2", 5)
    assert C.call("1.2", lambda x: x + 1, 1) == 2


def test_chapter_modules_load_lazily():
    assert all(name.startswith("ch") for name in checks.chapters())
    with pytest.raises(AttributeError):
        checks.nothing_here  # noqa: B018
