"""The one place RapidOCR is constructed: text detection and recognition for the plate reader.

Which execution provider (CPU or CUDA) an engine uses is chosen by the plate back-end that builds it
(:mod:`pipelines.models.backends.rapidocr_onnx_cpu` / ``rapidocr_onnx_cuda``); this module only
builds what it is told.

RapidOCR 3.10 ships PP-OCRv6 small det/rec ONNX models inside the package; this module points it at
those files explicitly (``Det.model_path``/``Rec.model_path``), so a missing file is a clear error
and never a download. Every ``use_*`` flag is passed on each call: RapidOCR keeps a flag given to
one call for the next ones.

Recognition goes through RapidOCR's own session and resizing, but keeps the whole softmax
(RapidOCR's decoder keeps only the arg-max and the mean score): each decoded character comes with
its probability and the probabilities of every ``A-Z0-9`` alternative at that position, which the
format decoder (:mod:`pipelines.plates.decode`) uses for repairs and top-N candidates.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .text import ALPHABET as ALNUM

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
DET_LIMIT_SIDE = 960
ENGINE_VERSION = "rapidocr3.10-ppocrv6s"


def model_dir() -> Path:
    """``site-packages/rapidocr/models``, where the wheel ships its ONNX files."""
    import importlib.util

    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("rapidocr is not installed (pip install rapidocr==3.10.0)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@dataclass
class LineText:
    """One recognised text line: characters with their probabilities and alternatives."""

    text: str  # decoded characters as the model emitted them (may hold ' ', '-', ...)
    probs: np.ndarray  # (len(text),) probability of each emitted character
    alnum_probs: np.ndarray  # (len(text), 36) probability of each of ALNUM at that character
    ctc: np.ndarray | None = None  # (T, 38) per-timestep: blank, ALNUM (cases pooled), any other (fusion)

    @property
    def score(self) -> float:
        return float(self.probs.mean()) if len(self.probs) else 0.0


class OcrEngine:
    """RapidOCR detector + recogniser on ONNX Runtime's CPU or CUDA execution provider."""

    def __init__(
        self, device: str = "cpu", det_limit_side: int = DET_LIMIT_SIDE, threads: int | None = None
    ) -> None:
        from rapidocr import RapidOCR

        if device not in ("cpu", "cuda"):  # the back-end decides; "auto" is resolved before here
            raise ValueError(f"OCR engine device must be cpu or cuda (ONNX Runtime provider), not {device!r}")

        models = model_dir()
        det_path, rec_path = models / DET_MODEL, models / REC_MODEL
        for p in (det_path, rec_path):
            if not p.is_file():
                raise FileNotFoundError(f"RapidOCR model {p} is missing; reinstall rapidocr==3.10.0")
        self.device = device
        self.det_limit_side = det_limit_side
        params = {
            "Global.use_det": True,
            "Global.use_cls": False,
            "Global.use_rec": True,
            "Global.log_level": "error",
            "Global.model_root_dir": str(models),
            "Det.limit_type": "max",
            "Det.limit_side_len": det_limit_side,
            "Det.model_path": str(det_path),
            "Rec.model_path": str(rec_path),
            "EngineConfig.onnxruntime.use_cuda": self.device == "cuda",
        }
        if threads:  # e.g. one per Ray actor: ONNX Runtime's default pool spins on every core
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(threads)
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        self.ocr = RapidOCR(params=params)
        self._lock = threading.Lock()
        self._det = self.ocr._load_det_model()
        self._rec = self.ocr._load_rec_model()
        chars = list(self._rec.postprocess_op.character)
        self._charset = chars
        # a letter's probability is that of its upper- plus its lower-case form
        self._alnum_idx = np.array([chars.index(c) for c in ALNUM])
        self._alnum_lower = np.array([chars.index(c.lower()) if c.isalpha() else 0 for c in ALNUM])
        self._alnum_is_letter = np.array([c.isalpha() for c in ALNUM])

    # -- detection -------------------------------------------------------------------------------
    def detect(self, bgr: np.ndarray, limit_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Text boxes as quads (N, 4, 2) in ``bgr``'s pixels, and their detector scores (N,)."""
        with self._lock:
            self._det.limit_side_len = limit_side or self.det_limit_side
            try:
                out = self.ocr(
                    bgr,
                    use_det=True,
                    use_cls=False,
                    use_rec=False,
                    return_word_box=False,
                    return_single_char_box=False,
                )
            finally:
                self._det.limit_side_len = self.det_limit_side
        boxes = getattr(out, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return np.zeros((0, 4, 2), np.float32), np.zeros((0,), np.float32)
        return np.asarray(boxes, np.float32), np.asarray(out.scores, np.float32)

    # -- recognition -----------------------------------------------------------------------------
    def recognize(self, crops: list[np.ndarray]) -> list[LineText]:
        """Recognise BGR line crops, one :class:`LineText` each (same order)."""
        if not crops:
            return []
        rec = self._rec
        _, img_h, img_w = rec.rec_image_shape
        order = np.argsort([c.shape[1] / max(c.shape[0], 1) for c in crops])
        out: list[LineText | None] = [None] * len(crops)
        batch = max(1, int(rec.rec_batch_num))
        for start in range(0, len(crops), batch):
            idx = order[start : start + batch]
            ratio = max([img_w / img_h] + [crops[i].shape[1] / max(crops[i].shape[0], 1) for i in idx])
            x = np.concatenate([rec.resize_norm_img(crops[i], ratio)[None] for i in idx]).astype(np.float32)
            with self._lock:
                probs = rec.session(x)
            for j, i in enumerate(idx):
                out[i] = self._decode(probs[j])
        return [o for o in out if o is not None]

    def _decode(self, p: np.ndarray) -> LineText:
        """CTC greedy decode keeping, per emitted character, its best time step's distribution."""
        idx = p.argmax(axis=1)
        chars, probs, rows = [], [], []
        prev = -1
        for t, k in enumerate(idx):
            if k != prev and k != 0:
                chars.append(self._charset[k])
                probs.append(p[t, k])
                rows.append(t)
            elif k == prev and k != 0 and p[t, k] > probs[-1]:
                probs[-1] = p[t, k]
                rows[-1] = t
            prev = k
        if rows:
            sel = p[rows]
            alnum = sel[:, self._alnum_idx] + sel[:, self._alnum_lower] * self._alnum_is_letter
        else:
            alnum = np.zeros((0, len(ALNUM)), np.float32)
        return LineText("".join(chars), np.asarray(probs, np.float32), alnum, self.reduce(p))

    def reduce(self, p: np.ndarray) -> np.ndarray:
        """A (T, C) softmax over the model's charset as (T, 38): blank, each ``A-Z0-9`` (upper and
        lower case pooled), and everything else (separators, symbols, other scripts)."""
        al = p[:, self._alnum_idx] + p[:, self._alnum_lower] * self._alnum_is_letter
        other = np.clip(1.0 - p[:, 0] - al.sum(axis=1), 0.0, None)
        return np.concatenate([p[:, :1], al, other[:, None]], axis=1).astype(np.float32)


@functools.cache
def load_engine(
    device: str = "cpu", threads: int | None = None, det_limit_side: int = DET_LIMIT_SIDE
) -> OcrEngine:
    """One engine per process and configuration (models load once, ~0.5 s); ``threads`` caps ONNX
    Runtime's intra-op threads (default: its own choice, one per core)."""
    return OcrEngine(device, det_limit_side=det_limit_side, threads=threads)


def get_engine(device: str = "auto", threads: int | None = None, backend: str | None = None) -> OcrEngine:
    """The OCR engine of the plate back-end ``backend`` (None: the ``models.plates`` setting, whose
    default ``auto`` is the default back-end for ``device``), see :mod:`pipelines.models`."""
    from pipelines.models import plate_backend

    return plate_backend(backend, device).engine(threads)
