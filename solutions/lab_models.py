"""Given: small language models with the calling conventions of Hugging Face ``transformers``.

The original lab loads Qwen2.5 checkpoints from the Hugging Face hub. These stand-ins follow
the same conventions, run offline in microseconds, and are what the autograder hands to your
functions (it builds them inside your upload, so keep this file as it is):

    tokenizer(text, return_tensors="pt").input_ids    # LongTensor (1, T)
    model(input_ids).logits                           # FloatTensor (1, T, V)
    step_logprobs(prefix)                             # FloatTensor (V,) of log-probabilities

``TableLM`` is a bigram model (the logits after a token depend on that token only),
``WhitespaceTokenizer`` splits on spaces, and ``NGramStep`` gives next-token
log-probabilities for beam search from an n-gram table.
"""
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn


class Encoding(dict):
    """What a tokenizer call returns: a dict whose keys are also attributes, like
    ``transformers.BatchEncoding`` (``enc.input_ids`` and ``enc["input_ids"]`` both work, and
    ``enc.to(device)`` moves its tensors, so ``tokenizer(text, return_tensors="pt").to(device)``
    works as with a real tokenizer)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(f"this encoding has no {name!r}; it has {', '.join(self)}") from exc

    def to(self, device: Any) -> "Encoding":
        """The encoding with every tensor on ``device`` (lists stay lists), like ``BatchEncoding.to``."""
        return Encoding({key: value.to(device) if isinstance(value, torch.Tensor) else value for key, value in self.items()})


class WhitespaceTokenizer:
    """Words separated by whitespace; word ``vocab[i]`` has id ``i``. A word that is not in the
    vocabulary gets ``unk_token_id`` (0). No special token is added: like the Qwen2.5
    tokenizers, the ids of a text are exactly the ids of its words."""

    def __init__(self, vocab: Sequence[str]):
        self.vocab: List[str] = list(vocab)
        self.token_to_id: Dict[str, int] = {word: index for index, word in enumerate(self.vocab)}
        self.vocab_size = len(self.vocab)
        self.unk_token_id = 0

    def __len__(self) -> int:
        return self.vocab_size

    def _ids(self, text: str) -> List[int]:
        return [self.token_to_id.get(word, self.unk_token_id) for word in text.split()]

    def __call__(self, text: str, return_tensors: Optional[str] = None, **ignored: Any) -> Encoding:
        ids = self._ids(text)
        if return_tensors == "pt":
            input_ids: Any = torch.tensor([ids], dtype=torch.long)  # (1, T): a batch of one text
            mask: Any = torch.ones_like(input_ids)
        elif return_tensors is None:
            input_ids, mask = ids, [1] * len(ids)
        else:
            raise ValueError(f"return_tensors={return_tensors!r} is not supported here: use 'pt' (PyTorch) or leave it out")
        return Encoding(input_ids=input_ids, attention_mask=mask)

    def encode(self, text: str, return_tensors: Optional[str] = None, **ignored: Any) -> Union[List[int], torch.Tensor]:
        ids = self._ids(text)
        return torch.tensor([ids], dtype=torch.long) if return_tensors == "pt" else ids

    def decode(self, ids: Union[Sequence[int], torch.Tensor], **ignored: Any) -> str:
        return " ".join(self.vocab[int(i)] for i in torch.as_tensor(ids).reshape(-1))

    def convert_ids_to_tokens(self, ids: Union[int, Sequence[int], torch.Tensor]) -> Union[str, List[str]]:
        if isinstance(ids, int):
            return self.vocab[ids]
        return [self.vocab[int(i)] for i in torch.as_tensor(ids).reshape(-1)]


class ModelOutput(dict):
    """What a model call returns: ``out.logits``, ``out["logits"]`` and ``out[0]`` all work."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(f"this output has no {name!r}; it has {', '.join(self)}") from exc

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            return list(self.values())[key]
        return super().__getitem__(key)


class _Config:
    def __init__(self, vocab_size: int):
        self.vocab_size = vocab_size


class TableLM(nn.Module):
    """A bigram language model from a table of logits: ``table[a]`` (V,) are the logits of the
    token that follows token ``a``. ``model(input_ids)`` with input_ids (B, T) returns an
    output whose ``.logits`` (B, T, V) holds ``table[input_ids[b, t]]`` at ``[b, t]``: the
    prediction for token t + 1, made from the tokens up to t."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        table = torch.as_tensor(table, dtype=torch.float32)
        if table.dim() != 2 or table.shape[0] != table.shape[1]:
            raise ValueError(f"table.shape={tuple(table.shape)}, but should be (V, V)")
        self.register_buffer("table", table.clone())
        self.config = _Config(int(table.shape[1]))

    @property
    def device(self) -> torch.device:
        return self.table.device

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None, **kwargs: Any) -> ModelOutput:
        if "labels" in kwargs:
            raise TypeError("TableLM computes no loss from labels=: take .logits and compute the NLL of each token yourself")
        if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
            shape = tuple(input_ids.shape) if isinstance(input_ids, torch.Tensor) else type(input_ids).__name__
            raise ValueError(f"input_ids should be a LongTensor of shape (batch, T), as the tokenizer returns it, not {shape}")
        return ModelOutput(logits=self.table[input_ids.long()])  # (B, T, V)


class NGramStep:
    """Next-token log-probabilities from an n-gram table, for beam search.

    ``table`` has n axes of size V: ``table[a, b, :]`` (for n = 3) are the logits of the token
    that follows ... a, b. ``step(prefix)`` takes the tokens so far (a list of ints that starts
    with ``bos``) and returns ``log_softmax`` of the row picked by the prefix's last n - 1
    tokens; a prefix shorter than that is padded on the left with ``bos``. It also writes down
    the longest prefix it was asked about, in ``longest``: the depth at which a search stopped.
    """

    def __init__(self, table: torch.Tensor, bos: int):
        self.table = torch.as_tensor(table, dtype=torch.float32)
        self.context = self.table.dim() - 1
        self.bos = int(bos)
        self.longest = 0
        self.calls = 0

    def __call__(self, prefix: Union[Sequence[int], torch.Tensor]) -> torch.Tensor:
        tokens = [int(t) for t in torch.as_tensor(prefix).reshape(-1)]
        self.calls += 1
        self.longest = max(self.longest, len(tokens))
        context = ([self.bos] * self.context + tokens)[len(tokens) :] if self.context else []
        row = self.table[tuple(context)] if context else self.table
        return torch.log_softmax(row, dim=-1)  # (V,)
