"""The second recogniser's network: a small CRNN with a CTC head (torch).

Input: ``(N, 1, 32, 128)`` grayscale crops scaled to [-1, 1] (:func:`pipelines.plates.second.data.to_input`).
Four conv blocks (16-32-64-96 channels, batch norm, ReLU) pool the height from 32 to 2 and the
width from 128 to 32; a (2, 3) convolution folds the height away; a bidirectional LSTM (96 per
direction) reads the 32 columns; a linear layer gives, per time step, log-probabilities over
:data:`CLASSES` = blank + ``0-9A-Z`` (the order of :data:`pipelines.plates.text.ALPHABET`, so a
step maps onto the plate reader's reduced (T, 38) layout with no table). About 0.35 M parameters,
25 M multiply-adds per crop.
"""

from __future__ import annotations

import torch
from torch import nn

from pipelines.plates.text import ALPHABET

from .data import INPUT_W

#: CTC classes: 0 = blank, then ALPHABET (digits first)
CLASSES = 1 + len(ALPHABET)
STEPS = INPUT_W // 4  # time steps per crop


def _block(cin: int, cout: int, pool: tuple[int, int]) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(pool, pool),
    ]


class PlateCRNN(nn.Module):
    """Conv feature extractor + BiLSTM + linear CTC head; ``forward`` gives (T, N, CLASSES) log-probs."""

    def __init__(self, hidden: int = 96) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_block(1, 16, (2, 2)),  # 16 x 64
            *_block(16, 32, (2, 2)),  # 8 x 32
            *_block(32, 64, (2, 1)),  # 4 x 32
            *_block(64, 96, (2, 1)),  # 2 x 32
            nn.Conv2d(96, 128, (2, 3), padding=(0, 1), bias=False),  # 1 x 32
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
        )
        self.rnn = nn.LSTM(128, hidden, batch_first=False, bidirectional=True)
        self.head = nn.Linear(2 * hidden, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x).squeeze(2)  # (N, C, T)
        seq = f.permute(2, 0, 1)  # (T, N, C)
        out, _ = self.rnn(seq)
        return torch.log_softmax(self.head(out), dim=-1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
