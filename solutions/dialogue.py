"""Part 4: DialogueGPT, a small word-level GPT trained on lines of dialogue.

A word tokenizer with three special tokens, a decoder-only Transformer that attends
only to the past (Radford et al., 2018), and the next-token cross-entropy loss that
ignores padding.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from nltk.tokenize import word_tokenize

from attention import Transformer


class MyTokenizer:
    """Word-level tokenizer: ids 0, 1, 2 are <START>, <PAD>, <UNK>, then the sorted words."""

    def __init__(self, raw_text: str):
        self.start_token = "<START>"
        self.pad_token = "<PAD>"
        self.unk_token = "<UNK>"
        # preserve_line=True skips NLTK's sentence splitter, which needs downloaded data.
        words = sorted(set(word_tokenize(raw_text, preserve_line=True)))
        self.vocab = [self.start_token, self.pad_token, self.unk_token] + words
        self.tok_to_id = {token: index for index, token in enumerate(self.vocab)}
        self.id_to_token = {index: token for index, token in enumerate(self.vocab)}
        self.vocab_size = len(self.vocab)

    def __len__(self) -> int:
        return self.vocab_size

    def encode(self, text: str) -> torch.Tensor:
        """Return a LongTensor: the start id, then one id per word of ``text`` (<UNK> if unseen)."""
        ### BEGIN SOLUTION
        unk_id = self.tok_to_id[self.unk_token]
        ids = [self.tok_to_id[self.start_token]]
        # Map an unseen word to <UNK> rather than dropping it, so the sequence keeps one
        # position per word and the words after it stay where they were.
        ids += [self.tok_to_id.get(word, unk_id) for word in word_tokenize(text, preserve_line=True)]
        encoded = torch.tensor(ids, dtype=torch.long)
        ### END SOLUTION
        return encoded

    def decode(self, ids: Union[Sequence[int], torch.Tensor]) -> str:
        """Return the tokens of ``ids`` (special tokens included) joined by single spaces."""
        ### BEGIN SOLUTION
        # int() accepts Python ints and 0-d tensors alike (iterating a tensor gives those).
        text = " ".join(self.id_to_token[int(index)] for index in ids)
        ### END SOLUTION
        return text


class DialogueGPT(nn.Module):
    """Decoder-only Transformer language model over token ids."""

    def __init__(
        self,
        vocab_size: int,
        max_N: int,
        dim: int,
        attn_dim: int,
        mlp_dim: int,
        num_heads: int,
        num_layers: int,
    ):
        super().__init__()
        self.max_N = max_N
        ### BEGIN SOLUTION
        self.token_embeddings = nn.Embedding(vocab_size, dim)
        # Attention is permutation-equivariant, so word order has to be injected: one
        # learned vector per position 0..max_N-1, as in GPT.
        self.pos_embeddings = nn.Embedding(max_N, dim)
        ### END SOLUTION
        self.transformer = Transformer(dim, attn_dim, mlp_dim, num_heads, num_layers)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, vocab_size))

    def forward(self, input_ids: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """input_ids (B, T) with T <= max_N -> logits (B, T, vocab_size), alphas.

        logits[:, i] may depend only on input_ids[:, :i + 1]; alphas is
        (B, num_layers, num_heads, T, T).
        """
        ### BEGIN SOLUTION
        num_tokens = input_ids.shape[1]
        positions = torch.arange(num_tokens, device=input_ids.device)  # (T,)
        x = self.token_embeddings(input_ids) + self.pos_embeddings(positions)  # (B, T, dim)
        # Causal mask: row i allows columns 0..i (lower triangle with the diagonal), so a
        # token never sees the tokens it is trained to predict.
        causal_mask = torch.tril(torch.ones(num_tokens, num_tokens, device=input_ids.device))  # (T, T)
        x, alphas = self.transformer(x, attn_mask=causal_mask, return_attn=True)
        ### END SOLUTION
        logits = self.head(x)  # (B, T, vocab_size)
        return logits, alphas

    @torch.no_grad()
    def generate(self, input_ids: torch.Tensor, num_tokens: int) -> torch.Tensor:
        """Given: greedy decoding. input_ids (B, T) -> (B, T + num_tokens).

        Each step feeds the last ``max_N`` tokens (the positional table has no more rows)
        and appends the most likely next token.
        """
        for _ in range(num_tokens):
            window = input_ids[:, -self.max_N:]  # (B, <= max_N)
            logits, _ = self(window)
            next_id = logits[:, -1].argmax(dim=-1, keepdim=True)  # (B, 1)
            input_ids = torch.cat([input_ids, next_id], dim=1)
        return input_ids


class DialogueLoss(nn.Module):
    """Mean next-token cross-entropy over the non-padding targets of a batch."""

    def forward(self, logits: torch.Tensor, input_ids: torch.Tensor, inp_mask: torch.Tensor) -> torch.Tensor:
        """logits (B, T, V), input_ids (B, T), inp_mask (B, T) with 1 on real tokens -> scalar.

        The mean, over every (b, i) with 1 <= i < T and inp_mask[b, i] == 1, of the
        cross-entropy of logits[b, i - 1] against input_ids[b, i].
        """
        ### BEGIN SOLUTION
        # Position i - 1 predicts token i: drop the last logit (nothing left to predict)
        # and the first token (<START> is given, never predicted).
        predictions = logits[:, :-1]  # (B, T-1, V)
        targets = input_ids[:, 1:]  # (B, T-1)
        # Supervise a target only if it is a real token; the mask belongs to the target.
        supervised = inp_mask[:, 1:].bool()  # (B, T-1)
        # Boolean indexing pools the supervised tokens of all sequences, so the mean is per
        # token: a long line weighs more than a short one, as in the sum over the corpus.
        loss = F.cross_entropy(predictions[supervised], targets[supervised])
        ### END SOLUTION
        return loss
