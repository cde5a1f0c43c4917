"""The one typed door to Pesquisa's Delta tables.

``lakehouse`` imports nothing else from the project. Table schemas live in :mod:`lakehouse.specs`,
storage settings in :mod:`lakehouse.config`, writes in :mod:`lakehouse.writer`, reads in
:mod:`lakehouse.reader`, upkeep in :mod:`lakehouse.maintenance`.
"""

from lakehouse.config import StorageConfig
from lakehouse.specs import TABLES, TableSpec, spec
from lakehouse.store import Lakehouse

__all__ = ["TABLES", "Lakehouse", "StorageConfig", "TableSpec", "spec"]
