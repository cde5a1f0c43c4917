"""``pesquisa export`` — evidence packages (issue 12.6).

    pesquisa export --case C (--reads ID... | --sightings ID... | --route PLATE | --query-audit-id N) OUT.zip
    pesquisa export verify OUT.zip [--pubkey KEY.pem]
    pesquisa export keys [--agency A] [--out DIR]

An export needs a case (refused and logged without one) and the ``export`` permission; bystanders
are blurred unless ``--unmask`` (supervisors and admins; logged). ``verify`` checks every file
against the signed manifest and the signature against the key registered in the home (or
``--pubkey``); it exits 1 on any failure. ``keys`` prints (or writes) the registered public keys an
agency publishes so that packages verify without Pesquisa (docs/EVIDENCE.md).
"""

from __future__ import annotations

import argparse

from jobs.commands.login import cli_context
from jobs.output import CliError, Output

DEFAULT_PURPOSE = "evidence export"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export",
        parents=[common],
        help="export a signed evidence package (or: export verify PACKAGE.zip, export keys)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "target",
        nargs="*",
        metavar="OUT.zip | verify PACKAGE.zip | keys",
        help="the package to write; or `verify PACKAGE.zip`; or `keys`",
    )
    g = p.add_argument_group("case and identity (every export is audited)")
    g.add_argument("--case", help="case the export belongs to (or PESQUISA_CASE); required")
    g.add_argument("--purpose", help=f"why (default: {DEFAULT_PURPOSE!r})")
    g.add_argument("--user", help="must be you (`pesquisa whoami`)")
    g.add_argument("--role", help="narrow to a role with fewer permissions (never widens)")
    g.add_argument("--agency", help="must be your agency (an admin may narrow to one); keys: that agency's")
    p.add_argument("--reads", nargs="+", action="extend", metavar="READ_ID", help="plate reads to export")
    p.add_argument(
        "--sightings", nargs="+", action="extend", metavar="SIGHTING_ID", help="face sightings to export"
    )
    p.add_argument("--route", metavar="PLATE", help="export every sighting of this plate's route")
    p.add_argument(
        "--query-audit-id", metavar="N", help="export the results of a logged search (its audit id)"
    )
    p.add_argument(
        "--unmask", action="store_true", help="do not blur bystanders (supervisors and admins; logged)"
    )
    p.add_argument(
        "--clip-margin",
        type=float,
        metavar="S",
        help="seconds before/after each item (setting export.clip_margin_s)",
    )
    p.add_argument(
        "--pubkey", metavar="PEM", help="verify: trust this public key instead of the home's registry"
    )
    p.add_argument(
        "--out", metavar="DIR", help="keys: write each registered public key as DIR/<agency>-<id>.pem"
    )
    p.set_defaults(func=run)


def _split_target(args: argparse.Namespace) -> list[str]:
    """``--reads a b OUT.zip`` puts OUT.zip among the ids: take it back as the target."""
    target = list(args.target or [])
    if not target:
        for name in ("reads", "sightings"):
            ids = getattr(args, name) or []
            if ids and ids[-1].lower().endswith(".zip"):
                target.append(ids.pop())
                break
    return target


def run(args: argparse.Namespace, out: Output) -> int:
    target = _split_target(args)
    if target[:1] == ["verify"]:
        if len(target) != 2:
            raise CliError("usage: pesquisa export verify PACKAGE.zip [--pubkey KEY.pem]", code=2)
        return run_verify(args, out, target[1])
    if target[:1] == ["keys"]:
        return run_keys(args, out)
    if len(target) != 1:
        raise CliError("name one package to write: pesquisa export --case C --reads ID... OUT.zip", code=2)
    return run_export(args, out, target[0])


def run_export(args: argparse.Namespace, out: Output, path: str) -> int:
    from lakehouse import Lakehouse
    from pipelines.governance.export import ExportError, ExportRefused, ExportRequest, export_evidence
    from pipelines.governance.export.clips import ClipError
    from pipelines.governance.identity import PermissionDenied

    ctx = cli_context(args, purpose=args.purpose or (DEFAULT_PURPOSE if args.case else None))
    lh = Lakehouse(home=args.home)
    try:
        req = ExportRequest(
            read_ids=tuple(args.reads or ()),
            sighting_ids=tuple(args.sightings or ()),
            route_plate=args.route,
            query_audit_id=args.query_audit_id,
            unmask=bool(args.unmask),
            clip_margin_s=args.clip_margin,
        )
        res = export_evidence(lh, ctx, req, path)
    except (ExportRefused, PermissionDenied, PermissionError) as exc:
        raise CliError(f"export refused: {exc}", code=3) from None
    except (ExportError, ClipError, ValueError) as exc:
        raise CliError(str(exc), code=2) from None
    text = (
        f"wrote {res.path} ({len(res.items)} items, {res.frames} frames, "
        f"{'bystanders masked: ' + str(res.boxes_blurred) + ' boxes blurred' if res.masked else 'UNMASKED'})\n"
        f"  package sha256 {res.package_sha256}\n  signed by key {res.key_id}\n"
        f"  audit {res.audit_id}, hold {res.hold_id} under case {ctx.case_number}"
        + "".join(f"\n  note: {n}" for n in res.notes)
    )
    out.record(res.as_dict(), text=text)
    return 0


def run_verify(args: argparse.Namespace, out: Output, path: str) -> int:
    from pathlib import Path

    from lakehouse import Lakehouse
    from pipelines.governance.export import verify_package

    if not Path(path).is_file():
        raise CliError(f"no package at {path}", code=2)
    pub = None
    if args.pubkey:
        try:
            pub = Path(args.pubkey).read_bytes()
        except OSError as exc:
            raise CliError(f"cannot read --pubkey {args.pubkey}: {exc}", code=2) from None
    lh = Lakehouse(home=args.home) if pub is None else None
    res = verify_package(path, lh=lh, public_key=pub)
    lines = [
        f"{'OK' if res.ok else 'FAILED'}: {path}",
        f"  files: {res.files_ok}/{res.files_checked} match {'SHA256SUMS'}",
        f"  signature: {'valid' if res.signature_ok else 'NOT valid'} (key {res.key_id or '?'}, {res.key_source or 'no key'})",
        f"  case {res.case_number}, agency {res.agency}",
        *[f"  problem: {p}" for p in res.problems],
    ]
    out.record(res.as_dict(), text="\n".join(lines))
    return 0 if res.ok else 1


def run_keys(args: argparse.Namespace, out: Output) -> int:
    from pathlib import Path

    from lakehouse import Lakehouse
    from pipelines.governance.keys import registered_keys

    rows = registered_keys(Lakehouse(home=args.home), agency=args.agency)
    if args.out:
        d = Path(args.out)
        d.mkdir(parents=True, exist_ok=True)
        for r in rows:
            (d / f"{r['agency'] or '_all'}-{r['key_id'][:16]}.pem").write_text(r["public_pem"])
    cols = ["key_id", "agency", "purpose", "created_at", "created_by", "public_pem"]
    out.table([{k: r.get(k) for k in cols} for r in rows], cols)
    return 0
