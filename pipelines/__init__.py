"""The compute library: video sources, extraction, Ray actors, Beam pipelines, face index, search,
movement and crime analytics. Imports ``lakehouse``; never an entry point (CLI, Dagster, app)."""
