"""A torch port of dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``), for
the CUDA path: dlib-bin is built without CUDA, so on a GPU the descriptor runs here instead.

The weights are read straight from dlib's serialized ``.dat`` file (no conversion step, nothing
downloaded). The format: dlib writes the network innermost layer first, so the layer records appear in
forward order; each record starts with a length-prefixed name (``con_4``, ``affine_``, ``relu_``,
``max_pool_2``, ``avg_pool_2``, ``add_prev_``, ``fc_2``). Integers are dlib's variable-length encoding
(a size byte, 0x80 = negative, then little-endian bytes); tensors are version, n, k, nr, nc, then raw
little-endian float32. Tag/skip layers carry no record: a residual block is ``con affine relu con
affine [avg_pool] add_prev relu``, where ``avg_pool`` marks a downsampling block whose shortcut is the
2x2-average-pooled block input. ``add_prev`` follows dlib's rule: the output takes the larger size in
every dimension and missing elements count as zero.

Verified against dlib's own output on CPU (tests/faces/test_torch_port.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_RECORD = re.compile(rb"\x01([\x03-\x20])([a-z][a-z_0-9]{2,31})")
_NAMES = {
    "input_rgb_image_sized",
    "con_4",
    "affine_",
    "relu_",
    "max_pool_2",
    "avg_pool_2",
    "add_prev_",
    "fc_2",
}


class _Reader:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos

    def int(self) -> int:
        head = self.data[self.pos]
        size, negative = head & 0x0F, bool(head & 0x80)
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if negative else value

    def float(self) -> float:  # dlib's portable float: int64 mantissa, int16 exponent
        mantissa = self.int()
        exponent = self.int()
        return float(np.ldexp(float(mantissa), exponent))

    def string(self) -> str:
        n = self.int()
        s = self.data[self.pos : self.pos + n].decode("ascii")
        self.pos += n
        return s

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise ValueError(f"unexpected dlib tensor version {version} at byte {self.pos}")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        arr = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).astype(np.float32)
        self.pos += 4 * count
        return arr.reshape(shape)


@dataclass
class _Conv:
    weight: np.ndarray  # (out, in, kh, kw)
    bias: np.ndarray
    stride: int
    padding: int


@dataclass
class _Block:
    conv1: _Conv
    affine1: tuple[np.ndarray, np.ndarray]
    conv2: _Conv
    affine2: tuple[np.ndarray, np.ndarray]
    down: bool


@dataclass
class DlibResNetWeights:
    input_means: tuple[float, float, float]
    stem_conv: _Conv
    stem_affine: tuple[np.ndarray, np.ndarray]
    stem_pool: tuple[int, int, int]  # window, stride, padding
    blocks: list[_Block]
    fc: np.ndarray  # (num_inputs, num_outputs); output = x @ fc


def read_dlib_resnet(path: str | Path) -> DlibResNetWeights:
    """Parse the layer records of dlib's face ResNet ``.dat`` in forward order."""
    data = Path(path).read_bytes()
    records: list[tuple[str, Any]] = []  # (kind, that kind's parameters)
    pos = 0
    while True:
        m = _RECORD.search(data, pos)
        if m is None:
            break
        size, name = m.group(1)[0], m.group(2)
        if len(name) < size or name[:size].decode() not in _NAMES:
            pos = m.start() + 1
            continue
        r = _Reader(data, m.start())
        kind = r.string()
        if kind == "input_rgb_image_sized":
            records.append((kind, (r.float(), r.float(), r.float())))
        elif kind == "con_4":
            params = r.tensor().reshape(-1)
            nf, nr, nc, sy, sx, py, px = (r.int() for _ in range(7))
            k = (params.size - nf) // (nf * nr * nc)
            if nf * k * nr * nc + nf != params.size or sy != sx or py != px:
                raise ValueError(f"unexpected con_ layout at byte {m.start()}")
            w = params[: nf * k * nr * nc].reshape(nf, k, nr, nc)
            records.append((kind, _Conv(w, params[nf * k * nr * nc :].copy(), sy, py)))
        elif kind == "affine_":
            params = r.tensor().reshape(-1)
            half = params.size // 2
            records.append((kind, (params[:half].copy(), params[half:].copy())))
        elif kind in ("max_pool_2", "avg_pool_2"):
            nr, nc, sy, sx, py, px = (r.int() for _ in range(6))
            records.append((kind, (nr, sy, py)))
        elif kind == "fc_2":
            n_out, n_in = r.int(), r.int()
            params = r.tensor().reshape(-1)
            if params.size != n_in * n_out:
                raise ValueError("fc_ with a bias is not expected in this network")
            records.append((kind, params.reshape(n_in, n_out)))
        else:
            records.append((kind, None))
        pos = r.pos
    return _assemble(records)


def _assemble(records: list[tuple[str, Any]]) -> DlibResNetWeights:
    kinds = [k for k, _ in records]
    expect_stem = ["input_rgb_image_sized", "con_4", "affine_", "relu_", "max_pool_2"]
    if kinds[:5] != expect_stem or kinds[-2:] != ["avg_pool_2", "fc_2"]:
        raise ValueError(f"unexpected dlib network layout: {kinds[:6]} ... {kinds[-3:]}")
    blocks: list[_Block] = []
    i = 5
    while i < len(records) - 2:
        down = kinds[i + 5] == "avg_pool_2"
        pattern = ["con_4", "affine_", "relu_", "con_4", "affine_"] + (["avg_pool_2"] if down else [])
        pattern += ["add_prev_", "relu_"]
        if kinds[i : i + len(pattern)] != pattern:
            raise ValueError(f"unexpected residual block layout at record {i}: {kinds[i : i + len(pattern)]}")
        if down and records[i + 5][1] != (2, 2, 0):
            raise ValueError("unexpected shortcut pooling")
        blocks.append(_Block(records[i][1], records[i + 1][1], records[i + 3][1], records[i + 4][1], down))
        i += len(pattern)
    global_pool = records[-2][1]
    if global_pool[0] != 0:
        raise ValueError("expected a global average pool before the fc layer")
    return DlibResNetWeights(
        input_means=records[0][1],
        stem_conv=records[1][1],
        stem_affine=records[2][1],
        stem_pool=records[4][1],
        blocks=blocks,
        fc=records[-1][1],
    )


def _torch_module(weights: DlibResNetWeights):
    import torch
    import torch.nn.functional as F
    from torch import nn

    def conv(c: _Conv) -> nn.Conv2d:
        m = nn.Conv2d(c.weight.shape[1], c.weight.shape[0], c.weight.shape[2], c.stride, c.padding)
        m.weight.data = torch.from_numpy(c.weight.copy())
        m.bias.data = torch.from_numpy(c.bias.copy())
        return m

    class Affine(nn.Module):
        def __init__(self, gb: tuple[np.ndarray, np.ndarray]) -> None:
            super().__init__()
            self.register_buffer("gamma", torch.from_numpy(gb[0].copy()).view(1, -1, 1, 1))
            self.register_buffer("beta", torch.from_numpy(gb[1].copy()).view(1, -1, 1, 1))

        def forward(self, x):
            return x * self.gamma + self.beta

    def dlib_add(a, b):
        """dlib's add_prev: the output takes the larger size in each dimension, missing values are 0."""
        if a.shape == b.shape:
            return a + b
        c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

        def grow(t):
            return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

        return grow(a) + grow(b)

    class Block(nn.Module):
        def __init__(self, b: _Block) -> None:
            super().__init__()
            self.conv1, self.aff1 = conv(b.conv1), Affine(b.affine1)
            self.conv2, self.aff2 = conv(b.conv2), Affine(b.affine2)
            self.down = b.down

        def forward(self, x):
            y = self.aff2(self.conv2(F.relu(self.aff1(self.conv1(x)))))
            shortcut = F.avg_pool2d(x, 2, 2) if self.down else x
            return F.relu(dlib_add(shortcut, y))

    class DlibFaceResNet(nn.Module):
        """Input: Nx150x150x3 uint8 RGB chips (dlib.get_face_chip alignment); output: Nx128 descriptors."""

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer(
                "means", torch.tensor(weights.input_means, dtype=torch.float32).view(1, 3, 1, 1)
            )
            self.stem_conv, self.stem_aff = conv(weights.stem_conv), Affine(weights.stem_affine)
            self.pool = weights.stem_pool
            self.blocks = nn.Sequential(*[Block(b) for b in weights.blocks])
            self.fc = nn.Linear(weights.fc.shape[0], weights.fc.shape[1], bias=False)
            self.fc.weight.data = torch.from_numpy(weights.fc.T.copy())

        def forward(self, chips):
            x = (chips.permute(0, 3, 1, 2).float() - self.means) / 256.0
            x = F.relu(self.stem_aff(self.stem_conv(x)))
            window, stride, padding = self.pool
            x = F.max_pool2d(x, window, stride, padding)
            x = self.blocks(x)
            return self.fc(x.mean(dim=(2, 3)))

    return DlibFaceResNet().eval()


def load_dlib_resnet(path: str | Path, device: str = "cpu"):
    """The torch module for dlib's face ResNet ``.dat`` on ``device`` (eval mode, float32)."""
    return _torch_module(read_dlib_resnet(path)).to(device)


def embed_chips(net, chips: list[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """(N, 128) float32 descriptors of 150x150x3 uint8 RGB chips."""
    import torch

    device = next(net.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(chips), batch_size):
            batch = torch.from_numpy(np.stack(chips[start : start + batch_size])).to(device)
            out.append(net(batch).float().cpu().numpy())
    return np.concatenate(out, axis=0) if out else np.zeros((0, 128), np.float32)
