"""Training mechanics on the tiny BERT: it learns, saves a complete folder, reloads, and grows labels."""

import json

import pytest

from conftest import SECTOR_WORDS, write_labelled
from frontwatch.training import train_classifier


def _accuracy(model_dir, path):
    from frontwatch.inference.analyzer import Analyzer

    rows = [json.loads(l) for l in open(path, encoding="utf-8")]
    res = Analyzer.from_pretrained(model_dir, device="cpu", summaries=False)([r["text"] for r in rows])
    return {h: sum(getattr(a, h) == r[h] for a, r in zip(res, rows)) / len(rows) for h in ("sector", "direction")}


def test_train_saves_a_folder_that_reloads_and_predicts(tiny_config, tmp_path):
    out = train_classifier(tiny_config, progress=False)
    for name in ("config.json", "adapter_model.safetensors", "adapter_config.json", "heads.safetensors",
                 "training_config.yaml", "training_info.json", "README.md"):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["heads"]["sector"]["id2label"] == {"0": "kharkiv", "1": "bakhmut", "2": "kherson"}
    info = json.loads((out / "training_info.json").read_text())
    assert set(info["data_sha256"]) == {"train.jsonl", "dev.jsonl"}
    card = (out / "README.md").read_text()
    assert "On `dev` (18 articles)" in card and "| sector |" in card
    test = write_labelled(tmp_path / "test.jsonl", 3, seed=3, prefix="t")
    acc = _accuracy(out, test)
    assert acc["sector"] >= 0.8 and acc["direction"] >= 0.8, acc  # chance is 1/3


def test_training_is_seeded(tiny_config, tmp_path):
    from safetensors.torch import load_file

    tiny_config.num_train_epochs = 1
    a = load_file(train_classifier(tiny_config, progress=False) / "heads.safetensors")
    tiny_config.output_dir = str(tmp_path / "again")
    b = load_file(train_classifier(tiny_config, progress=False) / "heads.safetensors")
    assert all((a[k] == b[k]).all() for k in a)


def test_new_label_is_learned_and_old_labels_still_work(tiny_config, tmp_path):
    base = train_classifier(tiny_config, progress=False)
    with_new = dict(SECTOR_WORDS, siversk=["siversk"])
    tiny_config.model_name_or_path = str(base)
    tiny_config.labels = {}
    tiny_config.new_labels = {"sector": ["siversk"]}
    tiny_config.train_file = str(write_labelled(tmp_path / "train2.jsonl", 12, seed=4, sector_words=with_new))
    tiny_config.validation_file = None
    tiny_config.output_dir = str(tmp_path / "grown")
    grown = train_classifier(tiny_config, progress=False)
    config = json.loads((grown / "config.json").read_text())
    # the old labels keep their ids; the new one comes after them
    assert config["heads"]["sector"]["id2label"] == {"0": "kharkiv", "1": "bakhmut", "2": "kherson", "3": "siversk"}
    test = write_labelled(tmp_path / "test2.jsonl", 3, seed=5, sector_words=with_new, prefix="t")
    rows = [json.loads(l) for l in open(test, encoding="utf-8")]
    from frontwatch.inference.analyzer import Analyzer

    res = Analyzer.from_pretrained(grown, device="cpu", summaries=False)([r["text"] for r in rows])
    new = [a.sector == "siversk" for a, r in zip(res, rows) if r["sector"] == "siversk"]
    old = [a.sector == r["sector"] for a, r in zip(res, rows) if r["sector"] != "siversk"]
    # chance is 1/4; the tiny model gets ~0.8 on both
    assert sum(new) / len(new) >= 0.7 and sum(old) / len(old) >= 0.7, (sum(new), len(new), sum(old), len(old))


def test_unlisted_new_label_is_reported_not_learned(tiny_config, tmp_path):
    from frontwatch.training.data import DataError

    base = train_classifier(tiny_config, progress=False)
    typo = dict(SECTOR_WORDS, kharkov=["koupiansk"])
    tiny_config.model_name_or_path = str(base)
    tiny_config.labels = {}
    tiny_config.train_file = str(write_labelled(tmp_path / "typo.jsonl", 2, seed=6, sector_words=typo))
    tiny_config.validation_file = None
    with pytest.raises(DataError, match="sector 'kharkov' is not a known label"):
        train_classifier(tiny_config, progress=False)


def test_new_label_without_rows_is_an_error(tiny_config, tmp_path):
    base = train_classifier(tiny_config, progress=False)
    tiny_config.model_name_or_path = str(base)
    tiny_config.labels = {}
    tiny_config.new_labels = {"sector": ["crimea"]}
    tiny_config.validation_file = None
    with pytest.raises(ValueError, match="crimea have no training rows"):
        train_classifier(tiny_config, progress=False)


@pytest.mark.parametrize("probe_epochs", [0, 2])  # 0: the Trainer alone must move every part
def test_every_trainable_part_is_trained(tiny_config, probe_epochs):
    import torch
    from safetensors.torch import load_file
    from transformers import set_seed

    from frontwatch.models.classifier import FrontClassifier

    tiny_config.num_train_epochs = 1
    tiny_config.probe_epochs = probe_epochs
    tiny_config.max_seq_length = 16  # several windows per article: one segment gives attention no gradient
    tiny_config.window_overlap = 2
    out = train_classifier(tiny_config, progress=False)
    trained = load_file(out / "heads.safetensors")
    adapter = load_file(out / "adapter_model.safetensors")

    set_seed(tiny_config.seed)  # rebuild the model exactly as training built it, before any step
    c = tiny_config
    initial = FrontClassifier.from_base(
        c.labels, {}, dict(r=c.lora_r, lora_alpha=c.lora_alpha, lora_dropout=c.lora_dropout,
                           target_modules=c.lora_target_modules, layers_to_transform=c.lora_layers), c.base_model_path,
    )
    for head in ("sector", "direction"):
        assert not torch.allclose(trained[f"attention.{head}.weight"], initial.attention[head].weight), head
        assert not torch.allclose(trained[f"heads.{head}.weight"], initial.heads[head].weight), head
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and any(v.abs().max() > 0 for v in lora_b)  # B starts at zero: nonzero means trained
    assert not torch.allclose(trained["feature_std"], torch.ones_like(trained["feature_std"]))


def test_train_file_may_name_several_files(tiny_config, tmp_path):
    from frontwatch.cli import main
    from frontwatch.training.config import config_to_yaml

    config = tmp_path / "tiny.yaml"
    config.write_text(config_to_yaml(tiny_config))
    first = write_labelled(tmp_path / "first.jsonl", 4, seed=1)
    second = write_labelled(tmp_path / "second.jsonl", 4, seed=7, prefix="b")
    out = tmp_path / "two"
    assert main(["train", str(config), "--train-file", str(first), str(second), "--output-dir", str(out)]) == 0
    info = json.loads((out / "training_info.json").read_text())
    assert set(info["data_sha256"]) == {"first.jsonl", "second.jsonl", "dev.jsonl"}
    assert info["train_rows"] == 2 * 4 * 9  # both files: 3 sectors x 3 directions x 4 articles each


def test_an_id_in_two_training_files_is_an_error(tiny_config, tmp_path):
    again = write_labelled(tmp_path / "again.jsonl", 1, seed=9)  # ids a0, a1, ... as in train.jsonl
    tiny_config.train_file = [tiny_config.train_file, str(again)]
    with pytest.raises(ValueError, match=r"again.jsonl: 9 id\(s\) already used in an earlier training file: row 1 \(id a\d, in .*train.jsonl\)"):
        train_classifier(tiny_config, progress=False)
