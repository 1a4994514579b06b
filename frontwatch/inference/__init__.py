"""The shared inference wrapper, device choice and input/output."""

from frontwatch.inference.analyzer import Analysis, Analyzer

__all__ = ["Analysis", "Analyzer"]
