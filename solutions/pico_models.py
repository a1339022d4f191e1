"""pico-llm: a k-gram MLP and a small decoder-only Transformer over token ids.

Everything here is time-first, like the original pico-llm starter: a batch of token ids has
shape (T, B) (sequence length first, then batch) and a model returns logits of shape
(T, B, vocab_size), where logits[t, b] is the prediction for token t + 1 of sequence b.
"""
import math
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from sampling import nucleus_sampling


class KGramMLPSeqModel(nn.Module):
    """A k-gram language model: an MLP that reads the last k tokens and predicts the next.

    ``forward`` (given) slides a window over the sequence: the logits at position t come from
    the k tokens at positions t-k+1, ..., t (the current token included), with token id 0
    standing in for the positions before the start. ``self.net`` maps one window, given as
    the k one-hot vectors concatenated, shape (N, k * vocab_size), to logits (N, vocab_size).
    """

    def __init__(self, vocab_size: int, k: int = 3, embed_size: int = 1024, num_inner_layers: int = 1, chunk_size: int = 1):
        super().__init__()
        self.k = k
        self.vocab_size = vocab_size
        self.embed_size = embed_size
        self.num_inner_layers = num_inner_layers
        self.chunk_size = chunk_size
        ### BEGIN SOLUTION
        # The first layer acting on concatenated one-hot vectors is the same thing as an
        # embedding table per window slot, summed: nn.Linear simply learns those tables.
        layers: List[nn.Module] = [nn.Linear(k * vocab_size, embed_size), nn.SiLU()]
        for _ in range(num_inner_layers):
            layers += [nn.Linear(embed_size, embed_size), nn.SiLU()]
        layers.append(nn.Linear(embed_size, vocab_size))
        self.net = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, tokens_seq: torch.Tensor) -> torch.Tensor:
        """tokens_seq (T, B) of token ids -> logits (T, B, vocab_size). Given.

        ``chunk_size`` positions are pushed through the MLP at once: a larger chunk is faster
        and needs more memory.
        """
        seq_len, batch_size = tokens_seq.shape
        # k - 1 positions of token 0 in front, so that every position has a full window.
        pad = torch.zeros(self.k - 1, batch_size, dtype=tokens_seq.dtype, device=tokens_seq.device)
        padded = torch.cat([pad, tokens_seq], dim=0)  # (T + k - 1, B)
        outputs = []
        step = max(1, int(self.chunk_size))
        for start in range(0, seq_len, step):
            end = min(start + step, seq_len)
            # The window of position t is padded[t : t + k], i.e. tokens t-k+1 .. t.
            windows = torch.stack([padded[t : t + self.k] for t in range(start, end)])  # (c, k, B)
            one_hot = F.one_hot(windows, num_classes=self.vocab_size).float()  # (c, k, B, V)
            flat = one_hot.permute(0, 2, 1, 3).reshape((end - start) * batch_size, self.k * self.vocab_size)
            outputs.append(self.net(flat).reshape(end - start, batch_size, -1))  # (c, B, V)
        return torch.cat(outputs, dim=0)  # (T, B, V)


class RMSNorm(nn.Module):
    """Root-mean-square normalisation (Zhang and Sennrich, 2019) over the last axis.

    ``x / sqrt(mean(x**2) + eps) * weight``: no mean is subtracted and there is no bias.
    The learnable ``weight`` of shape (dim,) starts at ones, as in ``torch.nn.RMSNorm``.
    """

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        ### BEGIN SOLUTION
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., dim) -> the same shape, every vector along the last axis normalised."""
        ### BEGIN SOLUTION
        # eps goes inside the square root: a vector of zeros then stays finite.
        scale = torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        normed = x * scale * self.weight
        ### END SOLUTION
        return normed


class TransformerBlock(nn.Module):
    """A suggested building block (not graded on its own): pre-norm causal self-attention
    with a residual connection, then a pre-norm MLP with a residual connection.

    x (T, B, d_model) -> (T, B, d_model); position t may only read positions 0..t.
    """

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        ### BEGIN SOLUTION
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} should be a multiple of n_heads={n_heads}")
        self.n_heads = n_heads
        self.attn_norm = RMSNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.mlp_norm = RMSNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        seq_len, batch_size, d_model = x.shape
        head_dim = d_model // self.n_heads
        q, k, v = self.qkv(self.attn_norm(x)).split(d_model, dim=-1)  # (T, B, D) each

        def by_head(t: torch.Tensor) -> torch.Tensor:
            # (T, B, D) -> (B, heads, T, head_dim): attention mixes positions along T, and
            # must never mix the batch axis, so B moves out of the way first.
            return t.reshape(seq_len, batch_size, self.n_heads, head_dim).permute(1, 2, 0, 3)

        q, k, v = by_head(q), by_head(k), by_head(v)
        scores = q @ k.transpose(-2, -1) / math.sqrt(head_dim)  # (B, heads, T, T)
        causal = torch.ones(seq_len, seq_len, dtype=torch.bool, device=x.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))  # row t sees columns 0..t only
        mixed = torch.softmax(scores, dim=-1) @ v  # (B, heads, T, head_dim)
        mixed = mixed.permute(2, 0, 1, 3).reshape(seq_len, batch_size, d_model)  # back to (T, B, D)
        # Concatenating the heads then projecting equals summing one projection per head.
        x = x + self.proj(mixed)
        x = x + self.mlp(self.mlp_norm(x))
        ### END SOLUTION
        return x


class TransformerModel(nn.Module):
    """A causal decoder-only Transformer: embedding, ``n_blocks`` blocks, a final RMSNorm and
    an unembedding to the vocabulary. tokens (T, B) -> logits (T, B, vocab_size)."""

    def __init__(self, vocab_size: int = 50257, d_model: int = 1024, n_heads: int = 2, n_blocks: int = 4):
        super().__init__()
        self.vocab_size = vocab_size
        ### BEGIN SOLUTION
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.blocks = nn.ModuleList([TransformerBlock(d_model, n_heads) for _ in range(n_blocks)])
        self.final_norm = RMSNorm(d_model)
        self.unembed = nn.Linear(d_model, vocab_size)
        ### END SOLUTION

    def forward(self, tokens_seq: torch.Tensor) -> torch.Tensor:
        """tokens_seq (T, B) -> logits (T, B, vocab_size); logits[t] never depend on tokens after t."""
        ### BEGIN SOLUTION
        # No positional embedding: with a causal mask the model can still tell positions
        # apart (Haviv et al., 2022; "NoPE"), and nothing limits the sequence length.
        x = self.embedding(tokens_seq)  # (T, B, D)
        for block in self.blocks:
            x = block(x)
        logits = self.unembed(self.final_norm(x))  # (T, B, V)
        ### END SOLUTION
        return logits


def compute_next_token_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Given. The mean cross-entropy of logits[t] against tokens[t + 1], over every t < T - 1
    and every sequence. logits (T, B, V), tokens (T, B)."""
    seq_len, batch_size, vocab = logits.shape
    if seq_len < 2:
        return logits.sum() * 0.0  # nothing to predict; keeps the graph for backward()
    predictions = logits[:-1].reshape(-1, vocab)  # positions 0 .. T-2
    targets = tokens[1:].reshape(-1)  # tokens 1 .. T-1
    return F.cross_entropy(predictions, targets)


def train_steps(model: nn.Module, tokens: torch.Tensor, steps: int, lr: float = 3e-3, batch_size: Optional[int] = None, seed: int = 0) -> List[float]:
    """Given. Train ``model`` with Adam on columns of ``tokens`` (T, N) for ``steps`` steps and
    return the loss of every step. With ``batch_size`` each step uses that many columns drawn
    at random (seeded); without it every step uses them all. The hidden tests call this to see
    that your models learn; the training script uses it too.

    Adam is written out here (it is the update of ``torch.optim.Adam`` with its default
    betas): creating a ``torch.optim`` optimizer imports torch's compiler stack, which takes
    seconds, and the grader starts a fresh process for every problem.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: register its layers as attributes (or in nn.ModuleList)")
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    first = [torch.zeros_like(p) for p in params]
    second = [torch.zeros_like(p) for p in params]
    generator = torch.Generator().manual_seed(seed)
    losses: List[float] = []
    model.train()
    with torch.enable_grad():  # the grader calls models with gradients off
        for step in range(1, steps + 1):
            batch = tokens
            if batch_size is not None and batch_size < tokens.shape[1]:
                batch = tokens[:, torch.randperm(tokens.shape[1], generator=generator)[:batch_size]]
            loss = compute_next_token_loss(model(batch), batch)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            with torch.no_grad():
                for p, g, m, v in zip(params, grads, first, second):
                    if g is None:  # a parameter this loss does not reach
                        continue
                    m.mul_(beta1).add_(g, alpha=1 - beta1)
                    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    p.sub_(lr * (m / (1 - beta1**step)) / ((v / (1 - beta2**step)).sqrt() + eps))
            losses.append(float(loss.detach()))
    model.eval()
    return losses


@torch.no_grad()
def generate_text(model: nn.Module, prompt: List[int], max_new_tokens: int, top_p: Optional[float] = None, context: Optional[int] = None) -> List[int]:
    """Given. Extend the token ids ``prompt`` by ``max_new_tokens`` tokens: greedy when
    ``top_p`` is None, otherwise drawn with your ``nucleus_sampling``. With ``context`` the
    model reads only the last ``context`` tokens (use the training sequence length: a model
    has never seen positions beyond it)."""
    model.eval()
    ids = list(prompt)
    for _ in range(max_new_tokens):
        window = ids[-context:] if context else ids
        logits = model(torch.tensor(window, dtype=torch.long).unsqueeze(1))[-1, 0]  # (V,): after the last token
        ids.append(int(logits.argmax()) if top_p is None else nucleus_sampling(logits, p=top_p))
    return ids
