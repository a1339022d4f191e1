"""Visible tests for Part 2 (run `pytest` in this folder). They check shapes and one known answer
per problem, and each mistake a small example can show; the hidden tests check much more (random inputs, masks, the reference's weights)."""
import torch
from attention import AttentionHead, MultiHeadedAttention, Transformer

BAND = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]])  # self and the token before


def test_attention_head_shapes():
    out, alpha = AttentionHead(dim=8, n_hidden=5)(torch.randn(2, 4, 8))
    assert out.shape == (2, 4, 5), f"out.shape={tuple(out.shape)}, but should be (2, 4, 5)"
    assert alpha.shape == (2, 4, 4), f"alpha.shape={tuple(alpha.shape)}, but should be (2, 4, 4)"


def test_attention_head_uniform_when_queries_and_keys_are_zero():
    head = AttentionHead(dim=3, n_hidden=2)
    with torch.no_grad():
        for layer in (head.W_Q, head.W_K):
            layer.weight.zero_()
            layer.bias.zero_()
    x = torch.randn(1, 4, 3)
    out, alpha = head(x, attn_mask=BAND)
    expected = BAND / BAND.sum(-1, keepdim=True)  # equal scores: equal weights on allowed positions
    assert torch.allclose(alpha[0], expected.float(), atol=1e-6), f"alpha[0]=\n{alpha[0]}\nbut should be\n{expected}"
    assert torch.allclose(out, alpha @ head.W_V(x), atol=1e-6), "out should be alpha @ V"


def test_attention_head_scales_scores_by_sqrt_n_hidden():
    head = AttentionHead(dim=2, n_hidden=4)
    with torch.no_grad():
        for layer in (head.W_Q, head.W_K):
            layer.weight.copy_(torch.tensor([[1.0, 0.0]] * 4))  # every hidden unit copies x[..., 0]
            layer.bias.zero_()
    x = torch.tensor([[[1.0, 0.0], [2.0, 0.0]]])  # so q = k = (x0, x0, x0, x0) at each position
    _, alpha = head(x)
    # q.k = 4 * x0_i * x0_j = [[4, 8], [8, 16]], divided by sqrt(n_hidden) = 2 (not sqrt(dim), not n_hidden)
    expected = torch.softmax(torch.tensor([[2.0, 4.0], [4.0, 8.0]]), dim=-1)
    assert torch.allclose(alpha[0], expected, atol=1e-5), f"alpha[0]=\n{alpha[0]}\nbut should be\n{expected}"


def test_multi_headed_attention_shapes_and_distinct_heads():
    mha = MultiHeadedAttention(dim=6, n_hidden=4, num_heads=3)
    out, alphas = mha(torch.randn(2, 5, 6))
    assert out.shape == (2, 5, 6), f"out.shape={tuple(out.shape)}, but should be (2, 5, 6)"
    assert alphas.shape == (2, 3, 5, 5), f"alphas.shape={tuple(alphas.shape)}, but should be (2, 3, 5, 5)"
    assert len({id(h) for h in mha.heads}) == 3, "the heads should be 3 distinct AttentionHead modules"


def test_multi_headed_attention_concatenates_heads_in_order():
    mha = MultiHeadedAttention(dim=4, n_hidden=2, num_heads=2)
    x = torch.randn(1, 3, 4)
    outs = [head(x)[0] for head in mha.heads]
    out, _ = mha(x)
    assert torch.allclose(out, mha.W_O(torch.cat(outs, dim=-1)), atol=1e-6), "out should be W_O(concat(head outputs))"


def test_transformer_shapes_and_mask():
    model = Transformer(dim=8, attn_dim=4, mlp_dim=16, num_heads=2, num_layers=3)
    out, attn = model(torch.randn(2, 4, 8), attn_mask=BAND, return_attn=True)
    assert out.shape == (2, 4, 8), f"out.shape={tuple(out.shape)}, but should be (2, 4, 8)"
    assert attn.shape == (2, 3, 2, 4, 4), f"attn.shape={tuple(attn.shape)}, but should be (2, 3, 2, 4, 4)"
    assert (attn[..., BAND == 0] == 0).all(), "every layer's attention should be exactly 0 where the mask is 0"
    assert model(torch.randn(2, 4, 8))[1] is None, "attn should be None when return_attn is False"
    assert len({id(layer) for layer in model.layers}) == 3, "the layers should be 3 distinct AttentionResidual modules"
