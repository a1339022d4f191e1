"""Visible tests for Part 4. The hidden tests also check causality and the use of positions on
random inputs, the reference's weights, and the loss on many random batches with ragged padding."""
import torch
from attention import AttentionHead, MultiHeadedAttention, Transformer
from dialogue import DialogueGPT, DialogueLoss, MyTokenizer


def check_part2_first() -> None:
    """DialogueGPT is built on Part 2: if one of its classes fails a quick check of its own, say
    which one to fix first (a DialogueGPT test failing for that reason would point at the wrong file)."""
    causal = torch.tril(torch.ones(3, 3, dtype=torch.long))  # 1 = may attend
    x = torch.randn(1, 3, 4)
    parts = (
        ("Part 2a (AttentionHead)", lambda: AttentionHead(dim=4, n_hidden=2)(x, attn_mask=causal)[1]),
        ("Part 2b (MultiHeadedAttention)", lambda: MultiHeadedAttention(dim=4, n_hidden=2, num_heads=2)(x, attn_mask=causal)[1]),
        ("Part 2c (Transformer)", lambda: Transformer(dim=4, attn_dim=2, mlp_dim=8, num_heads=2, num_layers=2)(x, attn_mask=causal, return_attn=True)[1]),
    )
    for part, weights in parts:
        try:
            alpha = weights()
            masked_out = bool((alpha[..., causal == 0] == 0).all())
            rows_sum_to_one = torch.allclose(alpha.sum(-1), torch.ones(()), atol=1e-5)
            wrong = "" if masked_out and rows_sum_to_one else "with a causal mask its attention weights should be 0 above the diagonal and each row should sum to 1"
        except Exception as exc:  # a stub's NotImplementedError, a shape error, ...
            wrong = f"it raised {type(exc).__name__}: {exc}"
        if wrong:
            raise AssertionError(f"fix {part} first: {wrong} (run `pytest tests/test_attention.py`); DialogueGPT is built on it")


def test_tokenizer_known_answer():
    tok = MyTokenizer("to be or not to be")
    assert tok.vocab == ["<START>", "<PAD>", "<UNK>", "be", "not", "or", "to"]
    assert tok.encode("to be , sir").tolist() == [0, 6, 3, 2, 2], "start id, one id per word, <UNK> for unseen words"
    assert tok.decode([0, 6, 3]) == "<START> to be"
    assert tok.encode("not be, sir").tolist() == [0, 4, 3, 2, 2], "split words with the given word_tokenize call: 'be,' is 'be' and ','"


def test_dialogue_gpt_shapes():
    check_part2_first()
    model = DialogueGPT(vocab_size=11, max_N=8, dim=16, attn_dim=8, mlp_dim=32, num_heads=2, num_layers=2)
    logits, _ = model(torch.randint(0, 11, (3, 6)))
    assert logits.shape == (3, 6, 11), f"logits.shape={tuple(logits.shape)}, but should be (B, T, vocab_size)"


def test_dialogue_gpt_first_position_ignores_the_future():
    check_part2_first()
    torch.manual_seed(0)
    model = DialogueGPT(vocab_size=11, max_N=8, dim=16, attn_dim=8, mlp_dim=32, num_heads=2, num_layers=2)
    a = torch.tensor([[0, 3, 4, 5]])
    b = torch.tensor([[0, 7, 8, 9]])
    assert torch.allclose(model(a)[0][:, 0], model(b)[0][:, 0], atol=1e-6), "position 0 must not see later tokens"


def test_dialogue_gpt_uses_positions():
    check_part2_first()
    torch.manual_seed(0)
    # One layer: without position embeddings the last position sees the same set of tokens in both
    # orders, so it could not tell them apart.
    model = DialogueGPT(vocab_size=11, max_N=8, dim=16, attn_dim=8, mlp_dim=32, num_heads=2, num_layers=1)
    a = model(torch.tensor([[0, 3, 4, 5]]))[0][0, -1]
    b = model(torch.tensor([[0, 4, 3, 5]]))[0][0, -1]
    assert not torch.allclose(a, b, atol=1e-6), "swapping two earlier tokens should change the last logits: add the position embeddings"


def test_dialogue_loss_known_answer():
    logits = torch.zeros(1, 3, 4)  # uniform predictions: every supervised token costs log(4)
    ids = torch.tensor([[0, 2, 1]])
    mask = torch.tensor([[1, 1, 0]])  # the last token is padding: only token 1 is supervised
    loss = DialogueLoss()(logits, ids, mask)
    assert torch.isclose(loss, torch.log(torch.tensor(4.0))), f"loss={loss.item():.4f}, but should be log(4)"


def test_dialogue_loss_shift_padding_and_mean_per_token():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 5)
    ids = torch.tensor([[0, 3, 1, 4], [0, 2, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])  # sequence 1 has 2 real tokens, then padding
    log_probs = torch.log_softmax(logits, dim=-1)
    # Supervised: token i >= 1 of a sequence where the mask is 1, predicted by the logits at i - 1;
    # the mean is over those 4 tokens (3 in sequence 0, 1 in sequence 1), not per sequence.
    supervised = [(b, i) for b in range(2) for i in range(1, 4) if mask[b, i] == 1]
    expected = -sum(log_probs[b, i - 1, ids[b, i]] for b, i in supervised) / len(supervised)
    loss = DialogueLoss()(logits, ids, mask)
    assert torch.isclose(loss, expected, atol=1e-5), (
        f"loss={loss.item():.4f}, but should be {expected.item():.4f}: the logits at i - 1 predict token i, "
        "only tokens whose own mask is 1 count, and the mean is over those tokens"
    )
