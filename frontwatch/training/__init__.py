"""Data, metrics and training functions."""

from frontwatch.training.config import ClassifierConfig, load_config
from frontwatch.training.train_classifier import train_classifier

__all__ = ["ClassifierConfig", "load_config", "train_classifier"]
