"""Part 5: nucleus (top-p) sampling (Holtzman et al., 2020, "The Curious Case of Neural
Text Degeneration").

Keep the smallest set of most likely tokens whose probabilities add up to at least p,
renormalise over that set and draw one token from it. The unreliable tail of the
distribution is never sampled, yet the choice stays random where the model is unsure.
"""
import torch


def nucleus_sampling(logits: torch.Tensor, p: float = 0.95) -> int:
    """Draw one token id from the top-p nucleus of ``softmax(logits)``.

    logits is 1-D (V,). With probabilities sorted p_(1) >= p_(2) >= ..., k is the smallest
    integer with p_(1) + ... + p_(k) >= p; the result is one of those k tokens, drawn with
    probability proportional to its own probability, as a Python int. Randomness comes
    from torch's global generator, so ``torch.manual_seed`` reproduces a draw.
    """
    ### BEGIN SOLUTION
    # Softmax in the logits' own dtype: float32 logits of an exactly representable
    # distribution (0.5, 0.25, ...) then give exact probabilities and exact ties at p.
    probs = torch.softmax(logits, dim=-1)  # (V,)
    sorted_probs, order = torch.sort(probs, descending=True)  # (V,) each
    cumulative = torch.cumsum(sorted_probs, dim=-1)  # (V,)
    # The prefixes that fall short of p are exactly the first k - 1; the k-th reaches p.
    k = int((cumulative < p).sum()) + 1
    # Rounding can leave the total a hair below 1, so p >= 1 must not ask for V + 1 tokens.
    k = min(k, sorted_probs.numel())
    # multinomial renormalises the kept weights itself; it draws from torch's generator.
    choice = torch.multinomial(sorted_probs[:k], num_samples=1)  # (1,) index into the nucleus
    token = int(order[choice])
    ### END SOLUTION
    return token
