"""A fake monotonic clock: time only moves when a test (or a fake sleep) moves it."""
from __future__ import annotations


class FakeClock:
    def __init__(self, start_ns: int = 1_000_000_000) -> None:
        self.now_ns = start_ns

    def monotonic_ns(self) -> int:
        return self.now_ns

    def monotonic(self) -> float:
        return self.now_ns / 1e9

    def advance(self, seconds: float) -> None:
        self.now_ns += int(seconds * 1e9)

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
