"""Stream URLs: credentials never leave the reader.

A camera's ``stream_uri`` may carry credentials (``rtsp://user:pass@host/...``). The reader opens
the URL as given; everything else (rows' ``source_uri``, the status file, logs, error messages,
the app) sees :func:`redact`'s form, where the user-info part is replaced by ``***@``. Query
parameters that carry secrets (``password=``, ``token=`` ...) are masked the same way.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: query keys whose values are secrets
SECRET_KEYS = frozenset(
    {"password", "pass", "passwd", "pwd", "token", "key", "secret", "auth", "user", "username"}
)
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@")


def redact(url: str | None) -> str:
    """``url`` without credentials: ``rtsp://u:p@h:554/x`` -> ``rtsp://***@h:554/x``."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub(r"\g<scheme>***@", url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_KEYS for k, _ in pairs):
            query = urlencode([(k, "***" if k.lower() in SECRET_KEYS else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, url: str | None = None) -> str:
    """``text`` (e.g. an exception message) with ``url`` and any ``scheme://user:pass@`` in it redacted."""
    if url:
        text = text.replace(url, redact(url))
    return _USERINFO.sub(r"\g<scheme>***@", text)
