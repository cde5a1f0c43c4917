"""Resources every domain uses: the lakehouse and the IO manager for derived results."""

from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa

from lakehouse import Lakehouse
from lakehouse.config import resolve_home
from pipelines.movement.derived import derived_path, read_derived, write_derived


class LakehouseResource(dg.ConfigurableResource):
    """The Delta tables under ``home`` (``None``: ``$PESQUISA_HOME``, else ``./data``).

    Object storage comes from the lakehouse's own settings (``PESQUISA_TABLES_URI``,
    ``PESQUISA_STORAGE_OPTIONS``), so the resource stays the same in every environment."""

    home: str | None = None

    @property
    def home_path(self) -> Path:
        return resolve_home(self.home)

    def lakehouse(self) -> Lakehouse:
        return Lakehouse(home=self.home_path)


def _to_arrow(obj: Any) -> pa.Table:
    if isinstance(obj, pa.Table):
        return obj
    if hasattr(obj, "to_arrow"):  # polars DataFrame
        return obj.to_arrow()
    raise TypeError(
        f"derived results must be a pyarrow Table or a polars DataFrame, got {type(obj).__name__}"
    )


class DerivedParquetIOManager(dg.ConfigurableIOManager):
    """Stores asset values (Arrow tables or Polars frames) as Parquet under ``HOME/derived``:
    ``<asset>/<partition>.parquet`` for partitioned assets, ``<asset>.parquet`` otherwise. Each file
    is replaced atomically; loading a partition range concatenates its files."""

    home: str | None = None

    def _name(self, context: dg.OutputContext | dg.InputContext) -> str:
        return "__".join(context.asset_key.path)

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        table = _to_arrow(obj)
        name = self._name(context)
        if context.has_asset_partitions:
            keys = context.asset_partition_keys
            if len(keys) != 1:
                raise ValueError(f"{name}: one partition per output expected, got {len(keys)}")
            path = write_derived(self.home, name, table, keys[0])
        else:
            path = write_derived(self.home, name, table)
        context.add_output_metadata({"rows": table.num_rows, "path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> pa.Table:
        name = self._name(context)
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else None
        table = read_derived(self.home, name, keys)
        if table is None:
            where = derived_path(self.home, name, keys[0] if keys else None)
            raise FileNotFoundError(f"{name} has not been materialized ({where})")
        return table
