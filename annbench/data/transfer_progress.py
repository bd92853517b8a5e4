"""Progress of a long byte transfer on stderr: a tqdm bar on a terminal, a few plain lines otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"


class Progress:
    """``update(n)`` as bytes arrive; ``close()`` at the end. Plain lines come every 10% or every minute."""

    STEP = 10          # percent between plain lines
    EVERY_S = 60.0     # at the latest, a plain line this often

    def __init__(self, label: str, total: int | None, done: int = 0, show: bool = True,
                 stream: TextIO | None = None):
        self.label, self.total, self.done = label, total, done
        self.stream = sys.stderr if stream is None else stream
        self.show = show
        self.bar = None
        self._next_pct = (done * 100 // total // self.STEP + 1) * self.STEP if total else 0
        self._last_line = time.monotonic()
        if show and _is_terminal(self.stream):
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, desc=label, unit="B", unit_scale=True,
                            unit_divisor=1000, file=self.stream, leave=False, dynamic_ncols=True)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.show:
            self._plain_line()

    def _plain_line(self) -> None:
        now = time.monotonic()
        pct = self.done * 100 // self.total if self.total else None
        if (pct is not None and pct >= self._next_pct) or now - self._last_line >= self.EVERY_S:
            of = f" of {human_bytes(self.total)}" if self.total else ""
            share = f"{pct}% " if pct is not None else ""
            print(f"annbench: {self.label}: {share}({human_bytes(self.done)}{of})", file=self.stream, flush=True)
            self._last_line = now
            if pct is not None:
                self._next_pct = (pct // self.STEP + 1) * self.STEP

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
