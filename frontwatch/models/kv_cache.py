"""KV caches for the summarizer's generation: room for the tokens to come, and cheap copies.

transformers' `DynamicCache` grows each layer by concatenation: every new token copies the whole
cache (18 layers of 16 prompts of 560 tokens: 165 MB per step), and a copy kept for the
retry (see `Summarizer.generate_checked`) doubles the memory once the first draft token is written.
A `RoomyLayer` is written in place into spare room after the prompt instead: the prompt part is
never touched, so a fork of the cache that writes a draft leaves the original, and the retry that
starts from it, as they were, without a second copy.
"""

import copy

import torch
from transformers.cache_utils import DynamicLayer


class RoomyLayer(DynamicLayer):
    """A cache layer with room for `room` more tokens after those of `like` (a filled layer), for `rows` rows.

    Its rows are filled with `fill`. A sliding-window layer keeps every token written after the
    prompt, but shows attention and its mask only the window, exactly as transformers' own layer does
    (same tokens, same shapes, so the same numbers).
    """

    def __init__(self, like, rows: int, room: int):
        super().__init__()
        _, heads, length, _ = like.keys.shape
        self.is_sliding = like.is_sliding
        self.window = like.sliding_window if like.is_sliding else None
        self.device = like.keys.device
        self.k = like.keys.new_empty((rows, heads, length + room, like.keys.shape[-1]))
        self.v = like.values.new_empty((rows, heads, length + room, like.values.shape[-1]))
        self.length = length  # tokens held
        self.prompt = length  # tokens held from the prompt: every beam of an article has the same ones
        self.seen = like.get_seq_length()  # positions seen; more than `length` where a sliding window dropped some
        self.is_initialized = True
        self._views()

    def fill(self, start: int, stop: int, part) -> None:
        """Rows start:stop from the layer `part`, as long as this one's prompts."""
        self.k[start:stop, :, : self.length] = part.keys
        self.v[start:stop, :, : self.length] = part.values

    def _views(self) -> None:
        self.keys, self.values = self.k[:, :, : self.length], self.v[:, :, : self.length]

    def update(self, key_states, value_states, *args, **kwargs):
        n = key_states.shape[-2]
        if self.length + n > self.k.shape[-2]:  # out of room: grow by copying, as transformers does
            self.k, self.v = torch.cat([self.keys, key_states], dim=-2), torch.cat([self.values, value_states], dim=-2)
        else:
            self.k[:, :, self.length : self.length + n] = key_states
            self.v[:, :, self.length : self.length + n] = value_states
        self.length += n
        self.seen += n
        self._views()
        if self.window is None:
            return self.keys, self.values
        visible = self.window - 1 + n  # the window before these tokens, and these tokens
        return self.keys[:, :, -visible:], self.values[:, :, -visible:]

    def get_seq_length(self) -> int:
        return self.seen

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        if self.window is None:
            return self.seen + query_length, 0
        if self.seen >= self.window:
            return self.window - 1 + query_length, self.seen - self.window + 1
        return self.seen + query_length, 0

    def _rows(self, pick) -> None:
        """Rows taken, repeated or reordered (a copy, with its room) by `pick`."""
        self.k, self.v = pick(self.k), pick(self.v)
        self._views()

    def batch_select_indices(self, indices) -> None:
        self._rows(lambda t: t[indices])

    def batch_repeat_interleave(self, repeats: int) -> None:
        self._rows(lambda t: t.repeat_interleave(repeats, dim=0))

    def reorder_cache(self, beam_idx) -> None:
        """Beams reordered in place: only the rows that change, only the tokens written after the prompt."""
        beam_idx = beam_idx.to(self.device)
        moved = (beam_idx != torch.arange(len(beam_idx), device=self.device)).nonzero().flatten()
        if len(moved):
            written = slice(self.prompt, self.length)
            for t in (self.k, self.v):
                t[moved, :, written] = t[beam_idx[moved], :, written]


def roomy(cache, rows: int, room: int):
    """A cache shaped as `cache` (one filled by a model call), with `rows` rows of RoomyLayers; fill them."""
    out = fork(cache)
    out.layers = [RoomyLayer(layer, rows, room) for layer in cache.layers]
    return out


def fork(cache):
    """A copy of a KV cache that can be extended or cut down without changing the original.

    Layers replace their tensors when cut down, reordered or grown by concatenation, and a
    `RoomyLayer` writes only after the tokens it holds, so the copy shares the tensors: no memory is
    copied, and the original keeps its tokens. Two forks of one cache that both write share its room:
    cut one down (`batch_select_indices` copies) before the other writes.
    """
    out = copy.copy(cache)
    out.layers = [copy.copy(layer) for layer in cache.layers]
    return out
