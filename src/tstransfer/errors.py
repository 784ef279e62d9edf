"""The one exception type users see: a clear message naming the file or argument at fault."""


class TSTransferError(ValueError):
    """Bad input or a state tstransfer cannot work with. The CLI prints it without a traceback and exits
    with `exit_code`: 2 for bad input (an argument, a file given; argparse's convention), 1 for a failure
    while working (a run that failed, a download cut off, a full disk, a zoo that fails verification)."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def shown(value, limit: int = 40) -> str:
    """A value from a file as a message shows it: its repr, cut to `limit` characters (a 309-digit label, a
    megabyte of text in one field, stay one line)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def warning_notes(caught) -> list[str]:
    """Library warnings (`warnings.catch_warnings(record=True)`) in tstransfer's words, once each; harmless ones
    (numba's type-safety notes, missing font glyphs of odd names, deprecations: not the user's) are dropped."""
    notes: list[str] = []
    for w in caught:
        text, module = str(w.message), getattr(w.category, "__module__", "")
        if module.startswith("numba") or "Glyph" in text or issubclass(w.category, (DeprecationWarning,
                                                                                    PendingDeprecationWarning)):
            continue
        if "have the same performance" in text:  # the critical-difference diagram's library (report)
            text = ("some selection strategies tie on every target; the critical-difference diagram joins them "
                    "(more targets separate them)")
        else:
            text = f"{w.category.__name__} from {module.split('.')[0] or 'a library'}: {text.splitlines()[0][:200]}"
        if text not in notes:
            notes.append(text)
    return notes
