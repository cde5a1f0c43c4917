"""Face detection + embedding library: MTCNN detection/landmarks, dlib 5-point alignment, dlib ResNet
128-d descriptors, a 0..1 quality score, and an image loader for stills.

``FaceAnalyzer`` is the entry point; models load once per process in ``pipelines.faces.models``.
Importing this package is cheap (torch and dlib load on first use).
"""

from pipelines.faces.analyzer import MODEL_VERSION, FaceAnalyzer, FaceDetection
from pipelines.faces.images import ImageReadError, as_rgb_uint8, load_image_rgb
from pipelines.faces.quality import QUALITY_FLOOR

__all__ = [
    "MODEL_VERSION",
    "QUALITY_FLOOR",
    "FaceAnalyzer",
    "FaceDetection",
    "ImageReadError",
    "as_rgb_uint8",
    "load_image_rgb",
]
