"""``pesquisa faces search|index`` — face search by probe photo, and the FAISS index (DESIGN.md §7, §9).

``faces search`` needs ``--case`` and ``--purpose`` (or the environment) and is audited, like plate
searches (see :mod:`jobs.commands.plates` for the identity options).
"""

from __future__ import annotations

import argparse

from jobs.commands.plates import add_filter_args, add_identity_args, area_from_args, read_scope
from jobs.output import CliError, Output

HIT_COLUMNS = ["score", "distance", "quality", "ts", "camera_id", "source_uri", "offset_s", "sighting_id"]


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("faces", parents=[common], help="face search by photo; the face index")
    ps = p.add_subparsers(dest="faces_command", metavar="ACTION")
    ps.required = True

    s = ps.add_parser("search", parents=[common], help="sightings most similar to the face in a photo")
    s.add_argument("image", help="probe photo (JPEG/PNG); its largest good face is searched")
    s.add_argument("--k", type=int, default=20, metavar="N", help="hits to return (default 20)")
    s.add_argument(
        "--min-quality",
        type=float,
        default=None,
        metavar="Q",
        help="only faces of at least this quality (0..1; default: every face, small and blurred "
        "ones included, ranked by similarity with their quality shown)",
    )
    add_filter_args(s)
    add_identity_args(s)
    s.set_defaults(func=run_search)

    i = ps.add_parser("index", parents=[common], help="build / update the face index (FAISS)")
    i.add_argument("--rebuild", action="store_true", help="start over from the table")
    i.add_argument("--status", action="store_true", help="only show the index state")
    i.set_defaults(func=run_index)


def run_search(args: argparse.Namespace, out: Output) -> int:
    scope = read_scope(args)
    ctx = scope.ctx
    area = area_from_args(args)
    if args.k <= 0:
        raise CliError("--k must be at least 1", code=2)
    if args.min_quality is not None and not 0.0 <= args.min_quality <= 1.0:
        raise CliError("--min-quality must be between 0 and 1", code=2)
    from lakehouse import Lakehouse
    from pipelines.faces import ImageReadError
    from pipelines.search.faces import FaceQuery, search_faces

    lh = Lakehouse(home=args.home)
    try:
        query = FaceQuery(
            image=args.image, k=args.k, cameras=args.camera, area=area, min_quality=args.min_quality
        )
        res = search_faces(lh, query, scope)
    except (ImageReadError, FileNotFoundError) as exc:
        raise CliError(f"cannot read {args.image}: {exc}") from None
    if not res.face_found:
        out.info(f"no face found in {args.image} (search audited with 0 results)")
        return 0
    if args.json:
        out.records(res.hits)
    else:
        out.table(res.hits, HIT_COLUMNS)
    out.info(
        f"{len(res.hits)} sightings (probe quality {res.probe_quality:.2f}, index {res.index.get('kind')}, "
        f"{res.index.get('vectors')} faces) — {res.seconds:.2f}s, case {ctx.case_number} (audited)"
    )
    return 0


def run_index(args: argparse.Namespace, out: Output) -> int:
    from lakehouse import Lakehouse
    from pipelines.search.face_index import FaceIndex

    index = FaceIndex(Lakehouse(home=args.home))
    if args.status:
        out.record(index.status())
        return 0
    out.record(index.update(rebuild=args.rebuild))
    return 0
