"""Settings for the whole test session (tests/ and the chapter notebooks).

Every notebook kernel that pytest starts (nbval) inherits this environment, so
PyTorch's call-order warning ("Detected call of `lr_scheduler.step()` before
`optimizer.step()`") is an error in every chapter; the one cell of chapter 6 that
demonstrates it records it inside ``warnings.catch_warnings``. The Makefile sets the
same filter for the book build. See tests/test_call_order_warning.py.
"""

import os

CALL_ORDER_FILTER = "error:Detected call of `lr_scheduler.step()`:UserWarning"
_entries = [e for e in os.environ.get("PYTHONWARNINGS", "").split(",") if e.strip()]
if CALL_ORDER_FILTER not in _entries:
    os.environ["PYTHONWARNINGS"] = ",".join([*_entries, CALL_ORDER_FILTER])
