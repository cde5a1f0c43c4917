"""``pesquisa models list``: the model back-ends, which can run on this machine, which is the default;
``pesquisa models train-plates``: rebuild the second plate recogniser's weights."""

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
        "settings select (models.plates / models.faces / models.plate_second in HOME/pesquisa.yaml; "
        "auto = the default).",
    )
    ls.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default=None,
        help="device to show defaults for (default: the compute.device setting)",
    )
    ls.set_defaults(func=run_list)
    tp = msub.add_parser(
        "train-plates",
        parents=[common],
        help="train the second plate recogniser on synthetic plates (deterministic; < 1 h on 2 CPU cores)",
        description="Train the project's plate CRNN (pipelines/plates/second) from scratch on synthetic plates "
        "of every supported country (held-out font and seeds stay for evaluation) and write its weights and "
        "JSON sidecar (SHA-256, command, split, timing). Same as `make train-plates`.",
    )
    from pipelines.plates.second.options import add_arguments

    add_arguments(tp)
    tp.set_defaults(func=run_train_plates)


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
    chosen = {
        "plates": settings.models.plates,
        "faces": settings.models.faces,
        "plate_second": settings.models.plate_second,
    }
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


def run_train_plates(args: argparse.Namespace, out: Output) -> int:
    from pipelines.plates.second.train import train

    try:
        meta = train(
            args.out,
            steps=args.steps,
            batch=args.batch,
            seed=args.seed,
            threads=args.threads,
            workers=args.workers,
            lr=args.lr,
            log=out.info,
        )
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from None
    keys = ("file", "sha256", "bytes", "parameters", "steps", "train_seconds", "val_exact")
    out.record(
        {k: meta[k] for k in keys},
        text=f"wrote {args.out} ({meta['bytes']} bytes, sha256 "
        f"{meta['sha256']}), {meta['train_seconds']} s, validation exact {meta['val_exact']:.3f}",
    )
    return 0
