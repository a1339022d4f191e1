"""Visible tests (run `pytest` in this folder): one example per property. The hidden tests check
the same properties on many random inputs, and train your models briefly with train_steps."""
import torch
from pico_models import KGramMLPSeqModel, RMSNorm, TransformerModel
from sampling import nucleus_sampling


def moved(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(T, B) booleans: which logit rows differ."""
    return (a - b).abs().amax(dim=-1) > 1e-6


def test_nucleus_small_p_is_greedy_and_returns_int():
    logits = torch.log(torch.tensor([0.2, 0.1, 0.7]))
    draws = [nucleus_sampling(logits, p=0.6) for _ in range(20)]
    assert all(type(d) is int for d in draws), "nucleus_sampling should return a Python int"
    assert set(draws) == {2}, f"p=0.6 is below the top probability 0.7, so only token 2 may come up; saw {sorted(set(draws))}"


def test_nucleus_keeps_the_token_that_reaches_p():
    torch.manual_seed(0)
    logits = torch.log(torch.tensor([0.6, 0.3, 0.1]))
    draws = {nucleus_sampling(logits, p=0.7) for _ in range(200)}
    assert draws == {0, 1}, f"p=0.7: 0.6 < 0.7, so tokens 0 and 1 (0.6 + 0.3 >= 0.7) may come up; saw {sorted(draws)}"


def test_kgram_shapes_and_window():
    torch.manual_seed(0)
    model = KGramMLPSeqModel(vocab_size=5, k=2, embed_size=16, num_inner_layers=1)
    tokens = torch.tensor([[1, 2], [3, 4], [0, 1], [2, 2], [4, 0]])  # (T=5, B=2)
    logits = model(tokens)
    assert logits.shape == (5, 2, 5), f"logits.shape={tuple(logits.shape)}, but should be (T, B, V) = (5, 2, 5)"
    changed = tokens.clone()
    changed[2, 0] = 3  # token 2 of sequence 0
    rows = moved(logits, model(changed))
    want = torch.zeros(5, 2, dtype=torch.bool)
    want[2:4, 0] = True  # k = 2: the windows of positions 2 and 3 contain it
    assert torch.equal(rows, want), f"changing token [2, 0] moved the logits at\n{rows.int()}\nbut should move exactly\n{want.int()}"


def test_rmsnorm_matches_torch():
    norm = RMSNorm(6, eps=1e-5)
    gains = [p for p in norm.parameters() if p.shape == (6,)]  # the gain, whatever its name
    assert len(gains) == 1, "RMSNorm should have one parameter of shape (dim,), the gain"
    assert torch.equal(gains[0].detach(), torch.ones(6)), "the gain should start at ones"
    count = sum(p.numel() for p in norm.parameters())
    assert count == 6, f"RMSNorm(6) has {count} learnable numbers, but should have 6: one gain per feature, no bias"
    with torch.no_grad():
        gains[0].copy_(torch.linspace(0.5, 2.0, 6))
    reference = torch.nn.RMSNorm(6, eps=1e-5)
    with torch.no_grad():
        reference.weight.copy_(gains[0])
    x = torch.randn(3, 4, 6) * 0.01
    assert torch.allclose(norm(x), reference(x), atol=1e-5), "RMSNorm should equal torch.nn.RMSNorm(dim, eps=eps)"


def test_transformer_shapes_causality_and_independence():
    torch.manual_seed(0)
    model = TransformerModel(vocab_size=7, d_model=8, n_heads=2, n_blocks=2).eval()
    tokens = torch.randint(0, 7, (6, 3))  # (T=6, B=3)
    logits = model(tokens)
    assert logits.shape == (6, 3, 7), f"logits.shape={tuple(logits.shape)}, but should be (T, B, V) = (6, 3, 7)"
    future = tokens.clone()
    future[4:] = (future[4:] + 1) % 7
    assert not moved(logits[:4], model(future)[:4]).any(), "changing tokens 4.. moved the logits at positions 0..3: the model is not causal"
    alone = model(tokens[:, 1:2])[:, 0]
    assert torch.allclose(logits[:, 1], alone, atol=1e-5), "sequence 1 gets other logits in the batch than alone: sequences leak into each other"
