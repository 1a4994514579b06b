"""The summarizer's mechanics on a tiny Gemma: prompts, summary-only loss on kept logits, batched generation, training."""

import json

import pytest
import torch

from frontwatch.models.summarizer import PromptSettings, Summarizer
from frontwatch.training.train_summarizer import summary_collator, summary_features, summary_loss

ARTICLE = "Les forces ukrainiennes ont repris Koupiansk, selon l'état-major. Moscou dément."


@pytest.fixture(scope="module")
def tiny_summarizer(tiny_gemma):
    torch.manual_seed(0)
    lora = dict(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"])
    return Summarizer.from_base(PromptSettings(max_source_length=40), lora, tiny_gemma)


def test_prompt_cuts_the_article_and_ends_with_the_labels(tiny_summarizer):
    tok = tiny_summarizer.tokenizer
    long = " ".join([ARTICLE] * 20)
    ids = tiny_summarizer.prompt_ids(long, {"sector": "kharkiv", "direction": "advance"})
    text = tok.decode(ids)
    assert ids[0] == tok.bos_token_id
    assert len(tok(long, add_special_tokens=False).input_ids) > 200 and len(ids) < 80  # cut to 40 article tokens
    assert text.endswith("Sector: kharkiv\nMovement: advance\nEnglish summary:")


def test_loss_on_kept_logits_equals_full_loss_on_summary_tokens(tiny_summarizer):
    records = [
        {"text": ARTICLE, "sector": "kharkiv", "direction": "advance", "summary_en": "Ukraine says it retook Kupiansk."},
        {"text": ARTICLE[:40], "sector": "kharkiv", "direction": "none", "summary_en": "Fighting goes on near Kupiansk, a much longer summary."},
    ]
    feats = summary_features(tiny_summarizer, records, 96, "test")
    batch = summary_collator(tiny_summarizer.tokenizer.pad_token_id)(feats)
    model = tiny_summarizer.model.eval()
    labels = batch.pop("labels")
    keep = batch["logits_to_keep"]
    assert labels.shape == (2, keep) and keep == max(len(f["target"]) for f in feats) + 1
    fast = summary_loss(model(**batch), labels)
    # Reference: every logit computed, labels masked outside the summary, shifted the usual way.
    full_labels = torch.full_like(batch["input_ids"], -100)
    for row, f in enumerate(feats):
        full_labels[row, -len(f["target"]) :] = torch.tensor(f["target"])
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"]).logits
    slow = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), full_labels[:, 1:].reshape(-1), ignore_index=-100)
    assert torch.allclose(fast, slow, atol=1e-5)
    assert int((labels != -100).sum()) == sum(len(f["target"]) for f in feats)


def test_batched_generation_matches_one_by_one(tiny_summarizer):
    articles = [ARTICLE, "Le front est stable à Kherson.", "Moscou affirme avoir pris Soledar après des semaines de combats."]
    labels = [{"sector": "kharkiv", "direction": "advance"}, {"sector": "kherson", "direction": "none"}, {"sector": "bakhmut", "direction": "retreat"}]
    together = tiny_summarizer.generate(articles, labels, batch_size=3, max_new_tokens=8)
    alone = [tiny_summarizer.generate([a], [l], batch_size=1, max_new_tokens=8)[0] for a, l in zip(articles, labels)]
    assert together == alone
    assert all(isinstance(s, str) for s in together)


def test_beam_search_from_a_shared_prefill_matches_plain_generate(tiny_summarizer):
    articles = [ARTICLE, "Le front est stable à Kherson.", "Moscou affirme avoir pris Soledar après des semaines de combats."]
    labels = [{"sector": "kharkiv", "direction": "advance"}, {"sector": "kherson", "direction": "none"}, {"sector": "bakhmut", "direction": "retreat"}]
    runs = {}
    for share in (False, True):
        tiny_summarizer.share_prefill = share
        runs[share] = tiny_summarizer.generate(articles, labels, batch_size=3, num_beams=3, max_new_tokens=8)
    tiny_summarizer.share_prefill = True
    assert runs[True] == runs[False]


def test_banned_words_spell_the_names(tiny_summarizer):
    tok = tiny_summarizer.tokenizer
    seqs = tiny_summarizer.banned_words(["Odesa"])
    assert {tok.decode(s) for s in seqs} == {"Odesa", " Odesa"}


def test_banned_per_row_bans_only_that_rows_completions():
    import torch

    from frontwatch.models.summarizer import BannedPerRow

    # Two articles, two beams each: article 0 bans [7, 8] (and the one-token word [9]), article 1 nothing.
    ban = BannedPerRow([[[7, 8], [9]], []], num_beams=2)
    input_ids = torch.tensor([[1, 7], [1, 2], [1, 7], [1, 7]])
    scores = ban(input_ids, torch.zeros(4, 10))
    assert scores[0, 8] == float("-inf") and scores[0, 9] == float("-inf")
    assert scores[1, 8] == 0 and scores[1, 9] == float("-inf")  # row 1 has not written 7: only [9] applies
    assert torch.equal(scores[2:], torch.zeros(2, 10))  # rows 2-3 are article 1's beams


def test_banned_words_change_only_their_own_summary(tiny_summarizer):
    articles = [ARTICLE, "Le front est stable à Kherson."]
    labels = [{"sector": "kharkiv", "direction": "advance"}, {"sector": "kherson", "direction": "none"}]
    free = tiny_summarizer.generate(articles, labels, batch_size=2, max_new_tokens=6)
    word = free[0].split()[0]
    banned = tiny_summarizer.generate(articles, labels, batch_size=2, max_new_tokens=6, banned=[[word], []])
    assert not banned[0].startswith(word)
    assert banned[1] == free[1]


def test_too_long_reference_summary_is_reported(tiny_summarizer):
    record = {"id": "x1", "text": ARTICLE, "sector": "kharkiv", "direction": "advance", "summary_en": "word " * 200}
    with pytest.raises(ValueError, match=r"row 1 \(x1\).*max_target_length"):
        summary_features(tiny_summarizer, [record], 96, "f.jsonl")


def test_train_save_load_and_evaluate(tiny_gemma, tiny_model, tmp_path):
    from conftest import write_labelled

    from frontwatch.inference.analyzer import Analyzer
    from frontwatch.training.config import SummarizerConfig
    from frontwatch.training.train_summarizer import train_summarizer

    cfg = SummarizerConfig(
        base_model_path=str(tiny_gemma), train_file=str(write_labelled(tmp_path / "t.jsonl", 1, seed=1)),
        validation_file=str(write_labelled(tmp_path / "d.jsonl", 1, seed=2, prefix="d")), test_file=None,
        output_dir=str(tmp_path / "summ"), classifier_path=str(tiny_model), max_source_length=32,
        lora_r=4, lora_alpha=8, lora_target_modules=["q_proj", "v_proj"], num_train_epochs=1, max_new_tokens=12,
        label_descriptions={"direction": {"advance": "Ukrainian forces gain ground"}},
    )
    out = train_summarizer(cfg, progress=False)
    saved = json.loads((out / "summarizer_config.json").read_text())
    assert saved["label_descriptions"]["direction"]["advance"] == "Ukrainian forces gain ground"
    assert json.loads((out / "generation_config.json").read_text())["max_new_tokens"] == 12
    assert (out / "adapter_model.safetensors").stat().st_size < 1_000_000
    card = (out / "README.md").read_text()
    assert "ROUGE-L" in card and "Gemma Terms of Use" in card
    metrics = json.loads((out / "training_info.json").read_text())
    assert metrics["dev_loss"] > 0
    analyzer = Analyzer.from_pretrained(tiny_model, device="cpu", summarizer_path=out, max_new_tokens=6)
    res = analyzer(["Les forces ukrainiennes ont repris Koupiansk.", ""])
    assert isinstance(res[0].summary, str) and isinstance(res[0].summary_flags, list)
    assert set(res[0].summary_flags) <= {"not_english", "too_long", "direction_mismatch", "name_not_in_article"}
    assert res[1].error and res[1].summary is None and "summary" in res[1].to_dict()


def test_train_without_dev_file_writes_its_card(tiny_gemma, tmp_path):
    """No dev file: no dev loss, and the model card says only what it knows (it used to crash formatting None)."""
    from conftest import write_labelled

    from frontwatch.training.config import SummarizerConfig
    from frontwatch.training.train_summarizer import train_summarizer

    cfg = SummarizerConfig(
        base_model_path=str(tiny_gemma), train_file=str(write_labelled(tmp_path / "t.jsonl", 1, seed=1)),
        validation_file=None, test_file=None, output_dir=str(tmp_path / "summ"), max_source_length=32,
        lora_r=4, lora_alpha=8, lora_target_modules=["q_proj", "v_proj"], num_train_epochs=1, max_new_tokens=12,
    )
    out = train_summarizer(cfg, progress=False)
    info = json.loads((out / "training_info.json").read_text())
    assert info["dev_loss"] is None and info["device"] == "CPU" and info["bf16"] is False
    card = (out / "README.md").read_text()
    assert "minutes on CPU (final training loss" in card and "dev loss" not in card
