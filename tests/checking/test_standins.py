"""Stand-in blocks for composites (autograder/checking/standins.py): the calls they accept, what
they refuse, what they record.

They run in the grader only (no sandbox), so these tests are fast; the corpus proves them on
real uploads (``assignments/hw3/corpus``)."""
import pytest
import torch

from autograder.checking.standins import StandIn, mask_story

pytestmark = pytest.mark.unit


class _Head(torch.nn.Module):
    def forward(self, x, mask=None):
        scores = x @ x.transpose(-2, -1)
        if mask is not None:
            scores = scores.masked_fill(mask == 0, float("-inf"))
        alpha = scores.softmax(-1)
        return alpha @ x, alpha


@pytest.mark.parametrize("call", ["positional", "keyword", "named_mask", "x_keyword"])
def test_a_stand_in_takes_every_way_students_pass_the_mask_and_records_it(call):
    stand_in = StandIn(_Head(), "m.heads[0]", (2, 3, 4))
    x, mask = torch.randn(2, 3, 4), torch.tril(torch.ones(3, 3))
    args, kwargs = {
        "positional": ((x, mask), {}),
        "keyword": ((x,), {"attn_mask": mask}),
        "named_mask": ((x,), {"mask": mask}),
        "x_keyword": ((), {"x": x, "attn_mask": mask}),
    }[call]
    out, alpha = stand_in(*args, **kwargs)
    assert out.shape == (2, 3, 4) and torch.equal(alpha, _Head()(x, mask)[1])
    assert len(stand_in.masks) == 1 and torch.equal(stand_in.masks[0], mask)


def test_a_stand_in_refuses_inputs_of_another_shape_with_a_plain_error():
    stand_in = StandIn(_Head(), "m.heads[0]", (2, 3, 4))
    with pytest.raises(ValueError, match=r"should be a float tensor of shape \(2, 3, 4\)"):
        stand_in(torch.randn(2, 300, 4), None)
    with pytest.raises(ValueError, match="attn_mask of"):
        stand_in(torch.randn(2, 3, 4), torch.ones(4, 4))
    with pytest.raises(TypeError):
        stand_in(torch.randn(2, 3, 4), None, True)
    assert stand_in.masks == []


def test_the_mask_story_names_a_block_never_called_and_a_mask_not_passed_on():
    first, second = StandIn(_Head(), "m.heads[0]", (1, 2, 2)), StandIn(_Head(), "m.heads[1]", (1, 2, 2))
    second.masks += [None, None]
    assert "m.heads[0] was never called while m.heads[1] was called 2 times" in mask_story([first, second], None)
    first.masks.append(None)
    assert "m.heads[0] was called without the attention mask" in mask_story([first, second], torch.ones(2, 2))
    assert mask_story([first, second], None) == ""
