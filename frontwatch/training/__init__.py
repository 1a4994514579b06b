"""Data, metrics and training functions."""

from frontwatch.training.config import ClassifierConfig, SummarizerConfig, load_config
from frontwatch.training.train_classifier import train_classifier
from frontwatch.training.train_summarizer import train_summarizer

__all__ = ["ClassifierConfig", "SummarizerConfig", "load_config", "train_classifier", "train_summarizer"]
