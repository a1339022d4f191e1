"""Part 3: beam search, with the early-stopping rule proved in Georgia Tech's CS 7643 (problem
set 3, question 4): once the best completed hypothesis scores at least as much as the best
live one, no later hypothesis can beat it, because log-probabilities are never positive."""
from typing import Callable, List, Optional, Tuple

import torch

StepFn = Callable[[List[int]], torch.Tensor]


def beam_search(step_logprobs: StepFn, bos: int, eos: int, beam_size: int, max_len: int) -> Tuple[List[int], float]:
    """The best hypothesis found by beam search, and its score.

    A hypothesis is a list of token ids that starts with ``bos``; its score is the sum of the
    log-probabilities of its tokens after ``bos``; it is completed when its last token is
    ``eos``. ``step_logprobs(tokens)`` returns the (V,) log-probabilities of the next token.

    Step t (t = 1, ..., max_len): extend every live hypothesis by every token, keep the
    ``beam_size`` best of all those candidates; the kept ones that end in ``eos`` are
    completed and leave the beam, the others are the live hypotheses of step t + 1. After a
    step, stop (without calling ``step_logprobs`` again) if nothing is live, if t = max_len,
    or if a completed hypothesis scores at least as much as the best live one.

    Returns (tokens, score) of the best completed hypothesis (the first one found, if two
    tie); if none completed within max_len steps, the best live one.
    """
    ### BEGIN SOLUTION
    live: List[Tuple[List[int], float]] = [([bos], 0.0)]
    best: Optional[Tuple[List[int], float]] = None
    for _ in range(max_len):
        candidates = []
        for tokens, score in live:
            logprobs = step_logprobs(tokens).tolist()  # (V,) as Python floats
            candidates += [(tokens + [token], score + lp) for token, lp in enumerate(logprobs)]
        candidates.sort(key=lambda c: -c[1])  # stable: equal scores keep their order
        live = []
        for tokens, score in candidates[:beam_size]:
            if tokens[-1] != eos:
                live.append((tokens, score))
            elif best is None or score > best[1]:  # strict: the first of equal scores stays
                best = (tokens, score)
        # Every extension of a live hypothesis adds log-probabilities <= 0, so once the best
        # completed score reaches the best live score nothing later can beat it.
        if not live or (best is not None and best[1] >= live[0][1]):
            break
    if best is None:  # nothing completed within max_len tokens: the best unfinished one
        best = live[0]
    ### END SOLUTION
    return best
