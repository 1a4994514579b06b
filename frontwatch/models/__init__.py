"""Wrappers around the transformers models: the offline base encoder and the multi-task classifier."""
