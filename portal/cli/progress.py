"""A plain text progress bar for long CLI work (stderr, so stdout stays parseable)."""

import sys
import time


class ProgressBar:
    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.started = time.monotonic()

    def __call__(self, label: str, fraction: float) -> None:
        done = int(self.width * max(0.0, min(1.0, fraction)))
        elapsed = time.monotonic() - self.started
        sys.stderr.write(f"\r[{'#' * done}{'.' * (self.width - done)}] {fraction:4.0%} {elapsed:6.1f}s {label:<16}")
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()
