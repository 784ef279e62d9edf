"""Files: atomic writes (readers see the old file or the complete new one, never a torn one), the one
rule by which a name read from data becomes a file name, and sha256 of files."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import math
import os
import re
import stat
import tempfile
from pathlib import Path

from .errors import TSTransferError, shown

# Names from data (dataset folders, CSV headers, manifests) become file names only through safe_name.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:]")
MAX_NAME = 200


def safe_name(name, what: str = "name") -> str:
    """`name` unchanged if it is safe as one file name component; otherwise a TSTransferError.

    Refused: empty, '.', '..', a leading '.', '/', '\\', ':', NUL, control characters (C0 and C1) and other
    unprintable ones (right-to-left overrides: a name printed in a terminal must read as it is), over 200 characters.
    So a name read from a file can never point outside the folder it is joined to."""
    text = str(name)
    if (not text or text in (".", "..") or text.startswith(".") or _UNSAFE.search(text)
            or len(text) > MAX_NAME or text != text.strip() or not text.isprintable()):
        raise TSTransferError(f"{what} {text[:80]!r}: not usable as a file name (no path separators, '..', "
                              "leading dot, control or right-to-left characters, surrounding spaces; at most 200 "
                              "characters)")
    return text


def file_stem(name) -> str:
    """A name from data as one file-name component, encoded instead of refused (the report must show any
    name a matrix holds): every character but ASCII letters, digits, '_' and '-' becomes %XX of its UTF-8
    bytes, so '/', '\\', '.', NUL and control characters can never form a path, and distinct names stay
    distinct. A name longer than 100 characters keeps a prefix and a hash of the whole."""
    text = str(name)
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "".join(f"%{b:02X}" for b in c.encode())
                   for c in text) or "%"
    if len(stem) > 100:
        stem = stem[:80] + "~" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return stem


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _describe_os_error(err: OSError, path: Path) -> TSTransferError:
    if err.errno == errno.ENOSPC:
        return TSTransferError(f"{path}: the disk is full; nothing was written", exit_code=1)
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return TSTransferError(f"{path}: not writable ({err.strerror})")
    return TSTransferError(f"{path}: cannot write ({err.strerror or err})", exit_code=1)


def check_not_special(path: str | Path, what: str = "") -> Path:
    """Refuse a path that exists and is not a regular file (after symbolic links): a device such as /dev/null,
    a pipe, a socket, /proc/self/fd/1. tstransfer writes regular files only; replacing a device with a file
    breaks the machine (as root), and writing into a pipe is not an atomic write."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return path  # a new path (or a dangling link: replaced by the file)
    except OSError as err:
        raise TSTransferError(f"{what + ' ' if what else ''}{path}: cannot be checked ({err.strerror})") from None
    if stat.S_ISDIR(mode):
        raise TSTransferError(f"{what + ' ' if what else ''}{path}: is a folder, expected a file name")
    if not stat.S_ISREG(mode):
        raise TSTransferError(f"{what + ' ' if what else ''}{path}: not a regular file (a device, pipe or socket); "
                              "tstransfer writes only regular files: give a file name")
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path, exclusive: bool = False):
    """Yield a temporary path in the target's folder; rename it onto `path` if the block succeeds.

    The file gets the permissions a plain `open()` would give (0666 less the umask), not mkstemp's 0600,
    so a study on a shared file system stays readable. An OSError (disk full, read-only) becomes one
    TSTransferError naming the file; the temporary file is removed and the old file is left untouched.
    `exclusive`: the file must not exist when it lands (see atomic_paths)."""
    with atomic_paths(path, exclusive=exclusive) as (tmp,):
        yield tmp


def _place(tmp: Path, path: Path, exclusive: bool) -> None:
    """Rename `tmp` onto `path`; `exclusive`: only if `path` does not exist, checked and done in one step (a hard
    link fails on an existing name), so two writers of one new name never silently replace each other."""
    check_not_special(path)
    if not exclusive:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise TSTransferError(f"{path}: already exists (written meanwhile by another process); give --force to "
                              "overwrite it") from None
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        try:  # a file system without hard links: claim the name first, then replace the claim
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            raise TSTransferError(f"{path}: already exists (written meanwhile by another process); give --force "
                                  "to overwrite it") from None
        os.replace(tmp, path)


@contextlib.contextmanager
def atomic_paths(*paths: str | Path, exclusive: bool = False):
    """Several files written as one: yield a temporary path for each; only when every one is complete are
    they renamed into place (the first path last: it is the one readers look for), so a failure such as a
    full disk leaves all the old files and none of the new. Only regular files are replaced (check_not_special).
    `exclusive`: the first path must not exist when it lands (a run without --force)."""
    paths = [Path(p) for p in paths]
    temps: list[Path] = []
    try:
        for path in paths:
            check_not_special(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            temps.append(Path(tmp))
        yield temps
        for tmp in temps:
            os.chmod(tmp, 0o666 & ~_umask())
        # exclusive: the first path claims its name before any other lands (refused: none of them is written)
        order = [0, *range(len(paths) - 1, 0, -1)] if exclusive else range(len(paths) - 1, -1, -1)
        for i in order:
            _place(temps[i], paths[i], exclusive and i == 0)
    except OSError as err:
        raise _describe_os_error(err, paths[0] if len(paths) == 1 else
                                 Path(", ".join(str(p) for p in paths))) from None
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def check_writable_dir(path: str | Path, what: str) -> Path:
    """Refuse, before any work, an output folder that is a file or cannot be created or written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise TSTransferError(f"{what} {path}: is a file, expected a folder")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise TSTransferError(f"{what} {path}: not writable")
    return path


def check_writable_file(path: str | Path, what: str, force: bool = True) -> Path:
    """Refuse, before any work, an output file that is a folder, sits in an unwritable folder, or exists
    (unless `force`)."""
    if str(path).endswith(("/", os.sep)) or Path(path).is_dir():  # before Path() drops the trailing '/'
        raise TSTransferError(f"{what} {path}: is a folder, expected a file name")
    path = check_not_special(path, what)
    if path.exists() and not force:
        raise TSTransferError(f"{what} {path}: already exists; give --force to overwrite it")
    check_writable_dir(path.parent if str(path.parent) else Path("."), what)
    return path


def parse_json(text, where, what: str = "JSON"):
    """JSON from a file tstransfer reads (untrusted): malformed or absurdly nested text (Python's parser
    recurses) is one TSTransferError naming the file, never a traceback."""
    try:
        return json.loads(text)
    except RecursionError:
        raise TSTransferError(f"{where}: {what} nested too deeply to be a tstransfer file") from None
    except (ValueError, TypeError) as err:
        raise TSTransferError(f"{where}: not valid {what} ({str(err)[:120]})") from None


def check_format_version(version, newest: int, path, what: str) -> int:
    """A file's format_version: an integer from 1 to the newest this version of tstransfer can read."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TSTransferError(f"{path}: format_version must be an integer of at least 1, not {str(version)[:40]}")
    if version > newest:
        raise TSTransferError(f"{path}: written by a newer tstransfer ({what} {version})")
    return version


# ----------------------------------------------------------------------------- records read from files


def count(low: int) -> tuple:
    """A rule of `check_fields`: an integer of at least `low`."""
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low, f"an integer of at least {low}")


SHARE = (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1, "a number from 0 to 1")
SECONDS = (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0,
           "a number of seconds, at least 0")
TEXT = (lambda v: isinstance(v, str), "a string")
OBJECT = (lambda v: isinstance(v, dict), "an object")


def check_fields(record: dict, rules: dict, where) -> dict:
    """Every field of a record read from a file (a manifest entry, a model header's metadata) that `rules` names is
    what its rule says, or absent/None: a tampered value is one TSTransferError naming the file, never a traceback
    where the value is used."""
    for key, (ok, rule) in rules.items():
        value = record.get(key)
        if value is not None and not ok(value):
            raise TSTransferError(f"{where}: {key} {shown(value)} must be {rule}")
    return record


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def csv_text(frame, index: bool = True) -> str:
    """A pandas table as the CSV text tstransfer writes (6 significant digits)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=index, float_format="%.6g")
    return buffer.getvalue()
