"""A one-line progress bar with ETA on stderr (plain periodic lines when not a terminal)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, already: int = 0, stream=None):
        self.total, self.done, self.start_done = total, already, already
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.t0 = time.monotonic()
        self.last_print = 0.0
        self.label = ""
        self.drawn = None  # the count last drawn: the end is drawn once

    def update(self, done: int, label: str = "") -> None:
        self.done, self.label = done, label or self.label
        now = time.monotonic()
        if self.tty or now - self.last_print > 10 or (done == self.total and self.drawn != done):
            self.last_print, self.drawn = now, done
            self._draw(now)

    def _eta(self, now: float) -> str:
        new = self.done - self.start_done
        if new <= 0:
            return "--:--"
        left = (now - self.t0) / new * (self.total - self.done)
        return f"{int(left // 60):02d}:{int(left % 60):02d}"

    def _draw(self, now: float) -> None:
        width = 28
        fill = int(width * self.done / max(1, self.total))
        line = f"[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} points  ETA {self._eta(now)}  {self.label}"
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
