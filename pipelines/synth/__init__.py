"""Seeded synthetic city with ground truth: cameras of two agencies, H.264 clips with readable
plates and real faces, incidents, and ``manifest.json`` describing every plate and face drawn.

>>> from pipelines.synth import generate_city, load_manifest
>>> m = generate_city("/tmp/city", cameras=3, minutes=0.15, seed=1)   # doctest: +SKIP
"""

from pipelines.synth.city import DIFFICULTY, generate_city
from pipelines.synth.manifest import CityManifest, FacePass, PlatePass, VideoTruth, load_manifest

__all__ = [
    "DIFFICULTY",
    "CityManifest",
    "FacePass",
    "PlatePass",
    "VideoTruth",
    "generate_city",
    "load_manifest",
]
