"""How commands talk: human text, or JSON lines with ``--json``. Errors and progress go to stderr."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


class CliError(Exception):
    """A user-facing failure: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _default(o: Any) -> Any:
    if isinstance(o, dt.datetime | dt.date):
        return o.isoformat()
    if isinstance(o, bytes):
        return None
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "item"):
        return o.item()
    return str(o)


class Output:
    def __init__(self, json_mode: bool = False, stream: Any = None):
        self.json_mode = json_mode
        self.stream = stream or sys.stdout

    def record(self, rec: Mapping[str, Any], text: str | None = None) -> None:
        """One result: a JSON line, or ``text`` (default: key=value pairs) for people."""
        if self.json_mode:
            print(json.dumps(dict(rec), default=_default, ensure_ascii=False), file=self.stream, flush=True)
        else:
            print(
                text if text is not None else "  ".join(f"{k}={v}" for k, v in rec.items()), file=self.stream
            )

    def records(self, recs: Iterable[Mapping[str, Any]]) -> int:
        n = 0
        for r in recs:
            self.record(r)
            n += 1
        return n

    def table(self, rows: Sequence[Mapping[str, Any]], columns: list[str] | None = None) -> None:
        """Rows as JSON lines, or as an aligned text table."""
        if self.json_mode:
            self.records(rows)
            return
        if not rows:
            print("(no results)", file=self.stream)
            return
        columns = columns or list(rows[0].keys())
        cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), file=self.stream)
        for row in cells:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)), file=self.stream)

    def info(self, text: str) -> None:
        """Human progress/status: stdout in text mode, stderr in JSON mode (stdout stays parseable)."""
        print(text, file=sys.stderr if self.json_mode else self.stream, flush=True)

    def error(self, text: str) -> None:
        print(f"error: {text}", file=sys.stderr, flush=True)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, bytes):
        return f"<{len(v)} bytes>"
    if isinstance(v, list | tuple):
        s = ",".join(_fmt(x) for x in v[:5])
        return s + ("…" if len(v) > 5 else "")
    return str(v)
