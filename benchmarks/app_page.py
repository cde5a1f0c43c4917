"""The plate search page over a big table: Streamlit AppTest runs of the real page vs the bare library
call it makes, side by side.

    python -m benchmarks.app_page --quick      # 1,000,000 plate reads (a few minutes on 2 cores)
    python -m benchmarks.app_page --rows 5000000
    python -m benchmarks.app_page --smoke      # a few thousand rows, report to a temp dir

Synthetic reads are written through ``Lakehouse.write_stream`` (one commit, the product's schema,
``date`` partitions over 30 days) with 40 cameras of two agencies (a quarter shared), plates in the
PY format drawn from 200k vehicles, two OCR candidates per read (the read and a B->8 / 0->O
confusion) and a real JPEG crop in every row. The plate index is built once after the write (as the
ingest pipeline leaves it). Then, for each query kind (exact plate, wildcard, fuzzy=1), signed in as
a police investigator with a case open:

- ``library``: ``search_plates`` alone (what the CLI runs);
- ``page``: one AppTest rerun of the Plate search page after pressing Search — the search, the
  crop lookup for the hits, and rendering the table, gallery and sidebar.

Results go to ``benchmarks/results/app_page.md``; data to ``benchmarks/out/app_page`` (gitignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import smoke

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "out" / "app_page"
RESULTS = HERE / "results" / "app_page.md"
APP_MAIN = HERE.parent / "app" / "main.py"
PASSWORD = "bench-password-1"
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
END = dt.datetime(2026, 11, 10, tzinfo=dt.UTC)


# ====================================================================== data
def cameras(n: int = 40, seed: int = 3) -> list[dict[str, Any]]:
    """``n`` cameras around Asunción: half municipal, half police911; every fourth shared."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        agency = "municipal" if i % 2 == 0 else "police911"
        other = "police911" if agency == "municipal" else "municipal"
        out.append(
            {
                "camera_id": f"{agency[:3].upper()}-{i:03d}",
                "agency": agency,
                "name": f"{'Portico' if i % 5 == 0 else 'Street'} {i}",
                "lat": float(-25.30 + rng.uniform(0, 0.1)),
                "lon": float(-57.65 + rng.uniform(0, 0.12)),
                "kind": "portico" if i % 5 == 0 else "street",
                "shared_with": [other] if i % 4 == 0 else [],
            }
        )
    return out


def plate_jpeg(text: str, size: tuple[int, int] = (88, 24), quality: int = 50) -> bytes:
    """A real JPEG of a plate-like image showing ``text``."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, (245, 245, 240))
    draw = ImageDraw.Draw(img)
    draw.rectangle([1, 1, size[0] - 2, size[1] - 2], outline=(20, 20, 20), width=2)
    font = ImageFont.load_default(size=int(size[1] * 0.6))
    draw.text((size[0] // 2, size[1] // 2 + 1), text, fill=(15, 15, 15), font=font, anchor="mm")
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def plate_pool(distinct: int, seed: int) -> np.ndarray:
    """``distinct`` random plates in the PY format ABCD123."""
    rng = np.random.default_rng(seed)
    letters, digits = np.array(list(LETTERS)), np.array(list("0123456789"))
    parts = [letters[rng.integers(0, len(letters), distinct)] for _ in range(4)]
    parts += [digits[rng.integers(0, 10, distinct)] for _ in range(3)]
    out = parts[0]
    for p in parts[1:]:
        out = np.char.add(out, p)
    return out.astype(str)


def plate_chunks(
    n: int,
    cams: list[dict[str, Any]],
    pool: np.ndarray,
    *,
    seed: int = 1,
    days: int = 30,
    chunk: int = 100_000,
) -> Iterator[Any]:
    """``n`` plate reads as Arrow tables of ``chunk`` rows (row ``i`` is read ``r{i}``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    crops = [plate_jpeg(p) for p in pool[:32]]
    crop_lens = np.array([len(c) for c in crops], dtype=np.int64)
    pool_arr = pa.array(pool)
    cam_arr = pa.array([c["camera_id"] for c in cams])
    agency_arr = pa.array([c["agency"] for c in cams])
    video_arr = pa.array([f"v-{c['camera_id']}" for c in cams])
    uri_arr = pa.array([f"/videos/{c['camera_id']}.mp4" for c in cams])
    t0 = np.datetime64(END.replace(tzinfo=None), "us") - np.timedelta64(days, "D")
    cand_type = pa.list_(pa.struct([("text", pa.string()), ("score", pa.float32())]))
    for lo in range(0, n, chunk):
        m = min(chunk, n - lo)
        plates = pool_arr.take(pa.array(rng.integers(0, len(pool), m)))
        alt = pc.replace_substring(pc.replace_substring(plates, "B", "8"), "0", "O")
        idx = pa.array(rng.integers(0, len(cams), m))
        ts = t0 + rng.integers(0, days * 86_400_000_000, m).astype("timedelta64[us]")
        conf = rng.uniform(0.5, 0.99, m).astype(np.float32)
        inter = pa.array(np.stack([np.arange(m), np.arange(m) + m], axis=1).ravel())
        cand = pa.StructArray.from_arrays(
            [
                pa.concat_arrays([plates, alt]).take(inter),
                pa.array(np.stack([conf, conf * 0.5], axis=1).ravel()),
            ],
            names=["text", "score"],
        )
        candidates = pa.ListArray.from_arrays(pa.array(np.arange(0, 2 * m + 1, 2, dtype=np.int32)), cand)
        # crops built from buffers (Arrow's take on a varying-length binary column is slow here)
        pick = rng.integers(0, len(crops), m)
        offsets = np.concatenate([[0], np.cumsum(crop_lens[pick])]).astype(np.int32)
        crop_col = pa.Array.from_buffers(
            pa.binary(), m, [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(crops[i] for i in pick))]
        )
        yield pa.table(
            {
                "read_id": pc.binary_join_element_wise(
                    "r", pc.cast(pa.array(np.arange(lo, lo + m)), pa.string()), ""
                ),
                "camera_id": cam_arr.take(idx),
                "video_id": video_arr.take(idx),
                "source_uri": uri_arr.take(idx),
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "offset_s": pa.array(rng.uniform(0, 600, m)),
                "plate": plates,
                "plate_raw": plates,
                "plate_format": pa.array(["PY"] * m),
                "confidence": pa.array(conf),
                "candidates": candidates.cast(cand_type),
                "crop_jpeg": crop_col,
                "track_len": pa.array(rng.integers(3, 40, m).astype(np.int32)),
                "model_version": pa.array(["bench-v1"] * m),
                "agency": agency_arr.take(idx),
            }
        )


def build_home(home: str | Path, rows: int, *, seed: int = 7, distinct: int = 200_000) -> dict[str, Any]:
    """Write cameras, ``rows`` plate reads (one commit) and a users file; build the plate index.
    Returns timings and the plate pool's first plates (for queries)."""
    from app.auth import add_user
    from lakehouse import Lakehouse
    from pipelines.cameras import import_camera_rows
    from pipelines.search.plate_index import PlateIndex

    home = Path(home)
    lh = Lakehouse(home=home)
    cams = cameras()
    import_camera_rows(lh, cams)
    pool = plate_pool(distinct, seed)
    t0 = time.perf_counter()
    lh.write_stream(
        "plate_reads", (b for t in plate_chunks(rows, cams, pool, seed=seed + 1) for b in t.to_batches())
    )
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    PlateIndex(lh).update()
    index_s = time.perf_counter() - t0
    add_user(home / "users.yaml", "ana", PASSWORD, "investigator", "police911", name="Ana Benítez")
    return {
        "rows": lh.count("plate_reads"),
        "write_s": write_s,
        "index_s": index_s,
        "pool": pool[:1000].tolist(),
    }


def queries(pool: list[str]) -> dict[str, tuple[str, int]]:
    """One query per kind, built from plates that exist in the table."""
    from pipelines.plates.text import partners

    p = pool[3]
    swap = (partners(p[4]) or ["Q"])[0]  # the cheapest OCR confusion of the first digit (9 has none)
    confused = p[:4] + swap + p[5:]
    return {"exact": (p, 0), "wildcard": (p[:2] + "?" + p[3] + "*", 0), "fuzzy=1": (confused, 1)}


# ====================================================================== timing
def _env(home: Path) -> None:
    os.environ["PESQUISA_HOME"] = str(home)
    os.environ["PESQUISA_USERS_FILE"] = str(home / "users.yaml")
    os.environ["PESQUISA_MAP_STYLE"] = "none"


def signed_in_page(home: str | Path, case: str = "BENCH-1"):
    """An AppTest on the Plate search page, signed in as the police investigator, case open."""
    from streamlit.testing.v1 import AppTest

    _env(Path(home))
    at = AppTest.from_file(str(APP_MAIN), default_timeout=120)
    at.run()
    at.text_input(key="signin_user").set_value("ana")
    at.text_input(key="signin_password").set_value(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    at.text_input(key="case_number_input").set_value(case)
    at.text_area(key="case_purpose_input").set_value("benchmark of the plate search page")
    next(b for b in at.button if b.label == "Open case").click()
    at.run()
    if at.exception:
        raise RuntimeError(f"app error: {at.exception}")
    return at


def time_page(at, pattern: str, fuzzy: int) -> tuple[float, int]:
    """Seconds for one page rerun that runs the search and renders its results; the row count."""
    at.text_input(key="plate_pattern").set_value(pattern)
    at.select_slider(key="plate_fuzzy").set_value(fuzzy)
    next(b for b in at.button if b.label == "Search").click()
    t0 = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"app error: {at.exception}")
    rows = len(at.dataframe[0].value) if at.dataframe else 0
    return seconds, rows


def time_library(home: str | Path, pattern: str, fuzzy: int) -> tuple[float, int]:
    from lakehouse import Lakehouse
    from pipelines.governance import SearchContext
    from pipelines.governance.scope import ReadScope
    from pipelines.search.plates import PlateQuery, search_plates

    ctx = SearchContext(
        user="ana", role="investigator", agency="police911", case_number="BENCH-1", purpose="benchmark"
    )
    t0 = time.perf_counter()
    res = search_plates(Lakehouse(home=home), PlateQuery(pattern, fuzzy=fuzzy), ReadScope(ctx))
    return time.perf_counter() - t0, len(res.hits)


def measure(home: str | Path, pool: list[str], repeats: int = 5) -> list[dict[str, Any]]:
    at = signed_in_page(home)
    out = []
    first = True
    for kind, (pattern, fuzzy) in queries(pool).items():
        lib = [time_library(home, pattern, fuzzy) for _ in range(repeats)]
        page = [time_page(at, pattern, fuzzy) for _ in range(repeats)]
        out.append(
            {
                "kind": kind,
                "pattern": pattern,
                "fuzzy": fuzzy,
                "hits": page[0][1],
                "library_median_s": statistics.median(x for x, _ in lib),
                "page_median_s": statistics.median(x for x, _ in page),
                "page_max_s": max(x for x, _ in page),
                "page_first_s": page[0][0] if first else None,
            }
        )
        first = False
    return out


# ====================================================================== report
def write_markdown(
    build: dict[str, Any], results: list[dict[str, Any]], args: argparse.Namespace, path: Path = RESULTS
) -> None:
    lines = [
        "## app_page — Plate search page over a big table",
        "",
        f"`python -m benchmarks.app_page {'--quick' if args.quick else f'--rows {args.rows}'}` · "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()} · "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"{build['rows']:,} plate reads (30 daily partitions, 40 cameras, JPEG crop in every row); "
        f"write {build['write_s']:.1f} s, plate index build {build['index_s']:.1f} s. Signed in as a police "
        "investigator (agency scope applies), limit 100, whole history. `page` = one AppTest rerun of the Plate "
        "search page after pressing Search (search + crop lookup + table, gallery, sidebar); `library` = the bare "
        f"`search_plates` call. Medians of {args.repeats} runs.",
        "",
        "| query | pattern | hits | library (s) | page (s) | page max (s) | page / library |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['kind']} | `{r['pattern']}` | {r['hits']} | {r['library_median_s']:.3f} | "
            f"{r['page_median_s']:.3f} | {r['page_max_s']:.3f} | "
            f"{r['page_median_s'] / max(r['library_median_s'], 1e-9):.1f}x |"
        )
    if results and results[0]["page_first_s"] is not None:
        lines += ["", f"First page search in a fresh session: {results[0]['page_first_s']:.3f} s."]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000,000 rows (the default size)")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the generated home under benchmarks/out/")
    ap.add_argument("--smoke", action="store_true", help=smoke.HELP)
    args = ap.parse_args(argv)
    if args.quick:
        args.rows = 1_000_000
    out_dir, results_path, distinct = OUT_DIR, RESULTS, 200_000
    if args.smoke:
        tmp = smoke.smoke_dir("app_page")
        out_dir, results_path, distinct = tmp, tmp / "app_page.md", 300
        args.rows, args.repeats = 3000, 1
    os.environ.setdefault("PESQUISA_BCRYPT_ROUNDS", "4")
    home = out_dir / f"home-{args.rows}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    try:
        build = build_home(home, args.rows, distinct=distinct)
        print(
            f"built {build['rows']:,} rows: write {build['write_s']:.1f} s, index {build['index_s']:.1f} s",
            file=sys.stderr,
        )
        results = measure(home, build["pool"], args.repeats)
        for r in results:
            print(r, file=sys.stderr)
        write_markdown(build, results, args, results_path)
        print(results_path.read_text())
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
