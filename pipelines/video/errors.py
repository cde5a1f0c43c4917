"""The one error type for input that cannot be decoded."""

from __future__ import annotations


class DecodeError(Exception):
    """A source cannot be (fully) decoded. ``str(err)`` is a one-line reason without the path."""

    def __init__(self, reason: str):
        super().__init__(" ".join(str(reason).split()))
        self.reason = str(self)
