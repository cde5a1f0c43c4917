"""``pesquisa login|logout|whoami`` — prove who runs the CLI (issue 12.1).

``login`` checks the user's app password against the users file and writes a signed token that
expires (``governance.token_hours``), bound to this OS user and this home. Without a token, the
users file's ``os_users`` mapping names the user. Flags and environment variables can only repeat
or narrow the identity, never widen it.
"""

from __future__ import annotations

import argparse

from jobs.output import CliError, Output


def cli_context(args: argparse.Namespace, *, case: str | None = None, purpose: str | None = None):
    """The caller's SearchContext for ``args.home`` (flags ``--user/--role/--agency`` may narrow)."""
    from pipelines.governance import IdentityError, context_from_env

    try:
        return context_from_env(
            user=getattr(args, "user", None),
            role=getattr(args, "role", None),
            agency=getattr(args, "agency", None),
            case_number=case if case is not None else getattr(args, "case", None),
            purpose=purpose if purpose is not None else getattr(args, "purpose", None),
            home=args.home,
        )
    except (IdentityError, ValueError) as exc:
        if isinstance(exc, IdentityError):  # an unknown caller or a widening flag: refused and logged
            from jobs.commands.plates import _log_refusal, _refused_caller

            _log_refusal(args, _refused_caller(args), exc)
        raise CliError(str(exc), code=2) from None


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "login", parents=[common], help="sign in as a Pesquisa user (writes an expiring token)"
    )
    p.add_argument("--user", required=True, help="user name in the users file")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    p.add_argument("--hours", type=float, help="token lifetime (default: setting governance.token_hours)")
    p.set_defaults(func=run_login)
    o = sub.add_parser("logout", parents=[common], help="remove this OS user's login token for the home")
    o.set_defaults(func=run_logout)
    w = sub.add_parser("whoami", parents=[common], help="the identity commands run as, and what it may do")
    w.set_defaults(func=run_whoami)


def run_login(args: argparse.Namespace, out: Output) -> int:
    import getpass
    import math
    import sys

    from lakehouse.settings import get_settings
    from pipelines.governance.identity import IdentityError, login

    hours = args.hours if args.hours is not None else get_settings(args.home).governance.token_hours
    if not math.isfinite(hours) or hours <= 0 or hours > 24 * 31:
        raise CliError("--hours must be a number of hours between 0 and 744", code=2)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    try:
        path = login(args.home, args.user, password, hours=hours)
    except IdentityError as exc:
        raise CliError(str(exc), code=3) from None
    out.record(
        {"user": args.user, "token": str(path), "hours": hours},
        text=f"signed in as {args.user} for {hours:g} h (token {path})",
    )
    return 0


def run_logout(args: argparse.Namespace, out: Output) -> int:
    from pipelines.governance.identity import logout

    removed = logout(args.home)
    out.record({"logged_out": removed}, text="signed out" if removed else "no login token for this home")
    return 0


def run_whoami(args: argparse.Namespace, out: Output) -> int:
    from pipelines.governance.identity import IdentityError, current_identity, permissions_of

    try:
        ident = current_identity(args.home)
    except IdentityError as exc:
        raise CliError(str(exc), code=2) from None
    may = sorted(permissions_of(ident.role))
    rec = {
        "user": ident.user,
        "role": ident.role,
        "agency": ident.agency,
        "source": ident.source,
        "os_user": ident.os_user,
        "may": may,
    }
    out.record(
        rec,
        text=f"{ident.user} ({ident.role}, agency {ident.agency or 'all'}) via {ident.source} "
        f"as OS user {ident.os_user}; may {', '.join(may)}",
    )
    return 0
