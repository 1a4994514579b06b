"""Wrappers around the transformers models: the offline base encoder and the multi-task classifier."""

import warnings

# peft reads transformers' deprecated `is_gradient_checkpointing` each time it wraps a model, and transformers
# then warns on every load: a notice about two libraries' internals that a user of frontwatch cannot act on.
warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
