# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Crime hot spots for a district
#
# An analyst's notebook: import incidents, count them per H3 cell, find Gi* hot spots, read the
# hour x weekday profile and test for near repeats. It calls the same library functions as the CLI
# (`pesquisa crime ...`) and the app's Crime map page.
#
# Open it with `jupytext --to notebook notebooks/crime_hotspots.py`, or run it as a script:
# `PESQUISA_HOME=./data python notebooks/crime_hotspots.py`. With an empty home it generates a
# synthetic district first.

# %%
import datetime as dt
import tempfile
from pathlib import Path

from lakehouse import Lakehouse
from lakehouse.config import env_home
from lakehouse.timeutil import TimeRange
from pipelines.crime.heatmap import h3_counts
from pipelines.crime.hotspots import gi_star, hot_cells
from pipelines.crime.importer import import_incidents
from pipelines.crime.near_repeat import knox
from pipelines.crime.temporal import hour_weekday
from pipelines.synth.incidents import generate_incidents, write_incidents_csv

home = Path(env_home() or tempfile.mkdtemp(prefix="pesquisa-nb-"))
lh = Lakehouse(home=home)

# %% [markdown]
# ## Incidents
# Use what the home already holds; otherwise plant a synthetic district in Asunción.

# %%
if lh.count("incidents") == 0:
    synthetic = generate_incidents(
        4000, (-57.66, -25.32, -57.56, -25.25), seed=11, start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    csv = home / "incidents_notebook.csv"
    write_incidents_csv(synthetic.rows, csv)
    report = import_incidents(lh, csv)
    print(f"imported {report.rows_read} rows, {report.missing_coords} without coordinates")
print("incidents:", lh.count("incidents"))

# %% [markdown]
# ## Counts per H3 cell (resolution 9, ~170 m)

# %%
# One meaning of a time window everywhere (lakehouse.timeutil): "--to 2026-03-31" is the whole of
# March 31st in the home time zone (setting time.zone), as in `pesquisa crime heatmap --to`.
window = TimeRange.parse("2026-01-01", "2026-03-31", tz=lh.settings.time.zone)
counts = h3_counts(lh, res=9, start=window.start, end=window.end)
print(counts.sort("count", descending=True).head(10))

# %% [markdown]
# ## Gi* hot spots

# %%
gi = gi_star(lh, res=9, k=1)
hot = hot_cells(gi, alpha=0.05)
print(f"{len(hot)} hot cells of {gi.height}")
print(gi.head(10).select("h3", "count", "z", "p"))

# %% [markdown]
# ## Hour x weekday profile (local time)

# %%
hours = hour_weekday(lh, tz="America/Asuncion")
print(hours.head(10))

# %% [markdown]
# ## Near repeats (Knox test)

# %%
result = knox(lh, permutations=49, seed=1)
print(result.table)
print("close pairs (<= 200 m, <= 7 days):", result.close)
