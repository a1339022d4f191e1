"""Visible tests (run `pytest` in this folder): one example per problem. The hidden tests use many
random models, distributions and search problems, and statistical checks for the samplers."""
import math

import torch
from beam_search import beam_search
from decoding import greedy, temperature_sample, top_k_sample
from lab_models import NGramStep, TableLM, WhitespaceTokenizer
from perplexity import compute_perplexity, token_nlls

WORDS = ["the", "cat", "sat", "on", "mat"]


def test_uniform_model_has_perplexity_v():
    model, tokenizer = TableLM(torch.zeros(5, 5)), WhitespaceTokenizer(WORDS)
    assert math.isclose(compute_perplexity(model, tokenizer, "the cat sat on the mat"), 5.0, rel_tol=1e-5)


def test_token_nlls_use_the_logits_before_each_token():
    # After "the" the model is sure of "cat"; after anything else it is uniform.
    table = torch.zeros(5, 5)
    table[0, 1] = 100.0
    nlls = token_nlls(TableLM(table), WhitespaceTokenizer(WORDS), "the cat sat")
    assert nlls.shape == (2,), f"nlls.shape={tuple(nlls.shape)}, but should be (T - 1,) = (2,)"
    expected = torch.tensor([0.0, math.log(5)])  # "cat" after "the"; "sat" after "cat"
    assert torch.allclose(nlls.float(), expected, atol=1e-4), f"nlls={nlls.tolist()}, but should be {expected.tolist()}"


def test_greedy_and_cold_temperature():
    logits = torch.tensor([0.5, 2.0, -1.0, 1.9])
    assert greedy(logits) == 1 and type(greedy(logits)) is int
    assert {temperature_sample(logits, 0.01) for _ in range(20)} == {1}, "a temperature near 0 should be greedy"


def test_top_k_keeps_exactly_k():
    torch.manual_seed(0)
    logits = torch.log(torch.tensor([0.45, 0.18, 0.15, 0.08, 0.07, 0.07]))
    seen = {top_k_sample(logits, 3) for _ in range(300)}
    assert seen == {0, 1, 2}, f"with k=3 exactly tokens 0, 1, 2 should come up; saw {sorted(seen)}"


def test_beam_search_worked_example():
    probs = {0: [0, 0.1, 0.5, 0.4], 1: [0, 1, 0, 0], 2: [0, 0.4, 0.35, 0.25], 3: [0, 0.9, 0.05, 0.05]}
    table = torch.tensor([[math.log(p) if p > 0 else -1e9 for p in probs[row]] for row in range(4)])
    step = NGramStep(table, bos=0)
    tokens, score = beam_search(step, bos=0, eos=1, beam_size=3, max_len=10)
    assert tokens == [0, 3, 1] and math.isclose(score, math.log(0.36), abs_tol=1e-5), f"got ({tokens}, {score})"
    assert step.longest == 2, f"the search should stop after step 2, but asked about prefixes of {step.longest} tokens"
    greedy_tokens, greedy_score = beam_search(NGramStep(table, bos=0), 0, 1, 1, 10)
    assert greedy_tokens == [0, 2, 1] and math.isclose(greedy_score, math.log(0.2), abs_tol=1e-5)
