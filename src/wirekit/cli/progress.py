"""Progress bars on standard error for ``wirekit get/post/http``: size, rate and time left.

Drawn only when standard error is a terminal and ``-s`` is not given, for the two transfers
that take long: the upload of files (``field@path``, ``@path``) and the download into a file
(``-o``/``-O``; a resumed one starts at the bytes already there). The counts come from the
client's ``upload_progress``/``download_progress`` callbacks (bytes on the wire, the total
from ``Content-Length``). rich draws one live display at a time, so the upload bar is
finished before the download bar starts; rich is imported only when a bar is drawn.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wirekit.cli.download import Target
from wirekit.cli.output import safe_text
from wirekit.http.client import Request

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["TransferBar", "TransferBars"]

Options = dict[str, Any]


class TransferBar:
    """A progress bar on standard error for one transfer: size, rate and time left.

    Called as ``bar(done, total)`` with the bytes moved so far (``total`` ``None`` when the
    size is unknown); ``start`` bytes were already there (a resumed download).
    """

    def __init__(self, label: str, console: Console | None = None, start: int = 0) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.start = start
        self._progress: Progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(),
            console=console or Console(stderr=True), transient=False,
        )  # fmt: skip
        self._task: TaskID = self._progress.add_task(safe_text(label), total=None,
                                                     completed=start)
        self._started = False

    def __call__(self, done: int, total: int | None) -> None:
        self._progress.update(self._task, completed=self.start + done,
                              total=None if total is None else self.start + total)
        if not self._started:  # drawn from the first report on, with its total
            self._started = True
            self._progress.start()

    def close(self) -> None:
        """Draw the final state and give the terminal back."""
        if self._started:
            self._progress.stop()


class TransferBars:
    """Progress bars on standard error (a terminal, without ``-s``): the upload of files,
    then the download into ``-o``/``-O``. One at a time, as rich draws one live display."""

    def __init__(self, options: Options, request: Request, target: Target | None) -> None:
        enabled = not options["silent"] and sys.stderr.isatty()
        streamed = request.body is not None and request.body.data is None  # files, not text
        self.upload_label = "Uploading" if enabled and streamed else None
        self.download_label = target.path.name if enabled and target is not None else None
        self.start = target.offset if target is not None else 0
        self.downloading = False
        self._bar: TransferBar | None = None

    def callbacks(self) -> dict[str, Any]:
        """``upload_progress``/``download_progress`` for ``Session.send``, as needed."""
        found: dict[str, Callable[[int, int | None], None]] = {}
        if self.upload_label is not None:
            found["upload_progress"] = self._upload
        if self.download_label is not None:
            found["download_progress"] = self._download
        return found

    def _upload(self, sent: int, total: int | None) -> None:
        if self._bar is None and self.upload_label is not None:
            self._bar = TransferBar(self.upload_label)
        if self._bar is not None and not self.downloading:
            self._bar(sent, total)

    def _download(self, received: int, total: int | None) -> None:
        if not self.downloading or self.download_label is None:
            return  # a redirect or error body, not the file
        if self._bar is None:
            self._bar = TransferBar(self.download_label, start=self.start)
        self._bar(received, total)

    def uploaded(self) -> None:
        """The request is sent: the upload bar (if any) is done."""
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> TransferBars:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
