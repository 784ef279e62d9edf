"""Library warnings said once each in tstransfer's words; harmless ones dropped."""

from __future__ import annotations

import warnings

from tstransfer.errors import TSTransferError, shown, warning_notes


def _caught(*raise_them):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for message, category in raise_them:
            warnings.warn(message, category, stacklevel=1)
    return caught


def test_warning_notes_are_said_once_and_harmless_ones_dropped():
    caught = _caught(("divide by zero\nsecond line", RuntimeWarning), ("divide by zero\nsecond line", RuntimeWarning),
                     ("old API", DeprecationWarning), ("Glyph 12345 missing from font", UserWarning),
                     ("All strategies have the same performance", UserWarning))
    notes = warning_notes(caught)
    assert notes == ["RuntimeWarning from builtins: divide by zero",
                     "some selection strategies tie on every target; the critical-difference diagram joins them "
                     "(more targets separate them)"]


def test_errors_carry_their_exit_code_and_values_are_shown_short():
    assert TSTransferError("bad file").exit_code == 2
    assert TSTransferError("run failed", exit_code=1).exit_code == 1
    assert shown("x" * 1000) == "'" + "x" * 36 + "..."
    assert shown(1.5) == "1.5"
