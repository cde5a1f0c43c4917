"""Evidence export (issue 12.6): real models, a real synthetic city (2 cameras, a few seconds), real
Delta tables, the real CLI.

- a fresh package verifies (CLI, library, and WITHOUT Pesquisa: sha256sum -c + openssl pkeyutl);
  flipping any byte of any member fails verification (every member, several positions each);
- refusals (logged): no case, a role without `export`, another agency's id, `--unmask` by a
  non-supervisor;
- masking is checked against the city's GROUND-TRUTH face and plate boxes (not the masking
  detector): every legible bystander box of every exported frame is blurred (Laplacian energy far
  below the source frame's, and MTCNN finds no face there), the subject stays sharp.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow]

CASE = "EXP-2026-01"
POLICE = "police911"
STREET = "ASU-911-002"  # the street camera (faces and plates), police911's
PORTICO = "ASU-MUN-001"  # municipal's
#: ground-truth boxes big enough to identify: faces the detector can see (MTCNN's 20-px minimum),
#: plates wide enough to hold legible characters
MIN_FACE_PX = 20.0
MIN_PLATE_W = 40.0


@pytest.fixture(scope="module")
def world(tmp_path_factory, cli_user):
    """(home, lakehouse, city manifest): a 2-camera, 7-s city ingested with the real models, a
    police911 investigator mapped to the OS user, an open police911 case."""
    import torch

    from lakehouse import Lakehouse
    from pipelines.extract import ingest_paths
    from pipelines.extract.executors import LocalExecutor
    from pipelines.extract.frames import FrameProcessor
    from pipelines.governance import SearchContext
    from pipelines.governance.cases import open_case
    from pipelines.synth import city as synth

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    city = synth.generate_city(
        tmp_path_factory.mktemp("exp-city"),
        cameras=2,
        minutes=0.12,
        seed=11,
        incidents=0,
        progress=False,
        workers=1,
    )
    home = tmp_path_factory.mktemp("exp-home")
    # short clips, detectors on every 3rd frame: keeps the test's model time small
    (home / "pesquisa.yaml").write_text("export:\n  clip_margin_s: 0.5\n  detect_every: 3\n")
    lh = Lakehouse(home=home)
    # no legacy sharing: the municipal portico's reads must stay invisible to police911
    lh.upsert("cameras", [{**c, "shared_with": []} for c in city.cameras])
    executor = LocalExecutor(FrameProcessor(device="cpu"))
    for v in city.videos:
        rep = ingest_paths(
            lh,
            [city.abspath(v.path)],
            camera_id=v.camera_id,
            start=v.start_ts,
            sample_fps=5.0,  # the portico's default is 10: half the model time, reads still found
            progress=False,
            executor=executor,
        )
        assert rep.ok, rep.failed
    cli_user(home, role="investigator", agency=POLICE, name="ines")
    inv = SearchContext(user="ines", role="investigator", agency=POLICE, case_number=CASE, purpose="robbery")
    open_case(lh, inv, CASE, "robbery on the avenue")
    yield home, lh, city
    torch.set_num_threads(threads)


def _ctx(role="investigator", agency=POLICE, case=CASE, user="ines"):
    from pipelines.governance import SearchContext

    return SearchContext(user=user, role=role, agency=agency, case_number=case, purpose="robbery")


def _rows(lh, table):
    return lh.read(table).to_pylist()


def _street_read(lh):
    reads = [r for r in _rows(lh, "plate_reads") if r["camera_id"] == STREET]
    assert reads, "the street camera produced no plate read"
    return max(reads, key=lambda r: r["confidence"] or 0)


def _street_sighting(lh):
    s = [r for r in _rows(lh, "face_sightings") if r["camera_id"] == STREET]
    assert s, "the street camera produced no face sighting"
    return max(s, key=lambda r: r["quality"] or 0)


def _cli(home, *argv):
    from jobs.cli import main

    return main(["--home", str(home), *argv])


def _audit(lh, **match):
    return [r for r in _rows(lh, "audit_log") if all(r.get(k) == v for k, v in match.items())]


@pytest.fixture(scope="module")
def masker():
    from pipelines.governance.export.masking import Masker

    return Masker()


@pytest.fixture(scope="module")
def package(world, tmp_path_factory, masker):
    """A masked package of one street plate read and one face sighting, made by the library."""
    from pipelines.governance.export import ExportRequest, export_evidence

    home, lh, city = world
    out = tmp_path_factory.mktemp("exp-out") / "reads.zip"
    read = _street_read(lh)
    res = export_evidence(lh, _ctx(), ExportRequest(read_ids=(read["read_id"],)), out, masker=masker)
    sighting = _street_sighting(lh)
    out2 = out.with_name("faces.zip")
    res2 = export_evidence(
        lh, _ctx(), ExportRequest(sighting_ids=(sighting["sighting_id"],)), out2, masker=masker
    )
    return res, read, res2, sighting


# --------------------------------------------------------------------------------- verify + tamper
def test_fresh_package_verifies_and_is_audited_and_held(world, package, capsys):
    from pipelines.governance.export import verify_package
    from pipelines.governance.holds import list_holds

    home, lh, _ = world
    res, read, res2, sighting = package
    assert _cli(home, "export", "verify", str(res.path)) == 0
    assert "OK" in capsys.readouterr().out
    v = verify_package(res.path, lh=lh)
    assert v.ok and v.signature_ok and v.key_source == "registered" and v.agency == POLICE
    names = set(zipfile.ZipFile(res.path).namelist())
    assert {"SHA256SUMS", "SHA256SUMS.sig", "report.html", "export.json", "metadata/items.csv"} <= names
    assert any(n.startswith("clips/") for n in names) and any(n.startswith("crops/") for n in names)
    # one export audit row: digest, package hash, no ids and no biometric data
    row = next(r for r in _audit(lh, action="export", outcome="ok") if r["audit_id"] == res.audit_id)
    params = json.loads(row["parameters"])
    assert params["package_sha256"] == res.package_sha256 and params["masked"] is True
    assert read["read_id"] not in row["parameters"] and row["result_count"] == 1
    assert row["result_digest"] == params["exported_ids_sha256"]
    info = json.loads(zipfile.ZipFile(res2.path).read("export.json"))
    assert "embedding" not in zipfile.ZipFile(res2.path).read("metadata/items.json").decode()
    assert info["case_number"] == CASE and info["masked"] is True
    # the exported evidence is held under the case
    held = [h for h in list_holds(lh, active_only=True) if h["case_number"] == CASE]
    assert any(read["read_id"] in (h["read_ids"] or []) for h in held)
    assert any(sighting["sighting_id"] in (h["sighting_ids"] or []) for h in held)
    # ... which is what retention exempts
    from pipelines.governance.holds import exempt_predicate

    assert read["read_id"] in (exempt_predicate("plate_reads", held) or "")
    assert sighting["sighting_id"] in (exempt_predicate("face_sightings", held) or "")


def test_any_changed_byte_of_any_member_fails(world, package, tmp_path, capsys):
    from pipelines.governance.export import verify_members
    from pipelines.governance.export.package import read_members

    home, lh, _ = world
    for res in package[0], package[2]:
        members = read_members(res.path)
        assert verify_members(members, lh=lh).ok
        pub = members["keys/signing-key.pub.pem"]  # registered: checked above; cheap to reuse below
        flips = detected = 0
        for name, data in members.items():
            positions = sorted({0, 1, len(data) // 3, len(data) // 2, len(data) - 2, len(data) - 1})
            bits: tuple[int, ...] = (0x01, 0x80)
            if name.startswith(("SHA256SUMS", "keys/")):
                positions, bits = list(range(len(data))), (0x01,)  # every byte of manifest, signature, key
            for pos in positions:
                for bit in bits:
                    changed = bytearray(data)
                    changed[pos] ^= bit
                    flips += 1
                    tampered = {**members, name: bytes(changed)}
                    detected += not verify_members(tampered, public_key=pub).ok
        assert detected == flips, f"{flips - detected} of {flips} flipped bytes went unnoticed"
        # removing or adding a member fails too
        for name in members:
            assert not verify_members({k: v for k, v in members.items() if k != name}, public_key=pub).ok
        assert not verify_members({**members, "extra.txt": b"planted"}, public_key=pub).ok
        print(f"{res.path.name}: {len(members)} members, {flips} single-bit flips, {detected} detected")
    # and through the CLI on a rewritten zip, one changed byte per member
    src = package[0].path
    members = read_members(src)
    for name in members:
        bad = tmp_path / "bad.zip"
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bad, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename == name:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                zout.writestr(info, data)
        assert _cli(home, "export", "verify", str(bad)) == 1, name
        assert "FAILED" in capsys.readouterr().out
    # a package signed by a key this home never registered fails
    assert _cli(home, "--json", "export", "verify", str(src), "--pubkey", str(_other_key(tmp_path))) == 1


def _other_key(tmp_path: Path) -> Path:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pipelines.governance.keys import public_pem

    p = tmp_path / "other.pem"
    p.write_bytes(public_pem(Ed25519PrivateKey.generate().public_key()))
    return p


@pytest.mark.component
def test_verify_without_pesquisa(world, package, tmp_path):
    """The exact procedure of docs/EVIDENCE.md: unzip, sha256sum -c, openssl pkeyutl -verify -rawin
    with the registered (published) public key."""
    if not (shutil.which("openssl") and shutil.which("sha256sum")):
        pytest.skip("openssl or sha256sum is not installed")
    home, lh, _ = world
    res = package[0]
    assert _cli(home, "export", "keys", "--agency", POLICE, "--out", str(tmp_path / "keys")) == 0
    (key,) = (tmp_path / "keys").glob("*.pem")
    pkg_dir = tmp_path / "pkg"
    zipfile.ZipFile(res.path).extractall(pkg_dir)

    def run(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, cwd=pkg_dir, capture_output=True, text=True, timeout=60)

    sums = run("sha256sum", "-c", "SHA256SUMS")
    assert sums.returncode == 0 and "FAILED" not in sums.stdout, sums.stdout + sums.stderr
    verify = ("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(key), "-rawin")
    sig = run(*verify, "-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig")
    assert sig.returncode == 0 and "Signature Verified Successfully" in sig.stdout, sig.stdout + sig.stderr
    extra = subprocess.run(
        "find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig | sed 's|^\\./||' | sort > ../files.txt && "
        "cut -c67- SHA256SUMS | sort | diff - ../files.txt && echo 'no extra files'",
        shell=True,
        cwd=pkg_dir,
        capture_output=True,
        text=True,
    )
    assert extra.returncode == 0 and "no extra files" in extra.stdout, extra.stdout + extra.stderr
    (pkg_dir / "planted.txt").write_text("added after signing")
    planted = subprocess.run(
        "find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig | sed 's|^\\./||' | sort > ../files.txt && "
        "cut -c67- SHA256SUMS | sort | diff - ../files.txt",
        shell=True,
        cwd=pkg_dir,
        capture_output=True,
        text=True,
    )
    assert planted.returncode != 0 and "planted.txt" in planted.stdout
    (pkg_dir / "planted.txt").unlink()
    kid = subprocess.run(
        f"openssl pkey -pubin -in {key} -outform DER | tail -c 32 | sha256sum",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    assert kid == json.loads((pkg_dir / "export.json").read_text())["signing_key_id"]
    # tampered: a changed clip byte fails sha256sum ...
    clip = next((pkg_dir / "clips").iterdir())
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 1
    clip.write_bytes(bytes(data))
    assert run("sha256sum", "-c", "--quiet", "SHA256SUMS").returncode != 0
    # ... and re-hashing it into the manifest passes sha256sum but fails the signature
    rel = f"clips/{clip.name}"
    lines = [
        (f"{hashlib.sha256(bytes(data)).hexdigest()}  {rel}" if line.endswith(f"  {rel}") else line)
        for line in (pkg_dir / "SHA256SUMS").read_text().splitlines()
    ]
    (pkg_dir / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    assert run("sha256sum", "-c", "--quiet", "SHA256SUMS").returncode == 0
    tampered = run(*verify, "-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig")
    assert tampered.returncode != 0 and "Signature Verified Successfully" not in tampered.stdout


# --------------------------------------------------------------------------------- refusals
def test_refusals_are_logged(world, tmp_path, capsys, cli_user):
    from pipelines.governance.export import ExportRefused, ExportRequest, export_evidence

    home, lh, _ = world
    read = _street_read(lh)
    other = next(r for r in _rows(lh, "plate_reads") if r["camera_id"] == PORTICO)  # municipal's
    out = tmp_path / "x.zip"
    before = len(_audit(lh, action="export", outcome="refused"))
    # no case
    assert _cli(home, "export", "--reads", read["read_id"], str(out)) == 3
    assert "case" in capsys.readouterr().err
    # another agency's id: refused, not dropped
    assert _cli(home, "export", "--case", CASE, "--reads", read["read_id"], other["read_id"], str(out)) == 3
    err = capsys.readouterr().err
    assert "not visible" in err and other["read_id"] in err
    # --unmask by an investigator
    assert _cli(home, "export", "--case", CASE, "--unmask", "--reads", read["read_id"], str(out)) == 3
    assert "unmask" in capsys.readouterr().err
    # a role without the export permission (library: analyst)
    with pytest.raises(ExportRefused, match="may not export"):
        export_evidence(lh, _ctx(role="analyst"), ExportRequest(read_ids=(read["read_id"],)), out)
    # an unknown id
    with pytest.raises(ExportRefused, match="never recorded, or not visible"):
        export_evidence(lh, _ctx(), ExportRequest(read_ids=("no-such-read",)), out)
    refused = _audit(lh, action="export", outcome="refused")
    assert len(refused) - before == 5
    assert not out.exists()
    assert all(read["read_id"] not in (r["parameters"] or "") for r in refused)


def test_unmask_by_supervisor_is_logged(world, tmp_path, cli_user, capsys):
    home, lh, _ = world
    read = _street_read(lh)
    cli_user(home, role="supervisor", agency=POLICE, name="sara")
    try:
        out = tmp_path / "unmasked.zip"
        rc = _cli(
            home,
            "--json",
            "export",
            "--case",
            CASE,
            "--unmask",
            "--clip-margin",
            "0.5",
            "--reads",
            read["read_id"],
            str(out),
        )
        assert rc == 0, capsys.readouterr().err
        rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert rec["masked"] is False
        row = next(r for r in _audit(lh, action="export", outcome="ok") if r["audit_id"] == rec["audit_id"])
        assert json.loads(row["parameters"])["unmask"] is True and row["user"] == "sara"
        assert _cli(home, "export", "verify", str(out)) == 0
    finally:
        cli_user(home, role="investigator", agency=POLICE, name="ines")


# --------------------------------------------------------------------------------- masking
def _lap_energy(gray: np.ndarray) -> float:
    import cv2

    return float(np.mean(np.abs(cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F))))


def _crop_gray(rgb: np.ndarray, box) -> np.ndarray:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    h, w = rgb.shape[:2]
    region = rgb[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)]
    return region.mean(axis=2) if region.size else np.zeros((1, 1))


def _decode(data: bytes) -> list[np.ndarray]:
    import av

    with av.open(io.BytesIO(data)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def _gt_boxes(city, camera_id: str, frame_index: int):
    """[(kind, pass, box)] of the ground truth on one source frame."""
    out = []
    for kind, passes in (("face", city.face_passes), ("plate", city.plate_passes)):
        for p in passes:
            if p.camera_id != camera_id:
                continue
            out.extend((kind, p, b[1:]) for b in p.boxes if b[0] == frame_index)
    return out


def _legible(kind: str, box) -> bool:
    return (box[3] - box[1]) >= MIN_FACE_PX if kind == "face" else (box[2] - box[0]) >= MIN_PLATE_W


def _subject_pass(city, kind, row):
    from pipelines.governance.export.masking import iou

    video = next(v for v in city.videos if v.camera_id == row["camera_id"])
    fi = int(round(float(row["offset_s"]) * video.fps))
    cands = [(iou(b, row["bbox"]), p) for k, p, b in _gt_boxes(city, row["camera_id"], fi) if k == kind]
    best = max(cands, key=lambda c: c[0], default=(0, None))
    assert best[0] > 0.3, f"no ground-truth {kind} under the exported subject's box"
    return best[1], video


def test_masking_against_ground_truth(world, package, masker):
    """Every exported frame: every legible ground-truth bystander face/plate box is blurred, and MTCNN
    finds no face there; the subject stays sharp on its frame."""
    from pipelines.governance.export.clips import read_window

    _, lh, city = world
    stats = {
        "frames": 0,
        "bystander_faces": 0,
        "bystander_plates": 0,
        "faces_detectable_in_source": 0,
        "small_unchecked": 0,
        "small_blurred_anyway": 0,
        "subject_checked": 0,
    }
    worst = 0.0
    for res, row, kind in ((package[0], package[1], "plate"), (package[2], package[3], "face")):
        z = zipfile.ZipFile(res.path)
        meta = json.loads(z.read("metadata/items.json"))[0]
        subject, video = _subject_pass(city, kind, row)
        frames = _decode(z.read(meta["clip"]))
        src = read_window(city.abspath(video.path), meta["clip_start_s"], meta["clip_end_s"])
        assert len(frames) == len(src.frames) == meta["clip_frames"]
        for i, (out, orig) in enumerate(zip(frames, src.frames, strict=True)):
            fi = int(round(src.times[i] * video.fps))
            stats["frames"] += 1
            for k, p, box in _gt_boxes(city, video.camera_id, fi):
                if p is subject:
                    continue
                e_out, e_src = _lap_energy(_crop_gray(out, box)), _lap_energy(_crop_gray(orig, box))
                ratio = e_out / max(e_src, 1e-6)
                if not _legible(k, box):
                    stats["small_unchecked"] += 1
                    stats["small_blurred_anyway"] += ratio < 0.35
                    continue
                worst = max(worst, ratio)
                assert ratio < 0.35, (
                    f"{k} {p.pass_id} at source frame {fi} is not blurred (energy ratio {ratio:.2f})"
                )
                if k == "face":
                    assert not _face_near(masker, out, box), (
                        f"a face is still detectable at source frame {fi}"
                    )
                    stats["faces_detectable_in_source"] += _face_near(masker, orig, box)
                stats["bystander_faces" if k == "face" else "bystander_plates"] += 1
        # the subject stays sharp on its own frame
        at = int(np.argmin(np.abs(np.asarray(src.times) - float(row["offset_s"]))))
        fi = int(round(src.times[at] * video.fps))
        sbox = next(b[1:] for b in subject.boxes if b[0] == fi)
        ratio = _lap_energy(_crop_gray(frames[at], sbox)) / max(
            _lap_energy(_crop_gray(src.frames[at], sbox)), 1e-6
        )
        assert ratio > 0.6, f"the subject {kind} was blurred (energy ratio {ratio:.2f})"
        stats["subject_checked"] += 1
        frame_jpg = _decode_jpeg(z.read(meta["frame"]))
        assert frame_jpg.shape == frames[at].shape
    print("masking checked:", stats, f"worst bystander energy ratio {worst:.3f}")
    assert stats["bystander_faces"] > 0 and stats["bystander_plates"] > 0
    # the detector check is not vacuous: MTCNN finds most of these faces in the source frames
    assert stats["faces_detectable_in_source"] >= stats["bystander_faces"] // 2


def _face_near(masker, rgb: np.ndarray, box) -> bool:
    """MTCNN (the project's face detector) on the region around ``box`` (3x its size): does a face
    overlap the box? The same detector as on the whole frame, at a fraction of the cost."""
    from pipelines.governance.export.masking import iou

    w, h = box[2] - box[0], box[3] - box[1]
    x1, y1 = int(max(0, box[0] - w)), int(max(0, box[1] - h))
    x2, y2 = int(min(rgb.shape[1], box[2] + w)), int(min(rgb.shape[0], box[3] + h))
    region = np.ascontiguousarray(rgb[y1:y2, x1:x2])
    boxes = np.asarray(masker.faces._detect([region])[0][0]).reshape(-1, 4)
    return any(iou((b[0] + x1, b[1] + y1, b[2] + x1, b[3] + y1), box) > 0.3 for b in boxes)


def _decode_jpeg(data: bytes) -> np.ndarray:
    import cv2

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_refused_export_leaves_no_file_and_bad_requests(world, tmp_path):
    from pipelines.governance.export import ExportError, ExportRequest, export_evidence

    _, lh, _ = world
    with pytest.raises(ExportError, match="exactly one"):
        ExportRequest()
    with pytest.raises(ExportError, match="exactly one"):
        ExportRequest(read_ids=("a",), route_plate="ABC123")
    with pytest.raises(ExportError, match=".zip"):
        export_evidence(lh, _ctx(), ExportRequest(read_ids=("a",)), tmp_path / "x.tar")
    assert not list(tmp_path.iterdir())


def test_export_of_a_logged_search_and_of_a_route(world, tmp_path):
    """``--query-audit-id`` re-runs the logged search on the versions it read; ``--route`` exports the
    route's reads (unmasked by a supervisor: no detector time in this test)."""
    from pipelines.governance.export import ExportRequest, export_evidence, verify_package
    from pipelines.governance.scope import ReadScope
    from pipelines.search.plates import PlateQuery, search_plates

    _, lh, _ = world
    read = _street_read(lh)
    found = search_plates(lh, PlateQuery(read["plate"]), ReadScope(ctx=_ctx()))
    aid = next(
        r["audit_id"]
        for r in sorted(_audit(lh, action="plates.search", outcome="ok"), key=lambda r: r["seq"])[::-1]
    )
    sup = _ctx(role="supervisor", user="sara")
    res = export_evidence(
        lh, sup, ExportRequest(query_audit_id=aid, unmask=True, clip_margin_s=0.2), tmp_path / "q.zip"
    )
    assert [i["id"] for i in res.items] == [h["read_id"] for h in found.hits]
    assert verify_package(res.path, lh=lh).ok
    route = export_evidence(
        lh, sup, ExportRequest(route_plate=read["plate"], unmask=True, clip_margin_s=0.2), tmp_path / "r.zip"
    )
    assert read["read_id"] in {i["id"] for i in route.items} and verify_package(route.path, lh=lh).ok
    # a logged search of another case cannot be exported under this one
    from pipelines.governance.export import ExportRefused

    with pytest.raises(ExportRefused, match="no logged search"):
        export_evidence(lh, _ctx(case="OTHER-CASE"), ExportRequest(query_audit_id=aid), tmp_path / "o.zip")
