"""The one exception type users see: a clear message naming the file or argument at fault."""


class TSTransferError(ValueError):
    """Bad input or a state tstransfer cannot work with. The CLI prints it without a traceback."""
