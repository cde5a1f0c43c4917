"""Dagster's movement config derives from the library's MovementParams: every threshold exists in
both with one default (the library's), and the config builds exactly those params."""

from __future__ import annotations

import dataclasses

from dagster_project.defs.movement.assets import MovementConfig
from pipelines.movement import MovementParams


def test_config_has_every_param_with_the_library_default() -> None:
    fields = MovementConfig.model_fields
    for f in dataclasses.fields(MovementParams):
        assert f.name in fields, f.name
        assert fields[f.name].default == f.default, (f.name, fields[f.name].default, f.default)
    assert MovementConfig().params() == MovementParams()
    assert MovementConfig(gap_s=60.0, flow_bucket_s=3600.0).params() == MovementParams(
        gap_s=60.0, flow_bucket_s=3600.0
    )
