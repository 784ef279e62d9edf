"""One bounded HTTP download (what `zoo pull` and `datasets --download` do over the network).

Every phase has a bound, whatever the server does:
- connect: --timeout seconds (the socket's own timeout);
- status line and headers: --timeout seconds of wall-clock time in all, counted from the connect. A socket timeout
  alone bounds one read, so a server that drips its headers (one byte every 2 s) would hold it forever; a timer
  shuts the connection down when the time is up;
- body: after --timeout seconds it must average MIN_THROUGHPUT, and a stalled read ends after --timeout seconds;
  never more bytes than announced (the zoo's manifest gives every size).
"""

from __future__ import annotations

import http.client
import math
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from .errors import TSTransferError

MIN_THROUGHPUT = 8 << 10  # bytes/s a transfer must average once --timeout seconds have passed


def check_timeout(timeout, what: str = "--timeout") -> float:
    """A network timeout: a finite number of seconds above 0."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) \
            or timeout <= 0:
        raise TSTransferError(f"{what} {timeout}: must be a finite number of seconds above 0")
    return float(timeout)


class HeadersTooSlow(TimeoutError):
    """The server did not send its status line and headers within the deadline."""


class _HeaderDeadline:
    """Mixed into an http.client connection: a timer started at connect shuts the socket down unless the status
    line and headers have arrived `header_timeout` seconds later (a blocked read then ends at once)."""

    header_timeout = 30.0
    _timer: threading.Timer | None = None
    _expired = False

    def connect(self):
        self._expired = False
        self._timer = threading.Timer(self.header_timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()
        super().connect()
        if self._expired:  # the connect itself took the time
            self._shut()

    def _expire(self) -> None:
        self._expired = True
        self._shut()

    def _shut(self) -> None:
        sock = getattr(self, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def getresponse(self):
        try:
            response = super().getresponse()
        except (OSError, http.client.HTTPException):
            if self._expired:
                raise HeadersTooSlow(f"no status line and headers within {self.header_timeout:g}s") from None
            raise
        finally:
            if self._timer is not None:
                self._timer.cancel()
        if self._expired:
            raise HeadersTooSlow(f"no status line and headers within {self.header_timeout:g}s")
        return response


def bounded_opener(timeout: float) -> urllib.request.OpenerDirector:
    """urllib's opener (redirects and all) whose every connection must deliver its headers within `timeout`."""

    class HTTP(_HeaderDeadline, http.client.HTTPConnection):
        header_timeout = timeout

    class HTTPS(_HeaderDeadline, http.client.HTTPSConnection):
        header_timeout = timeout

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(HTTP, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(HTTPS, req, context=self._context)

    return urllib.request.build_opener(HTTPHandler, HTTPSHandler)


def fetch(url: str, dest: Path, timeout: float, bar=None, max_bytes: int | None = None) -> None:
    """Download `url` to `dest`, continuing a partial `dest` when the server honours Range, else restarting.
    More than `max_bytes` (the size the manifest announces) is refused: a server cannot fill the disk."""
    offset = dest.stat().st_size if dest.is_file() else 0
    try:
        request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
        with bounded_opener(timeout).open(request, timeout=timeout) as response:
            resumed = offset and response.status == 206
            if bar is not None and resumed:
                bar.update(offset)
            written = offset if resumed else 0
            announced = response.headers.get("Content-Length")
            expected = written + int(announced) if announced and announced.isdigit() else None
            started, got = time.monotonic(), 0
            with open(dest, "ab" if resumed else "wb") as f:
                while block := response.read1(1 << 16):  # whatever has arrived: a slow server cannot stall a read
                    written += len(block)
                    got += len(block)
                    elapsed = time.monotonic() - started
                    if elapsed > timeout and got < MIN_THROUGHPUT * elapsed:
                        raise TSTransferError(f"{url}: the server sends {got / elapsed:.0f} bytes/s, below the "
                                              f"{MIN_THROUGHPUT >> 10} KB/s a pull needs once --timeout {timeout:g}s "
                                              "have passed; run the same command again to continue", exit_code=1)
                    if max_bytes is not None and written > max_bytes:
                        f.close()
                        dest.unlink()
                        raise TSTransferError(f"{url}: larger than the {max_bytes} bytes the zoo announces; "
                                              "refused", exit_code=1)
                    f.write(block)
                    if bar is not None:
                        bar.update(len(block))
            if expected is not None and written < expected:  # http.client returns a short body silently
                raise ConnectionError(f"connection closed after {written} of {expected} bytes")
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # already complete
            return
        raise TSTransferError(f"{url}: HTTP {err.code} {err.reason}", exit_code=1) from None
    except TSTransferError:
        raise
    except ValueError as err:  # urllib's own refusal of a malformed URL (http://[::1:99999/x)
        raise TSTransferError(f"{url[:200]}: not a usable URL ({err})") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as err:
        reason = getattr(err, "reason", None) or str(err) or type(err).__name__
        raise TSTransferError(f"{url}: download interrupted ({reason}); run the same command again to "
                              "continue", exit_code=1) from None
