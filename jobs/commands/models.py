"""``pesquisa models list``: the model back-ends, which can run on this machine, which is the default."""

from __future__ import annotations

import argparse

from jobs.output import CliError, Output


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("models", parents=[common], help="model back-ends (plate reader, face models)")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    ls = msub.add_parser(
        "list",
        parents=[common],
        help="back-ends, the devices they run on, whether they can run here and which is the default",
        description="Every model back-end (pipelines/models/backends): its key, task, devices, whether it "
        "can run on this machine (and why not), the default for this machine's device, and the one the "
        "settings select (models.plates / models.faces in HOME/pesquisa.yaml; auto = the default).",
    )
    ls.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default=None,
        help="device to show defaults for (default: the compute.device setting)",
    )
    ls.set_defaults(func=run_list)


def run_list(args: argparse.Namespace, out: Output) -> int:
    from lakehouse.settings import SettingsError, load_settings
    from pipelines.device import torch_device
    from pipelines.models import check_choice, status

    try:
        settings = load_settings(args.home)
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    device = args.device or settings.compute.device
    try:
        here = torch_device(device)
    except RuntimeError as exc:
        raise CliError(str(exc)) from None
    chosen = {"plates": settings.models.plates, "faces": settings.models.faces}
    problems = check_choice(chosen, settings.models.options)
    if problems:
        raise CliError("; ".join(problems))
    rows = status(here, chosen=chosen)
    if out.json_mode:
        for r in rows:
            out.record({**r.as_dict(), "device": here})
        return 0
    out.info(f"device: {here}")
    out.table(
        [
            {
                "key": r.key,
                "task": r.task,
                "devices": ",".join(r.devices),
                "available": "yes" if r.available else "no",
                "default": "default" if r.default else "",
                "selected": "selected" if r.selected else "",
                "notes": r.missing or r.description,
            }
            for r in rows
        ]
    )
    return 0
