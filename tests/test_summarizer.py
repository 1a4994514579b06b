"""The summarizer's mechanics on a tiny Gemma: prompts, summary-only loss on kept logits, batched generation, training."""

import json
from pathlib import Path

import pytest
import torch

from frontwatch.models.cpu_matmul import cpu_has_bf16_kernels
from frontwatch.models.summarizer import PromptSettings, Summarizer
from frontwatch.training.train_summarizer import summary_collator, summary_features, summary_loss

ARTICLE = "Les forces ukrainiennes ont repris Koupiansk, selon l'état-major. Moscou dément."
LABELS = [{"sector": "kharkiv", "direction": "advance"}, {"sector": "kherson", "direction": "none"}, {"sector": "bakhmut", "direction": "retreat"}]


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
    labels = LABELS
    together = tiny_summarizer.generate(articles, labels, batch_size=3, max_new_tokens=8)
    alone = [tiny_summarizer.generate([a], [l], batch_size=1, max_new_tokens=8)[0] for a, l in zip(articles, labels)]
    assert together == alone
    assert all(isinstance(s, str) for s in together)


def test_beam_search_from_a_shared_prefill_matches_plain_generate(tiny_summarizer):
    articles = [ARTICLE, "Le front est stable à Kherson.", "Moscou affirme avoir pris Soledar après des semaines de combats."]
    labels = LABELS
    runs = {}
    for share in (False, True):
        tiny_summarizer.share_prefill = share
        runs[share] = tiny_summarizer.generate(articles, labels, batch_size=3, num_beams=3, max_new_tokens=8)
    tiny_summarizer.share_prefill = True
    assert runs[True] == runs[False]


def test_encoding_prompts_logs_no_deprecation(tiny_summarizer, caplog):
    import logging

    from transformers.utils import logging as hf_logging

    logging.Logger.warning_once.cache_clear()  # transformers logs each message once per process
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_warning()
    try:
        tiny_summarizer.generate([ARTICLE], LABELS[:1], num_beams=2, max_new_tokens=4)  # encodes through _prefill
        assert [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()] == []
    finally:
        hf_logging.set_verbosity(verbosity)


def test_checked_generation_rewrites_failures_from_the_same_encoded_prompts(tiny_summarizer):
    articles = [ARTICLE, "Le front est stable à Kherson.", "Moscou affirme avoir pris Soledar après des semaines de combats."]
    labels = LABELS
    strict = {"num_beams": 3, "max_new_tokens": 8}
    drafts = tiny_summarizer.generate(articles, labels, batch_size=3, max_new_tokens=8)
    rewritten = tiny_summarizer.generate(articles, labels, batch_size=3, **strict)

    def runs(fail: set, batch_size: int):
        seen = []

        def check(indices, summaries):  # `fail` fails the first time; rewrites pass
            seen.append(dict(zip(indices, summaries)))
            return [["too_long"] if i in fail and len(seen) == 1 else [] for i in indices]

        out = tiny_summarizer.generate_checked(articles, labels, check, strict, batch_size=batch_size, max_new_tokens=8)
        return out, seen

    (summaries, failed, retried), seen = runs({0, 2}, batch_size=6)
    assert seen[0] == dict(enumerate(drafts)) and sorted(seen[1]) == [0, 2]
    assert sorted(retried) == [0, 2] and failed == [[], [], []]
    assert summaries == [rewritten[0], drafts[1], rewritten[2]]
    # batch_size 3 allows 1 rewrite of 3 beams per call: three calls, each from its own fork of the prompts' cache.
    (summaries, _, _), seen = runs({0, 1, 2}, batch_size=3)
    assert len(seen) == 4 and summaries == rewritten


def test_beam_drafts_are_written_at_most_batch_size_rows_per_call(tiny_summarizer, monkeypatch):
    articles = [ARTICLE, "Le front est stable à Kherson.", "Moscou affirme avoir pris Soledar après des semaines de combats."]
    beams = tiny_summarizer.generate(articles, LABELS, batch_size=3, num_beams=3, max_new_tokens=8)
    rows = []
    decode = tiny_summarizer._decode
    monkeypatch.setattr(tiny_summarizer, "_decode", lambda ids, *a: rows.append(len(ids) * 3) or decode(ids, *a))
    written, failed, retried = tiny_summarizer.generate_checked(
        articles, LABELS, lambda indices, summaries: [[] for _ in indices], {}, batch_size=3, num_beams=3, max_new_tokens=8,
    )
    assert rows == [3, 3, 3]  # one article of 3 beams per call: the cache of 9 rows is never held at once
    assert written == beams and failed == [[], [], []] and retried == []


def test_drafts_from_the_roomy_prompt_cache_match_plain_generate_past_the_sliding_window(tiny_gemma, monkeypatch):
    """Prompts longer than the 64-token window, encoded a few rows per call (as on a CPU) into a cache
    with room for the summary: the drafts are those of transformers' own cache, and the retry that
    starts from the same cache afterwards finds the prompts as they were."""
    import frontwatch.models.summarizer as summarizer_module

    torch.manual_seed(0)
    lora = dict(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"])
    long = Summarizer.from_base(PromptSettings(max_source_length=120), lora, tiny_gemma)
    articles = [" ".join([ARTICLE] * 6), ARTICLE, " ".join(["Le front est stable à Kherson."] * 9)]
    labels = LABELS
    assert max(len(long.prompt_ids(a, l)) for a, l in zip(articles, labels)) > 100
    drafts = long.generate(articles, labels, batch_size=3, max_new_tokens=12)
    strict = {"num_beams": 3, "max_new_tokens": 12}
    long.share_prefill = False  # transformers encodes the prompts for the beams itself
    rewritten = long.generate(articles, labels, batch_size=3, **strict)
    long.share_prefill = True
    seen = []

    def check(indices, summaries):  # every draft fails, every rewrite passes
        seen.append(dict(zip(indices, summaries)))
        return [["too_long"] if len(seen) == 1 else [] for _ in indices]

    monkeypatch.setattr(summarizer_module, "CPU_PREFILL_TOKENS", 250)  # two calls, of two prompts and one
    written, failed, retried = long.generate_checked(articles, labels, check, strict, batch_size=9, max_new_tokens=12)
    assert seen[0] == dict(enumerate(drafts))
    assert sorted(retried) == [0, 1, 2] and failed == [[], [], []] and written == rewritten


class RefusePiece:
    """A guard that refuses one exact piece of text and allows all else."""

    def __init__(self, piece):
        self.piece = piece

    def allows(self, written, piece):
        return piece != self.piece


def test_guarded_tokens_refuse_only_what_that_rows_guard_refuses():
    from frontwatch.models.summarizer import GuardedTokens

    pieces = ["a", "b", "c", "d"]
    # Two articles, two beams each (need 4 allowed candidates per row); article 0 refuses "b", article 1 nothing.
    guard = GuardedTokens([RefusePiece("b"), RefusePiece("none")], pieces, width=1, num_beams=2)
    scores = torch.tensor([[0.0, 3.0, 2.0, 1.0]] * 4)
    out = guard(torch.tensor([[9, 0]] * 4), scores.clone())
    assert out[0, 1] == float("-inf") and out[1, 1] == float("-inf")
    assert torch.equal(out[2:], scores[2:])
    # Greedy: the best allowed candidate stays best; a row whose every candidate is refused is left as it was.
    greedy = GuardedTokens([RefusePiece("b"), RefusePiece("x")], pieces, width=1)
    out = greedy(torch.tensor([[9, 0], [9, 0]]), scores[:2].clone())
    assert int(out[0].argmax()) == 2 and int(out[1].argmax()) == 1
    every = GuardedTokens([type("No", (), {"allows": lambda self, w, p: False})()], pieces, width=1)
    assert torch.equal(every(torch.tensor([[9, 0]]), scores[:1].clone()), scores[:1])
    # Tied best scores: greedy writes the first of them, so that is the token the guard must be asked about.
    tied = GuardedTokens([RefusePiece("a")], pieces * 2, width=1)
    out = tied(torch.tensor([[9, 0]]), torch.zeros(1, 8))
    assert out[0, 0] == float("-inf") and int(out[0].argmax()) == 1 and (out[0, 1:] == 0).all()


def test_guards_change_only_their_own_summary(tiny_summarizer):
    articles = [ARTICLE, "Le front est stable à Kherson."]
    labels = [{"sector": "kharkiv", "direction": "advance"}, {"sector": "kherson", "direction": "none"}]
    free = tiny_summarizer.generate(articles, labels, batch_size=2, max_new_tokens=6)
    first = tiny_summarizer.generate(articles[:1], labels[:1], batch_size=1, max_new_tokens=1)[0]
    pieces = tiny_summarizer.pieces()
    token = next(i for i, p in enumerate(pieces) if p.strip() == first.strip() and p)
    guards = [RefusePiece(pieces[token]), RefusePiece(None)]
    guarded = tiny_summarizer.generate(articles, labels, batch_size=2, max_new_tokens=6, guards=guards)
    assert guarded[0] != free[0] and guarded[1] == free[1]


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
        actor_swap={"advance": "retreat"},  # retreat has no description, but it is a direction of the data
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
    assert set(res[0].summary_flags) <= {"not_english", "too_long", "direction_mismatch", "name_not_in_article", "number_not_in_article"}
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
        actor_swap={"advance": "retreat"},
    )
    out = train_summarizer(cfg, progress=False)
    info = json.loads((out / "training_info.json").read_text())
    assert info["dev_loss"] is None and info["device"] == "CPU" and info["bf16"] is False
    n_sectors = len(Path(cfg.train_file).read_text().splitlines()) // 3
    assert info["train_rows"] == 4 * n_sectors  # one row per sector and direction, and a copy of each advance
    card = (out / "README.md").read_text()
    assert "minutes on CPU (final training loss" in card and "dev loss" not in card


def test_summarizer_actor_swap_with_unknown_labels_is_an_error(tmp_path):
    from conftest import write_labelled

    from frontwatch.training.config import SummarizerConfig
    from frontwatch.training.train_summarizer import train_summarizer

    cfg = SummarizerConfig(train_file=str(write_labelled(tmp_path / "t.jsonl", 1, seed=1)), actor_swap={"advance": "retraet"})
    with pytest.raises(ValueError, match="actor_swap: retraet are not direction labels"):
        train_summarizer(cfg, progress=False)


@pytest.mark.skipif(not cpu_has_bf16_kernels(), reason="this CPU has no bfloat16 kernels in oneDNN")
def test_cpu_matmuls_rearranged_for_onednn_give_the_same_summaries_and_come_back_as_they_were(tiny_gemma):
    from transformers import AutoTokenizer, Gemma3ForCausalLM

    from frontwatch.models import cpu_matmul

    model = Gemma3ForCausalLM.from_pretrained(tiny_gemma, dtype=torch.bfloat16).eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    summarizer = Summarizer(model, AutoTokenizer.from_pretrained(tiny_gemma), PromptSettings(max_source_length=40))
    articles = [ARTICLE, "Le front est stable à Kherson.", " ".join([ARTICLE] * 3)]
    greedy = summarizer.generate(articles, LABELS, batch_size=3, max_new_tokens=12)
    beams = summarizer.generate(articles, LABELS, batch_size=3, max_new_tokens=12, num_beams=3)

    summarizer.to(torch.device("cpu"))
    assert isinstance(model.model.layers[0].mlp.up_proj, cpu_matmul.PackedLinear)
    assert isinstance(model.lm_head, cpu_matmul.TallOutput)
    assert summarizer.generate(articles, LABELS, batch_size=3, max_new_tokens=12) == greedy
    assert summarizer.generate(articles, LABELS, batch_size=3, max_new_tokens=12, num_beams=3) == beams

    cpu_matmul.unpack(model)  # as before a move to another device
    assert not any(isinstance(m, (cpu_matmul.PackedLinear, cpu_matmul.TallOutput)) for m in model.modules())
    assert model.lm_head.weight is model.model.embed_tokens.weight  # still tied
    restored = model.state_dict()
    assert restored.keys() == weights.keys() and all(torch.equal(restored[k], w) for k, w in weights.items())
    model.float()  # a float32 model is left as it is
    summarizer.to(torch.device("cpu"))
    assert not any(isinstance(m, cpu_matmul.PackedLinear) for m in model.modules())


@pytest.mark.parametrize("size", [2, 3, 4])
def test_in_place_penalty_and_ngram_ban_score_exactly_as_transformers(size):
    from transformers.generation.logits_process import NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor

    from frontwatch.models.summarizer import NoRepeatNGram, RepetitionPenalty

    torch.manual_seed(size)
    for length in (1, size - 1, size, 9, 40):
        ids = torch.randint(0, 6, (5, length))  # few distinct ids: many repeated n-grams
        ids[0, : length // 2] = 0  # left padding
        ids[1, 0] = 12  # ids past the output vocabulary (of 10), in a row without its last token and in one with it
        ids[3, 0], ids[3, -1] = 9, 11
        scores = torch.randn(5, 10) * 3
        scores[2, 3] = float("-inf")
        padding = torch.tensor([length // 2, 0, 0, 0, min(2, length)])  # as generate sets it: left padding is not penalised
        for ours, theirs in ((RepetitionPenalty(1.3, padding), RepetitionPenaltyLogitsProcessor(1.3, prompt_ignore_length=padding)),
                             (NoRepeatNGram(size), NoRepeatNGramLogitsProcessor(size))):
            if isinstance(ours, NoRepeatNGram):
                ids = ids.clamp(max=9)  # transformers' n-gram ban indexes the scores by every id
            expected = theirs(ids, scores.clone())
            assert torch.equal(ours(ids, scores.clone()), expected), (type(ours).__name__, length)
