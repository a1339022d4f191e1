"""Part 1: how surprised is a language model by a text? Per-token negative log-likelihood and
perplexity, with Hugging Face calling conventions (see lab_models.py)."""
import math

import torch
import torch.nn.functional as F


def token_nlls(model, tokenizer, text: str) -> torch.Tensor:
    """The negative log-likelihood, in nats, of every token of ``text`` after the first.

    ``tokenizer(text, return_tensors="pt").input_ids`` gives ids (1, T) and
    ``model(input_ids).logits`` gives logits (1, T, V), where logits[0, i] predict token i + 1.
    Returns a 1-D float tensor of length T - 1 whose entry i - 1 is -log p(token i | tokens < i),
    for i = 1, ..., T - 1 (the first token has nothing to be predicted from).
    """
    ### BEGIN SOLUTION
    input_ids = tokenizer(text, return_tensors="pt").input_ids  # (1, T)
    with torch.no_grad():
        logits = model(input_ids).logits  # (1, T, V)
    # Position i - 1 predicts token i: drop the last prediction (nothing follows it) and the
    # first token (nothing predicts it), so predictions and targets line up.
    log_probs = F.log_softmax(logits[0, :-1].float(), dim=-1)  # (T - 1, V)
    targets = input_ids[0, 1:]  # (T - 1,)
    nlls = -log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)  # (T - 1,)
    ### END SOLUTION
    return nlls


def compute_perplexity(model, tokenizer, text: str) -> float:
    """exp of the mean negative log-likelihood of the tokens 1 .. T-1 of ``text``, as a float.

    A model that gives every token of a vocabulary of size V the same logit has perplexity V.
    """
    ### BEGIN SOLUTION
    nlls = token_nlls(model, tokenizer, text)
    # The geometric mean of 1 / p over the predicted tokens: exp of the arithmetic mean NLL.
    perplexity = math.exp(float(nlls.mean()))
    ### END SOLUTION
    return perplexity
