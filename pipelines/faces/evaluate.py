"""CCTV-degraded face evaluation: one degraded still per person in the gallery, clean probes.

``python -m pipelines.faces.evaluate`` (reads ``../shared/data/faces``; nothing is downloaded).

- **Identities.** The 6 people of ``face_recognition_examples`` (identity_labels.json), their
  distinct single-person photos (byte-identical copies dropped).
- **Gallery** (a person seen once by a camera): for each condition and round, ONE degraded still
  per person, cut from one of that person's photos (round r uses the person's r-th photo) by
  shrinking the whole photo until the face is 30-60 px and applying the condition's blur, low
  light (darkening + sensor noise) and JPEG compression; plus distractors: the other faces of the
  collection (the stage ensemble of the Hamilton clip, the unlabelled girl in
  obama_and_biden.jpg) that belong to none of the 6 people.
- **Probes.** Every other clean photo of the person (a person with one photo is probed with that
  same photo, clean: noted as ``self`` in the output).
- **Methods**, all on the same stills in the same run: ``before`` (the pipeline as it was: a face
  under the quality floor is not searchable, so the person is missing from the gallery),
  ``plain`` (plain MTCNN + dlib: every face, one descriptor of the 150 px chip), and the
  small-face variants of :mod:`pipelines.faces.enhance` (upscaling before alignment, jittered
  embedding, flip averaging; ``--all-variants``). ``current`` is what :class:`FaceAnalyzer`
  does by default (flip averaging under 64 px).
- **Metrics.** recall@1 / recall@5: the person's still is the nearest / among the 5 nearest
  gallery faces (L2 between dlib descriptors). Counts are printed beside the rates, and the probes
  whose top-1 result flips between ``plain`` and ``current`` are listed (paired comparison).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.faces.enhance import NO_ENHANCEMENT, SmallFaceOptions


@dataclass(frozen=True)
class Condition:
    name: str
    face_px: float
    blur: float = 0.0  # Gaussian sigma at the degraded scale
    dark: float = 1.0  # brightness factor (low light)
    noise: float = 0.0  # sensor noise sigma (grey levels)
    jpeg: int = 75


CONDITIONS = [
    Condition("30px", 30, noise=2.0, jpeg=70),
    Condition("40px blur", 40, blur=1.5, noise=2.0, jpeg=70),
    Condition("60px heavy blur", 60, blur=3.0, noise=2.0, jpeg=70),
    Condition("45px low light", 45, blur=0.5, dark=0.3, noise=5.0, jpeg=60),
    Condition("50px JPEG q8", 50, jpeg=8),
    Condition("35px night + JPEG", 35, blur=0.8, dark=0.35, noise=4.0, jpeg=20),
]

#: the enhancement variants measured beside ``plain`` (faces under 64 px)
VARIANTS: dict[str, SmallFaceOptions] = {
    "upscale": SmallFaceOptions(max_side_px=64, upscale_to=96),
    "jitter": SmallFaceOptions(max_side_px=64, jitter=10),
    "flip": SmallFaceOptions(max_side_px=64, flip=True),
    "upscale+flip": SmallFaceOptions(max_side_px=64, upscale_to=96, flip=True),
    "upscale+jitter": SmallFaceOptions(max_side_px=64, upscale_to=96, jitter=10),
}

DATASET = ("faces", "face_recognition_examples")
HAMILTON = "examples/short_hamilton_clip.mp4"
DISTRACTOR_FRAMES = (225, 250)  # the stage ensemble (Lin-Manuel Miranda is not among these faces)
GROUP_WITH_STRANGER = "examples/knn_examples/test/obama_and_biden.jpg"


@dataclass
class Person:
    identity: str
    photos: list[str]  # relative paths, distinct content


@dataclass
class Outcome:
    hits1: int = 0
    hits5: int = 0
    n: int = 0
    missing: int = 0  # probes whose person had no face in the gallery still (or it was hidden)
    top1: dict[str, bool] = field(default_factory=dict)

    def add(self, key: str, rank: int | None) -> None:
        self.n += 1
        self.hits1 += int(rank == 0)
        self.hits5 += int(rank is not None and rank < 5)
        self.missing += int(rank is None)
        self.top1[key] = rank == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "recall@1": round(self.hits1 / max(self.n, 1), 3),
            "hits@1": self.hits1,
            "recall@5": round(self.hits5 / max(self.n, 1), 3),
            "hits@5": self.hits5,
            "missing": self.missing,
        }


def load_people(root: Path) -> list[Person]:
    labels = json.loads((root / "identity_labels.json").read_text())
    people = []
    for identity, files in labels["identities"].items():
        seen: set[str] = set()
        photos = []
        for rel in files:
            sha = hashlib.sha256((root / rel).read_bytes()).hexdigest()
            if sha not in seen:
                seen.add(sha)
                photos.append(rel)
        people.append(Person(identity, photos))
    return people


def degrade(image: np.ndarray, face_side: float, cond: Condition, seed: int) -> np.ndarray:
    """The photo shrunk so the face is ``cond.face_px`` wide, blurred, darkened, noised, JPEG'd."""
    import cv2

    rng = np.random.default_rng(seed)
    scale = cond.face_px / max(face_side, 1.0)
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
    if cond.blur > 0:
        small = cv2.GaussianBlur(small, (0, 0), cond.blur)
    small = small * cond.dark
    if cond.noise > 0:
        small = small + rng.normal(0.0, cond.noise, small.shape)
    out = np.clip(np.rint(small), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, cond.jpeg]
    )
    assert ok
    out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    pad_y, pad_x = max(0, 200 - out.shape[0]), max(0, 200 - out.shape[1])
    if pad_y or pad_x:  # a CCTV frame is larger than the shrunk photo: replicate its border
        out = cv2.copyMakeBorder(
            out, pad_y // 2, pad_y - pad_y // 2, pad_x // 2, pad_x - pad_x // 2, cv2.BORDER_REPLICATE
        )
    return np.ascontiguousarray(out)


def _analyzers(variants: dict[str, SmallFaceOptions]) -> dict[str, Any]:
    from pipelines.faces import FaceAnalyzer

    out = {"plain": FaceAnalyzer(device="cpu", embed_backend="dlib", small_faces=NO_ENHANCEMENT)}
    for name, opts in variants.items():
        out[name] = FaceAnalyzer(device="cpu", embed_backend="dlib", small_faces=opts)
    out["current"] = FaceAnalyzer(device="cpu", embed_backend="dlib")
    return out


def _largest(faces: list) -> Any:
    return max(faces, key=lambda f: f.area) if faces else None


def _distractors(root: Path, analyzers: dict[str, Any]) -> dict[str, list[np.ndarray]]:
    """Per method, the descriptors of faces that belong to none of the 6 people."""
    import cv2

    from pipelines.faces import load_image_rgb

    images = []
    cap = cv2.VideoCapture(str(root / HAMILTON))
    for fi in DISTRACTOR_FRAMES:
        cap.set(cv2.CAP_PROP_POS_FRAMES, fi)
        ok, frame = cap.read()
        if ok:
            images.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    base = analyzers["plain"]
    out: dict[str, list[np.ndarray]] = {m: [] for m in analyzers}
    for im in images:
        det = base._detect([im])
        for m, a in analyzers.items():
            out[m] += [f.embedding for f in a._describe([im], det)[0]]
    group = load_image_rgb(root / GROUP_WITH_STRANGER)
    det = base._detect([group])
    for m, a in analyzers.items():
        faces = a._describe([group], det)[0]
        if len(faces) >= 3:  # the stranger: the face with the smallest box (the girl at the edge)
            out[m].append(min(faces, key=lambda f: f.area).embedding)
    return out


def evaluate(
    root: Path,
    *,
    rounds: int = 2,
    conditions: list[Condition] | None = None,
    variants: dict[str, SmallFaceOptions] | None = None,
    log=print,
) -> dict[str, Any]:
    """Run the evaluation; returns per method and condition the counts and rates, and the flips."""
    from pipelines.faces import load_image_rgb
    from pipelines.faces.quality import QUALITY_FLOOR

    conditions = conditions or CONDITIONS
    variants = VARIANTS if variants is None else variants
    people = load_people(root)
    analyzers = _analyzers(variants)
    plain = analyzers["plain"]
    methods = ["before", *analyzers]

    clean: dict[str, tuple[np.ndarray, Any]] = {}  # rel -> (image, probe face of the clean photo)
    for p in people:
        for rel in p.photos:
            im = load_image_rgb(root / rel)
            clean[rel] = (im, plain.probe(im))
    no_face = sorted(rel for rel, (_, f) in clean.items() if f is None)
    # a probe is large: the small-face options never apply to it, one descriptor serves every method
    distract = _distractors(root, analyzers)
    log(
        f"{len(people)} people, {len(clean)} distinct photos ({len(no_face)} without a detected face: {no_face}); "
        f"{len(distract['plain'])} distractor faces"
    )

    results: dict[str, dict[str, Outcome]] = {m: {c.name: Outcome() for c in conditions} for m in methods}
    for ci, cond in enumerate(conditions):
        for r in range(rounds):
            gallery: dict[str, dict[str, np.ndarray | None]] = {m: {} for m in methods}
            sources: dict[str, str] = {}
            for pi, p in enumerate(people):
                usable = [rel for rel in p.photos if clean[rel][1] is not None]
                if not usable:
                    continue
                src = usable[r % len(usable)]
                sources[p.identity] = src
                face = clean[src][1]
                side = float(np.sqrt(face.area))
                still = degrade(clean[src][0], side, cond, seed=1000 * ci + 10 * r + pi)
                det = plain._detect([still])
                for m, a in analyzers.items():
                    f = _largest(a._describe([still], det)[0])
                    gallery[m][p.identity] = None if f is None else f.embedding
                    if m == "plain":
                        gallery["before"][p.identity] = (
                            None if f is None or f.quality < QUALITY_FLOOR else f.embedding
                        )
            for p in people:
                if p.identity not in sources:
                    continue
                probes = [rel for rel in p.photos if rel != sources[p.identity] and clean[rel][1] is not None]
                probes = probes or [sources[p.identity]]  # one photo only: probed with itself, clean
                for rel in probes:
                    q = clean[rel][1].embedding
                    key = f"{cond.name} | round {r} | {p.identity} | {rel}" + (
                        " (self)" if rel == sources[p.identity] else ""
                    )
                    for m in methods:
                        rank = _rank(q, p.identity, gallery[m], distract["plain" if m == "before" else m])
                        results[m][cond.name].add(key, rank)
        log(
            f"  {cond.name}: "
            + ", ".join(f"{m} {results[m][cond.name].hits1}/{results[m][cond.name].n}" for m in methods)
        )

    table = {m: {c: o.as_dict() for c, o in per.items()} for m, per in results.items()}
    for m, per in results.items():
        tot = Outcome()
        for o in per.values():
            tot.hits1 += o.hits1
            tot.hits5 += o.hits5
            tot.n += o.n
            tot.missing += o.missing
        table[m]["all"] = tot.as_dict()
    flips = {}
    for m in methods:
        if m == "plain":
            continue
        gained, lost = [], []
        for c in conditions:
            a, b = results["plain"][c.name].top1, results[m][c.name].top1
            gained += [k for k in a if b[k] and not a[k]]
            lost += [k for k in a if a[k] and not b[k]]
        flips[m] = {"gained": gained, "lost": lost}
    return {
        "methods": methods,
        "conditions": [c.name for c in conditions],
        "rounds": rounds,
        "table": table,
        "flips_vs_plain": flips,
        "no_face_photos": no_face,
        "distractors": len(distract["plain"]),
        "current": analyzers["current"].small_faces.tag() or "plain",
    }


def _rank(
    q: np.ndarray, identity: str, gallery: dict[str, np.ndarray | None], distractors: list[np.ndarray]
) -> int | None:
    """0-based rank of ``identity``'s still among all gallery faces by L2 distance; None: not there."""
    mine = gallery.get(identity)
    if mine is None:
        return None
    d_mine = float(np.linalg.norm(mine - q))
    others = [v for k, v in gallery.items() if k != identity and v is not None] + list(distractors)
    return sum(float(np.linalg.norm(v - q)) < d_mine for v in others)


def markdown(res: dict[str, Any]) -> str:
    methods = res["methods"]
    lines = [
        "| condition | n | " + " | ".join(f"{m} r@1 | {m} r@5" for m in methods) + " |",
        "|---|---|" + "---|---|" * len(methods),
    ]
    for c in [*res["conditions"], "all"]:
        row = res["table"][methods[0]][c]
        cells = []
        for m in methods:
            o = res["table"][m][c]
            cells.append(f"{o['recall@1']:.2f} ({o['hits@1']}) | {o['recall@5']:.2f} ({o['hits@5']})")
        lines.append(f"| {c} | {row['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m pipelines.faces.evaluate", description=__doc__.split("\n")[0]
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=None,
        help="face_recognition_examples folder (default: ../shared/data/faces/face_recognition_examples)",
    )
    ap.add_argument("--rounds", type=int, default=2, help="gallery rounds (a different source photo each)")
    ap.add_argument("--json", type=Path, default=None, help="also write the full result here")
    ap.add_argument(
        "--all-variants",
        action="store_true",
        help="also measure every small-face variant (upscale, jitter, flip, combinations); "
        "default: before, plain and current only",
    )
    args = ap.parse_args(argv)
    root = args.data
    if root is None:
        from pipelines.shared_data import shared_path

        root = shared_path(*DATASET)
    if root is None or not (Path(root) / "identity_labels.json").is_file():
        print(f"error: no face_recognition_examples at {root}", file=sys.stderr)
        return 1
    import torch

    torch.set_num_threads(1)
    res = evaluate(
        Path(root),
        rounds=args.rounds,
        variants=VARIANTS if args.all_variants else {},
        log=lambda s: print(s, file=sys.stderr),
    )
    print(markdown(res))
    print(f"\ncurrent = FaceAnalyzer default ({res['current']}); distractors: {res['distractors']}")
    for m, f in res["flips_vs_plain"].items():
        if f["gained"] or f["lost"]:
            print(
                f"{m} vs plain, top-1 gained {len(f['gained'])}: {f['gained']}; lost {len(f['lost'])}: {f['lost']}"
            )
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
