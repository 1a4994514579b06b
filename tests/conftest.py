"""Fixtures: a tiny BERT with a tiny Unigram tokenizer, and small labelled files, all built here."""

import json
import random

import pytest

# A few French words and their pieces: enough for the tiny tokenizer to split real sentences.
WORDS = (
    "les forces ukrainiennes russes ont repris libéré perdu village ville front stable attaque repoussée "
    "kharkiv bakhmout kherson koupiansk izioum soledar krynky siversk retrait avance recul "
    "selon le la de des du et a en un une sur dans pour par armée ministère moscou kiev"
).split()


def tiny_pieces():
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    chars = sorted(set("".join(WORDS)) | set("abcdefghijklmnopqrstuvwxyz.,'’:-0123456789éèàçêûô"))
    pieces = specials + ["▁"] + ["▁" + w for w in WORDS] + chars + ["<mask>"]
    scores = [0.0] * 4 + [-2.0] + [-3.0] * len(WORDS) + [-8.0] * len(chars) + [0.0]
    return pieces, scores


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A 2-layer BERT folder with a fast tokenizer, in the layout load_base_encoder reads."""
    import torch
    from transformers import BertConfig, BertModel

    from frontwatch.models.base_encoder import build_tokenizer

    torch.manual_seed(0)
    pieces, scores = tiny_pieces()
    tokenizer = build_tokenizer(pieces, scores, dict(bos=0, pad=1, eos=2, unk=3))
    cfg = BertConfig(
        vocab_size=len(pieces), hidden_size=32, num_hidden_layers=2, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=512, pad_token_id=1,
    )
    path = tmp_path_factory.mktemp("tiny_bert")
    BertModel(cfg, add_pooling_layer=False).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


SECTOR_WORDS = {"kharkiv": ["kharkiv", "koupiansk", "izioum"], "bakhmut": ["bakhmout", "soledar"], "kherson": ["kherson", "krynky"]}
DIRECTION_WORDS = {"advance": ["repris", "libéré", "avance"], "retreat": ["perdu", "recul", "retrait"], "none": ["stable", "repoussée"]}


def make_article(rng, sector, direction, sector_words=SECTOR_WORDS, n_words=12):
    """A fake 'French' article whose label words are the only signal."""
    filler = "les forces selon le ministère de la ville et du front dans une armée pour".split()
    words = [rng.choice(filler) for _ in range(n_words)]
    for _ in range(4):
        words.insert(rng.randrange(len(words)), rng.choice(sector_words[sector]))
        words.insert(rng.randrange(len(words)), rng.choice(DIRECTION_WORDS[direction]))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def write_labelled(path, n_per_cell, seed, sector_words=SECTOR_WORDS, prefix="a"):
    rng = random.Random(seed)
    rows = []
    for sector in sector_words:
        for direction in DIRECTION_WORDS:
            for _ in range(n_per_cell):
                rows.append({
                    "id": f"{prefix}{len(rows)}", "text": make_article(rng, sector, direction, sector_words),
                    "sector": sector, "direction": direction,
                    "summary_en": "Ukrainian forces are said to have moved in the region, according to the army.",
                })
    rng.shuffle(rows)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def tiny_config(tiny_base, tmp_path):
    """A ClassifierConfig that trains the tiny BERT on keyword-labelled files in seconds."""
    from frontwatch.training.config import ClassifierConfig

    train = write_labelled(tmp_path / "train.jsonl", 8, seed=1)
    dev = write_labelled(tmp_path / "dev.jsonl", 2, seed=2, prefix="d")
    return ClassifierConfig(
        base_model_path=str(tiny_base), train_file=str(train), validation_file=str(dev), test_file=None,
        output_dir=str(tmp_path / "model"),
        labels={"sector": list(SECTOR_WORDS), "direction": list(DIRECTION_WORDS)},
        max_seq_length=64, max_segments=3, window_overlap=8, long_text_strategy="windows", lora_r=4, lora_alpha=8, lora_dropout=0.0,
        lora_target_modules=["query", "value"], learning_rate=3e-2, num_train_epochs=12, classifier_dropout=0.0,
        per_device_train_batch_size=8, logging_steps=1000, warmup_steps=0.0,
    )


@pytest.fixture(scope="session")
def tiny_model(tiny_base, tmp_path_factory):
    """A tiny classifier trained once for the inference and CLI tests."""
    from frontwatch.training import ClassifierConfig, train_classifier

    tmp = tmp_path_factory.mktemp("tiny_model")
    cfg = ClassifierConfig(
        base_model_path=str(tiny_base), train_file=str(write_labelled(tmp / "train.jsonl", 8, seed=1)),
        validation_file=None, test_file=None, output_dir=str(tmp / "model"),
        labels={"sector": list(SECTOR_WORDS), "direction": list(DIRECTION_WORDS)},
        max_seq_length=32, max_segments=3, window_overlap=4, long_text_strategy="windows", lora_r=4, lora_alpha=8, lora_dropout=0.0,
        lora_target_modules=["query", "value"], learning_rate=3e-2, num_train_epochs=12, classifier_dropout=0.0,
        logging_steps=1000, warmup_steps=0.0,
    )
    return train_classifier(cfg, progress=False)


@pytest.fixture(scope="session")
def tiny_gemma(tmp_path_factory):
    """A 2-layer Gemma 3 with the real Gemma tokenizer (the summarizer's mechanics, in seconds)."""
    import torch
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    from frontwatch.models.base_decoder import base_decoder_path

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(base_decoder_path())
    cfg = Gemma3TextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16, sliding_window=64, max_position_embeddings=1024,
        layer_types=["sliding_attention", "full_attention"],  # both kinds of KV-cache layer
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )
    path = tmp_path_factory.mktemp("tiny_gemma")
    Gemma3ForCausalLM(cfg).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
