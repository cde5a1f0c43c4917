"""``pesquisa app [--port N] [--host H] [--users FILE] [--open]``: serve the Streamlit app.

``pesquisa app --add-user NAME --role ROLE [--agency A]`` adds (or resets) a user instead; the
password is read from stdin or prompted for, and only its bcrypt hash is stored.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from jobs.output import CliError, Output

ROLES = ("investigator", "analyst", "supervisor", "engineer", "admin")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("app", parents=[common], help="serve the Streamlit app (search, maps, ingest status)")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.add_argument("--host", default="localhost", help="address to bind (default localhost; 0.0.0.0 for all)")
    p.add_argument(
        "--users", metavar="FILE", help="users file (default HOME/users.yaml, created on first run)"
    )
    p.add_argument("--open", action="store_true", help="open a browser once the app is up")
    p.add_argument("--add-user", metavar="NAME", help="add or reset a user in the users file, then exit")
    p.add_argument("--role", choices=ROLES, help="with --add-user: the user's role")
    p.add_argument("--agency", help="with --add-user: the user's agency (admins may omit it)")
    p.add_argument("--full-name", help="with --add-user: display name")
    p.add_argument(
        "--os-user",
        action="append",
        metavar="ACCOUNT",
        help="with --add-user: an OS account the CLI maps to this user (repeatable; root only if named)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    from app.auth import UsersFileError, add_user, default_users_file, set_os_users

    home = Path(args.home).expanduser().resolve()
    users = Path(args.users).expanduser().resolve() if args.users else default_users_file(home)
    if args.add_user:
        if not args.role:
            raise CliError("--add-user needs --role")
        password = _read_password()
        try:
            user = add_user(users, args.add_user, password, args.role, args.agency, args.full_name)
            if args.os_user:
                set_os_users(users, args.add_user, args.os_user)
        except (UsersFileError, ValueError) as exc:
            raise CliError(str(exc)) from exc
        out.record(
            {"user": user.username, "role": user.role, "agency": user.agency, "users_file": str(users)},
            text=f"saved user {user.username} ({user.role}, {user.agency or 'all agencies'}) in {users}",
        )
        return 0
    if not 0 < args.port < 65536:
        raise CliError(f"--port {args.port} is not a valid port")

    from app.server import serve_app

    try:
        return serve_app(
            home, port=args.port, open_browser=args.open, users_file=users, host=args.host, say=out.info
        )
    except (UsersFileError, TimeoutError, RuntimeError) as exc:
        raise CliError(str(exc)) from exc


def _read_password() -> str:
    if sys.stdin.isatty():
        pw = getpass.getpass("password: ")
        if pw != getpass.getpass("again: "):
            raise CliError("the passwords differ")
    else:
        pw = sys.stdin.readline().rstrip("\n")
    if len(pw) < 8:
        raise CliError("the password needs at least 8 characters")
    return pw
