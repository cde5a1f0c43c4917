"""Face quality in 0..1 from four cues: face size, sharpness, pose and detector confidence.

The score is ``size^0.5 * sharpness^0.5 * pose * det^0.5`` (each cue in 0..1), so one bad cue (a
tiny face, heavy blur, a near-profile view, a doubtful detection) pulls the whole score down and two
mediocre ones compound. Quality ranks and filters, it never hides: every detected face is stored and
indexed (a blurred 30-px face of a person seen once may be the only sighting); faces under
``QUALITY_FLOOR`` are only flagged ``searchable=False`` (the floor also picks a probe's face), and
face search shows each hit's quality and filters with ``min_quality``.

Calibrated against whether the dlib descriptor still identifies the person (nearest enrolment photo
is the right identity), on three sets: faces pasted into a synthetic city's video (correct for every
face of side >= 19 px, near chance below: those score <= 0.10), degraded copies of obama-720p.jpg
(Gaussian blur sigma 8 breaks identification: 0.13; sigma 4 does not: 0.49; a 22 px copy still
identifies: 0.28), and the face_recognition example photos (every labelled portrait >= 0.7; the
half-hidden, turned girl in obama_and_biden.jpg, whose chip shows only her chin: 0.16).
Known weak: directional motion blur barely lowers the Laplacian variance.
Change any constant here and bump ``FaceAnalyzer.model_version``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUALITY_FLOOR = 0.2

SIZE_MIN_PX = 12.0  # face side (sqrt of box area) scoring 0
SIZE_FULL_PX = 64.0  # face side scoring 1
# Laplacian variance of the 150 px aligned chip, scored on a log scale between these two values
SHARPNESS_ZERO = 3.0  # featureless: heavy blur, or a face of ~15 px blown up into the chip
SHARPNESS_FULL = 60.0  # a sharp portrait is 80-800
YAW_ZERO = 1.0  # |nose offset from the face midline| / half eye distance at which pose scores 0
PITCH_CENTER = 0.55  # typical (eye-line to nose) / (eye-line to mouth) of a frontal face
PITCH_ZERO = 0.40  # deviation from PITCH_CENTER at which pose scores 0
DET_ZERO = 0.80  # detector probability scoring 0 (MTCNN's final threshold is higher)

EXPONENTS = {"size": 0.5, "sharpness": 0.5, "pose": 1.0, "det": 0.5}


@dataclass(frozen=True)
class QualityParts:
    size: float
    sharpness: float
    pose: float
    det: float

    @property
    def score(self) -> float:
        parts = {"size": self.size, "sharpness": self.sharpness, "pose": self.pose, "det": self.det}
        return float(np.clip(np.prod([max(parts[k], 0.0) ** e for k, e in EXPONENTS.items()]), 0.0, 1.0))


def size_score(bbox: tuple[float, float, float, float]) -> float:
    side = float(np.sqrt(max(bbox[2] - bbox[0], 0.0) * max(bbox[3] - bbox[1], 0.0)))
    return float(np.clip((side - SIZE_MIN_PX) / (SIZE_FULL_PX - SIZE_MIN_PX), 0.0, 1.0))


def laplacian_variance(chip_rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the (aligned, fixed-size) face chip: low for blurred faces and for
    small faces upsampled into the chip."""
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(chip_rgb), cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    inner = gray[h // 8 : h - h // 8, w // 8 : w - w // 8]  # the face, not the padding around it
    return float(cv2.Laplacian(inner, cv2.CV_64F).var())


def sharpness_score(chip_rgb: np.ndarray) -> float:
    v = max(laplacian_variance(chip_rgb), 1e-6)
    return float(np.clip(np.log(v / SHARPNESS_ZERO) / np.log(SHARPNESS_FULL / SHARPNESS_ZERO), 0.0, 1.0))


def pose_score(landmarks: np.ndarray) -> float:
    """Symmetry of MTCNN's 5 points (left eye, right eye, nose, mouth left, mouth right): the nose
    should sit on the eye/mouth midline (yaw) and at its usual height between eyes and mouth (pitch)."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    le, re, nose, ml, mr = pts
    eye_vec = re - le
    eye_dist = float(np.linalg.norm(eye_vec))
    if eye_dist < 1e-6:
        return 0.0
    u = eye_vec / eye_dist
    v = np.array([-u[1], u[0]])  # points "down" the face for an upright face
    eye_mid, mouth_mid = (le + re) / 2.0, (ml + mr) / 2.0
    mid_axis = (eye_mid + mouth_mid) / 2.0
    yaw = abs(float(np.dot(nose - mid_axis, u))) / (eye_dist / 2.0)
    mouth_drop = float(np.dot(mouth_mid - eye_mid, v))
    if mouth_drop <= 1e-6:
        return 0.0
    pitch = float(np.dot(nose - eye_mid, v)) / mouth_drop
    # quadratic: a slightly turned face loses little, a near-profile (nose at an eye) loses all
    yaw_s = np.clip(1.0 - (yaw / YAW_ZERO) ** 2, 0.0, 1.0)
    pitch_s = np.clip(1.0 - ((pitch - PITCH_CENTER) / PITCH_ZERO) ** 2, 0.0, 1.0)
    return float(yaw_s * pitch_s)


def det_score_part(prob: float) -> float:
    return float(np.clip((prob - DET_ZERO) / (1.0 - DET_ZERO), 0.0, 1.0))


def face_quality(
    bbox: tuple[float, float, float, float], det_prob: float, landmarks: np.ndarray, chip_rgb: np.ndarray
) -> QualityParts:
    return QualityParts(
        size=size_score(bbox),
        sharpness=sharpness_score(chip_rgb),
        pose=pose_score(landmarks),
        det=det_score_part(det_prob),
    )
