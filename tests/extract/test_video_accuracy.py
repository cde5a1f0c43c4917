"""Real plate photos played as an H.264 clip (pipelines.synth.photo_clip) and read through
``ingest_paths`` (what ``pesquisa ingest`` calls) with the recorded-video defaults: at least as many
plates read exactly as plain RapidOCR reads on every frame the pipeline samples (issue 15)."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = [pytest.mark.shared_data]

#: four photos of the 8-photo clip of benchmarks/video_accuracy.py (plates 59-101 px tall)
PHOTOS = ("eu1.jpg", "test_005.jpg", "test_021.jpg", "test_066.jpg")


def _samples(shared_data, names):
    from pipelines.plates.evaluate import load_samples

    by_name = {s.image.name: s for s in load_samples(shared_data / "plates" / "openalpr_eu")}
    return [by_name[n] for n in names]


def test_photo_clip_ground_truth(shared_data, tmp_path) -> None:
    import av

    from pipelines.synth.photo_clip import build_photo_clip, load_photo_clip

    samples = _samples(shared_data, PHOTOS[:2])
    clip = build_photo_clip(samples, tmp_path / "two.mp4", hold_s=0.4, fps=25)
    again = load_photo_clip(clip.path)
    assert again.shown == clip.shown and again.seconds == pytest.approx(0.8)
    assert [s.plate for s in again.shown] == [s.plate for s in samples]
    assert again.at(0.1).file == PHOTOS[0] and again.at(0.5).file == PHOTOS[1] and again.at(0.9) is None
    for s in again.shown:  # the view zooms in: the plate grows during its hold
        assert s.plate_px[1] > s.plate_px[0] > 10
    with av.open(str(clip.path)) as c:
        st = c.streams.video[0]
        assert (st.codec_context.name, st.width, st.height, st.frames) == ("h264", 1280, 720, 20)


@pytest.mark.slow
def test_photo_clip_ingest_reads_at_least_as_many_plates_as_plain_rapidocr(shared_data, tmp_path) -> None:
    from lakehouse import Lakehouse
    from pipelines.extract import ingest_paths
    from pipelines.extract.clip_accuracy import plain_frames, score_frames, score_rows
    from pipelines.extract.executors import LocalExecutor
    from pipelines.extract.frames import FrameProcessor
    from pipelines.synth.photo_clip import build_photo_clip

    clip = build_photo_clip(_samples(shared_data, PHOTOS), tmp_path / "clip.mp4", hold_s=2.0)
    lh = Lakehouse(home=tmp_path / "home")
    lh.upsert(
        "cameras",
        [
            {
                "camera_id": "EU-1",
                "agency": "municipal",
                "lat": 0.0,
                "lon": 0.0,
                "kind": "street",
                "plate_format": "EU",
            }
        ],
    )
    rep = ingest_paths(
        lh,
        [clip.path],
        camera_id="EU-1",
        start=dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC),
        progress=False,
        executor=LocalExecutor(FrameProcessor(device="cpu", faces=False, threads=1)),
    )
    assert rep.ok, rep.failed
    ours = score_rows(clip, lh.read("plate_reads", columns=["offset_s", "plate"]).to_pylist())
    plain = score_frames(clip, plain_frames(clip.path, 5.0, "package").frames)  # street camera: 5 fps
    assert len(plain.exact) >= 2  # the comparison means something: plain reads most of these plates
    assert len(ours.exact) >= len(plain.exact), (sorted(ours.exact), sorted(plain.exact))
    assert ours.wrong <= 1, ours.summary()  # no stream of misreads to get there
