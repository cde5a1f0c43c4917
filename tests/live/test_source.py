"""The live reader against real ffmpeg streams on loopback (no models): MPEG-TS over UDP, RTSP pushed
to Pesquisa listening, HLS (ffmpeg's live playlist served by a loopback ``http.server``) and MPEG-TS
over HTTP (ffmpeg serving). Joining mid-stream decodes from the next keyframe, a killed source is an
outage within the read timeout (UDP: timeout; RTSP listen, HLS, HTTP: a quiet end or an I/O error),
and the credentials never appear in what the reader reports."""

from __future__ import annotations

import time

import pytest

from pipelines.live.simulator import SimulatedCamera
from pipelines.live.source import LiveSource, SourceOutage

pytestmark = pytest.mark.component  # real ffmpeg streams: a skip fails under CI=true


@pytest.mark.parametrize("protocol", ["udp", "rtsp", "hls", "http"])
def test_join_read_and_outage(live_clip, protocol, capfd, caplog):
    _city, video, clip, _events = live_clip
    sim = SimulatedCamera(clip, fps=video.fps, frames=video.frames, protocol=protocol).start()
    try:
        if protocol == "udp":
            time.sleep(1.3)  # join mid-GOP: the first packets are not decodable
        elif protocol == "hls":
            sim.wait_started()
            time.sleep(1.5)  # the first 1-s segment complete in the playlist
        elif protocol == "http":
            time.sleep(1.5)  # ffmpeg listening (it streams once the reader connects)
        url = sim.url.replace("://", "://cam:pw123@") if protocol != "rtsp" else sim.url
        src = LiveSource(url, read_timeout_s=3.0)
        n, killed_at, first = 0, None, None
        with pytest.raises(SourceOutage) as err:
            for lf in src.frames():
                n += 1
                first = first or lf
                assert abs(time.time() - lf.wall_ts) < 5.0
                if n == 30:
                    sim.stop()
                    killed_at = time.time()
        assert killed_at is not None and time.time() - killed_at <= 10.0
        assert n >= 30 and src.width == video.width and src.height == video.height
        assert "pw123" not in str(err.value) and "pw123" not in src.name
        # FFmpeg's own messages (stderr of this process) and Python logging never carry it either
        out, errs = capfd.readouterr()
        assert "pw123" not in out + errs and "pw123" not in caplog.text
    finally:
        sim.stop()


def test_a_reader_behind_drops_up_to_the_next_keyframe(live_clip):
    """A consumer slower than real time (a starved CPU: here 10 frames/s of a 25 fps stream): the
    reader drops packets once it is ``max_decode_lag_s`` behind, so its lag stays bounded (about
    the limit plus one keyframe interval) instead of growing by 0.6 s every second."""
    _city, video, clip, _events = live_clip
    with SimulatedCamera(clip, fps=video.fps, frames=video.frames) as sim:
        src = LiveSource(sim.url, read_timeout_s=3.0, max_decode_lag_s=1.0)
        lags: list[float] = []
        t0 = time.time()
        for lf in src.frames():
            lags.append(time.time() - lf.wall_ts)
            time.sleep(0.1)
            if time.time() - t0 > 12.0:
                break
        src.close()
    assert src.dropped_behind > 0
    late = lags[len(lags) // 2 :]
    assert max(late) < 3.5, f"lag kept growing: {max(late):.1f} s"
