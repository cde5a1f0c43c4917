"""The one home of the extraction model version: a string that changes whenever weights,
thresholds or pre-processing change anywhere on the way from a frame to a row.

It joins this pipeline's own version (sampling, motion gating, tracking, voting) with the plate
reader's and the face analyzer's versions. Backfills may write rows under another version string
(``ingest_paths(..., model_version=...)``), e.g. to re-run a source with a tuned configuration.
"""

from __future__ import annotations

#: bump when sampling, gating, tracking, voting, detector settings (e.g. the smallest face looked for
#: in video, pipelines.extract.frames.VIDEO_MIN_FACE_PX) or row building change what rows come out
#: v2: plate tracks read by fusing their frames' probabilities; v3: recorded profile for accuracy
#: (plate detector at 960 px, whole frames that move: settings ``extraction``); v4: two sure reads of
#: different plates split a track, and fusion pools O/0 and I/1 where the camera's layout decides
PIPELINE_VERSION = "extract-v4"


def extraction_model_version() -> str:
    from pipelines.faces import MODEL_VERSION as FACES_VERSION
    from pipelines.plates import MODEL_VERSION as PLATES_VERSION

    return f"{PIPELINE_VERSION}+{PLATES_VERSION}+{FACES_VERSION}"


EXTRACTION_MODEL_VERSION: str = extraction_model_version()
