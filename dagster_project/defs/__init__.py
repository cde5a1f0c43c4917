"""Definitions grouped by domain: ``extraction`` (video -> tables), ``movement`` (Beam over plate
reads), ``crime`` (crime maps). Shared resources and partitions live beside them."""
