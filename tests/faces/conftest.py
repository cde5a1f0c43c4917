"""Fixtures for the face library tests: one analyzer per session (models load once per process) and
the face_recognition example photos with their identity labels."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class FaceExamples:
    root: Path
    identities: dict[str, list[str]]  # identity -> relative paths (single-person photos)
    group_photos: dict[str, list[str]]  # relative path -> identities in it

    def path(self, rel: str) -> Path:
        return self.root / rel

    def sha256(self, rel: str) -> str:
        return hashlib.sha256(self.path(rel).read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def face_examples(shared_data: Path) -> FaceExamples:
    root = shared_data / "faces" / "face_recognition_examples"
    if not (root / "identity_labels.json").is_file():
        pytest.skip(f"{root} is missing from the shared data")
    labels = json.loads((root / "identity_labels.json").read_text())
    return FaceExamples(root=root, identities=labels["identities"], group_photos=labels["group_photos"])


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Run these tests on one torch thread: on a busy shared machine two spinning OpenMP threads per
    process make MTCNN 5x slower in wall time; one thread keeps the suite's time predictable."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def analyzer():
    """The CPU analyzer (the tested path); PESQUISA_DEVICE is honoured like everywhere else."""
    from pipelines.faces import FaceAnalyzer

    return FaceAnalyzer(device="cpu")
