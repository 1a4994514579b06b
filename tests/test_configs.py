"""Every file in configs/ loads through the real parser; unknown keys and wrong types are errors."""

from pathlib import Path

import pytest

from frontwatch.training.config import ClassifierConfig, SummarizerConfig, config_class, config_from_dict, load_config

CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_files_parse(path):
    cls = config_class(path)
    cfg = load_config(cls, path)
    if cls is ClassifierConfig:
        assert cfg.labels or cfg.model_name_or_path
    else:
        assert cfg.label_descriptions["direction"].keys() == {"advance", "retreat", "none"}


def test_task_picks_the_config_class(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("task: summarizer\nnum_beams: 2\n")
    assert config_class(p) is SummarizerConfig and load_config(SummarizerConfig, p).num_beams == 2
    p.write_text("task: summarize\n")
    with pytest.raises(ValueError, match="task 'summarize'"):
        config_class(p)
    with pytest.raises(ValueError, match="use task: classifier"):
        config_from_dict(ClassifierConfig, {"task": "summarizer"})


def test_unknown_key_is_an_error():
    with pytest.raises(ValueError, match="unknown option.*lr"):
        config_from_dict(ClassifierConfig, {"lr": 0.1})


def test_wrong_type_is_an_error():
    with pytest.raises(ValueError, match="'num_train_epochs' should be float"):
        config_from_dict(ClassifierConfig, {"num_train_epochs": "three"})
    with pytest.raises(ValueError, match="'train_file' should be str or list, got 5"):
        config_from_dict(ClassifierConfig, {"train_file": 5})
    assert config_from_dict(ClassifierConfig, {"train_file": ["a.jsonl", "b.jsonl"]}).train_file == ["a.jsonl", "b.jsonl"]
    with pytest.raises(ValueError, match="long_text_strategy"):
        config_from_dict(ClassifierConfig, {"long_text_strategy": "middle"})


def test_overrides_replace_file_values(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("output_dir: a\nseed: 3\n")
    cfg = load_config(ClassifierConfig, p, output_dir="b", seed=None)
    assert (cfg.output_dir, cfg.seed) == ("b", 3)
