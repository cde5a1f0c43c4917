"""End to end on the shared real data: ingest with the extraction library, then search.

- faces: every photo of a person with two or more distinct photos finds another photo of that
  person first (byte-identical copies of the probe excluded);
- plates (openalpr EU, 108 photos): searching each label exactly finds its photo wherever the reader
  read it (best read or a candidate), and ``--fuzzy 1`` finds every photo whose reads are within
  1 weighted edit of the label. The counts are printed (run with ``-s``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from jobs.cli import main
from pipelines.governance import SearchContext
from pipelines.search import plate_match as pm

from .conftest import face_hits, plate_hits

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

CTX = SearchContext(user="e2e", role="admin", agency=None, case_number="E2E-1", purpose="evaluation")


def _ingest_paths():
    from pipelines.extract import ingest_paths

    return ingest_paths


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def faces_home(tmp_path_factory, shared_data, ray_session, cli_user):
    ingest_paths = _ingest_paths()
    from lakehouse import Lakehouse

    root = shared_data / "faces" / "face_recognition_examples"
    photos = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    home = tmp_path_factory.mktemp("faces_e2e")
    cli_user(home, role="admin")  # the CLI part acts as a known user (issue 12.1)
    lh = Lakehouse(home=home)
    rep = ingest_paths(lh, photos, camera_id="photos", progress=False)
    assert not rep.failed, rep.failed
    assert rep.face_sightings >= len(photos) - 3
    return lh, root, photos


def _labels(root: Path, photos: list[Path]) -> dict[Path, set[str]]:
    """Photo -> people in it: identity_labels.json, plus byte-identical copies and the
    obama-240p/720p/1080p resolution variants of obama-480p."""
    meta = json.loads((root / "identity_labels.json").read_text())
    who: dict[Path, set[str]] = {}
    for person, files in meta["identities"].items():
        for f in files:
            who.setdefault(root / f, set()).add(person)
    for f, people in meta["group_photos"].items():
        who.setdefault(root / f, set()).update(people)
    by_hash = {_sha(p): people for p, people in who.items()}
    for p in photos:
        if p not in who and _sha(p) in by_hash:
            who[p] = set(by_hash[_sha(p)])
        if p.name.startswith("obama-") and p.name.endswith("p.jpg"):
            who.setdefault(p, set()).add("obama")
    # face_recognition's tests/test_images/32bit.png is obama2.jpg re-encoded as a 32-bit PNG
    who.setdefault(root / "tests/test_images/32bit.png", set()).add("obama")
    return who


def test_face_search_finds_another_photo_of_the_same_person(faces_home, capsys):
    lh, root, photos = faces_home
    who = _labels(root, photos)
    singles = {p: next(iter(s)) for p, s in who.items() if len(s) == 1}
    distinct: dict[str, set[str]] = {}
    for p, person in singles.items():
        distinct.setdefault(person, set()).add(_sha(p))
    probes, seen = [], set()
    for p, person in sorted(singles.items()):
        if len(distinct[person]) >= 2 and _sha(p) not in seen:  # a byte-identical copy gives the same answer
            seen.add(_sha(p))
            probes.append(p)
    assert len(probes) >= 14
    ok, no_face, wrong = 0, [], []
    for probe in probes:
        person, sha = singles[probe], _sha(probe)
        hits = face_hits(lh, probe, CTX, k=10)
        if not hits:
            no_face.append(probe.name)
            continue
        others = [h for h in hits if _sha(Path(h["source_uri"])) != sha]
        top = Path(others[0]["source_uri"])
        if person in who.get(top, set()):
            ok += 1
        else:
            wrong.append(
                (probe.relative_to(root).as_posix(), top.relative_to(root).as_posix(), others[0]["distance"])
            )
    print(
        f"\nface search: {ok}/{len(probes) - len(no_face)} probes find another photo of the same person first"
        f" ({len(no_face)} probes without a searchable face: {no_face}); wrong: {wrong}"
    )
    assert not wrong
    assert len(no_face) <= 2
    # the same through the CLI
    probe = root / "examples/knn_examples/train/biden/biden2.jpg"
    capsys.readouterr()
    rc = main(
        [
            "--home",
            str(Path(lh.storage.root).parent),
            "faces",
            "search",
            str(probe),
            "--k",
            "3",
            "--json",
            "--case",
            "E2E-1",
            "--purpose",
            "evaluation",
        ]
    )
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert rc == 0 and {"sighting_id", "score", "ts", "camera_id", "source_uri", "offset_s"} <= set(out[0])
    assert "biden" in who[Path(out[1]["source_uri"])]


@pytest.fixture(scope="module")
def plates_home(tmp_path_factory, shared_data, ray_session, cli_user):
    ingest_paths = _ingest_paths()
    from lakehouse import Lakehouse

    root = shared_data / "plates" / "openalpr_eu"
    photos = sorted(root.glob("*.jpg"))
    home = tmp_path_factory.mktemp("plates_e2e")
    cli_user(home, role="admin")  # the CLI part acts as a known user (issue 12.1)
    lh = Lakehouse(home=home)
    rep = ingest_paths(lh, photos, camera_id="eu-photos", progress=False)
    assert not rep.failed, rep.failed
    labels = {}
    for txt in sorted(root.glob("*.txt")):
        for line in txt.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 6:
                labels[root / parts[0]] = pm.normalize_plate(parts[5])
    return lh, labels


def test_plate_search_finds_each_labelled_photo(plates_home, capsys):
    lh, labels = plates_home
    reads = lh.read("plate_reads", columns=["source_uri", "plate", "candidates"]).to_pylist()
    texts: dict[str, set[str]] = {}
    for r in reads:
        s = texts.setdefault(r["source_uri"], set())
        s.update(t for t in [r["plate"]] + [c["text"] for c in r["candidates"] or []] if t)
    exact_expected = exact_found = fuzzy_expected = fuzzy_found = 0
    misses = []
    for photo, label in labels.items():
        seen = texts.get(str(photo), set())
        best_d = min((pm.distance(label, t) for t in seen), default=99)
        if label in seen:
            exact_expected += 1
            hits = plate_hits(lh, label, CTX, limit=0)
            found = any(h["source_uri"] == str(photo) for h in hits)
            exact_found += found
            if not found:
                misses.append(("exact", photo.name, label))
        if best_d <= 1:
            fuzzy_expected += 1
            hits = plate_hits(lh, label, CTX, fuzzy=1, limit=0)
            found = any(h["source_uri"] == str(photo) for h in hits)
            fuzzy_found += found
            if not found:
                misses.append(("fuzzy", photo.name, label, best_d))
    print(
        f"\nplates: {len(labels)} labelled photos; exact search finds {exact_found} "
        f"(the reader read {exact_expected} of them exactly, best read or candidate); "
        f"--fuzzy 1 finds {fuzzy_found} of the {fuzzy_expected} read within 1 weighted edit"
    )
    assert len(labels) == 108
    assert exact_found == exact_expected and fuzzy_found == fuzzy_expected, misses
    assert exact_expected >= 50
    # the CLI, for one of them
    photo, label = next((p, lab) for p, lab in labels.items() if lab in texts.get(str(p), set()))
    capsys.readouterr()
    rc = main(
        [
            "--home",
            str(Path(lh.storage.root).parent),
            "plates",
            "search",
            label,
            "--json",
            "--case",
            "E2E-1",
            "--purpose",
            "evaluation",
        ]
    )
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert rc == 0 and str(photo) in {h["source_uri"] for h in out}
