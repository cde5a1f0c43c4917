"""Live video: cameras' streams -> the same frame processor, tables and alarms as recorded video.

- :mod:`~pipelines.live.urls`       credentials never leave the reader (:func:`redact`);
- :mod:`~pipelines.live.source`     PyAV reader: timeouts, joining mid-GOP, quiet end = outage;
- :mod:`~pipelines.live.profile`    the live profile (sampling, gating, frame-drop policy);
- :mod:`~pipelines.live.camera`     one light Ray actor per camera (decode, gate, track, rows);
- :mod:`~pipelines.live.rows`       segment ids (stream x time slice) and stable row ids;
- :mod:`~pipelines.live.commit`     micro-batches: one committer per table, MERGE on ids, alarms;
- :mod:`~pipelines.live.status`     per-camera status (``read_status``) for the CLI and the app;
- :mod:`~pipelines.live.run`        :func:`run_streams`, the driver (``pesquisa stream run``);
- :mod:`~pipelines.live.simulator`  a simulated camera on loopback (ffmpeg, MPEG-TS over UDP).
"""

from pipelines.live.status import read_status
from pipelines.live.urls import redact

__all__ = ["read_status", "redact"]
