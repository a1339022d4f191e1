"""Visible tests for Part 4. The hidden tests also check causality, the use of positions, the
reference's weights, and the loss on random batches with ragged padding."""
import torch

from dialogue import DialogueGPT, DialogueLoss, MyTokenizer


def test_tokenizer_known_answer():
    tok = MyTokenizer("to be or not to be")
    assert tok.vocab == ["<START>", "<PAD>", "<UNK>", "be", "not", "or", "to"]
    assert tok.encode("to be , sir").tolist() == [0, 6, 3, 2, 2], "start id, one id per word, <UNK> for unseen words"
    assert tok.decode([0, 6, 3]) == "<START> to be"


def test_dialogue_gpt_shapes():
    model = DialogueGPT(vocab_size=11, max_N=8, dim=16, attn_dim=8, mlp_dim=32, num_heads=2, num_layers=2)
    logits, _ = model(torch.randint(0, 11, (3, 6)))
    assert logits.shape == (3, 6, 11), f"logits.shape={tuple(logits.shape)}, but should be (B, T, vocab_size)"


def test_dialogue_gpt_first_position_ignores_the_future():
    torch.manual_seed(0)
    model = DialogueGPT(vocab_size=11, max_N=8, dim=16, attn_dim=8, mlp_dim=32, num_heads=2, num_layers=2)
    a = torch.tensor([[0, 3, 4, 5]])
    b = torch.tensor([[0, 7, 8, 9]])
    assert torch.allclose(model(a)[0][:, 0], model(b)[0][:, 0], atol=1e-6), "position 0 must not see later tokens"


def test_dialogue_loss_known_answer():
    logits = torch.zeros(1, 3, 4)  # uniform predictions: every supervised token costs log(4)
    ids = torch.tensor([[0, 2, 1]])
    mask = torch.tensor([[1, 1, 0]])  # the last token is padding: only token 1 is supervised
    loss = DialogueLoss()(logits, ids, mask)
    assert torch.isclose(loss, torch.log(torch.tensor(4.0))), f"loss={loss.item():.4f}, but should be log(4)"
