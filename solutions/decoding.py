"""Part 2: choosing one next token from a model's logits.

Every function takes 1-D logits (V,) and returns a token id as a Python int. The samplers
draw from torch's global random generator, so ``torch.manual_seed`` reproduces their draws.
"""
import torch


def greedy(logits: torch.Tensor) -> int:
    """The most likely token: argmax of the logits (the softmax does not change the order)."""
    ### BEGIN SOLUTION
    token = int(torch.argmax(logits))
    ### END SOLUTION
    return token


def temperature_sample(logits: torch.Tensor, temperature: float = 1.0) -> int:
    """One token drawn from softmax(logits / temperature), for temperature > 0.

    Below 1 the distribution gets sharper (towards greedy), above 1 flatter (towards uniform).
    """
    ### BEGIN SOLUTION
    probs = torch.softmax(logits.double() / temperature, dim=-1)  # float64: small T gives big logits
    token = int(torch.multinomial(probs, num_samples=1))
    ### END SOLUTION
    return token


def top_k_sample(logits: torch.Tensor, k: int) -> int:
    """One token drawn from the k most likely tokens, with their probabilities renormalised to
    sum to 1 (every token when k >= V)."""
    ### BEGIN SOLUTION
    k = min(int(k), logits.numel())
    top_logits, top_ids = torch.topk(logits, k)  # (k,), (k,)
    # A softmax over the kept logits is the renormalised distribution over the kept tokens.
    choice = torch.multinomial(torch.softmax(top_logits, dim=-1), num_samples=1)
    token = int(top_ids[choice])
    ### END SOLUTION
    return token
