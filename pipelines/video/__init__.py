"""Video and still-image sources: find them, probe them, decode and sample their frames (PyAV).

- :mod:`pipelines.video.sources`  which files under the given paths are videos or stills;
- :mod:`pipelines.video.decode`   :class:`VideoReader`: threaded PyAV decoding, sampling at a
  target rate, and the checks that turn truncated / corrupt / unsupported input into a
  :class:`DecodeError` with a one-line reason;
- :mod:`pipelines.video.stills`   still images (EXIF orientation and capture time).
"""

from pipelines.video.decode import DecodedFrame, VideoInfo, VideoReader, probe_video
from pipelines.video.errors import DecodeError
from pipelines.video.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES, SourceFile, discover
from pipelines.video.stills import Still, load_still

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "DecodeError",
    "DecodedFrame",
    "SourceFile",
    "Still",
    "VideoInfo",
    "VideoReader",
    "discover",
    "load_still",
    "probe_video",
]
