"""Parameters found by shape and role (autograder/checking/params.py), not by state-dict key."""
import pytest
import torch

from autograder.checking import params

pytestmark = pytest.mark.unit


def test_same_key_first_then_shape_in_registration_order():
    theirs = {"attention_heads.0.query.weight": torch.zeros(2, 3), "linear.weight": torch.zeros(3, 2), "linear.bias": torch.zeros(3)}
    wanted = [("heads.0.W_Q.weight", (2, 3)), ("W_O.weight", (3, 2)), ("W_O.bias", (3,))]
    mapping = params.match(theirs, wanted)
    assert mapping.keys == {"heads.0.W_Q.weight": "attention_heads.0.query.weight", "W_O.weight": "linear.weight", "W_O.bias": "linear.bias"}
    assert mapping.missing == [] and mapping.assumed == [] and mapping.note("m") == ""


def test_equal_shapes_are_matched_in_order_and_the_message_says_so():
    theirs = {"q.weight": torch.zeros(2, 2), "k.weight": torch.zeros(2, 2), "v.weight": torch.zeros(2, 2), "W_V.weight": torch.zeros(2, 2)}
    wanted = [("W_Q.weight", (2, 2)), ("W_K.weight", (2, 2)), ("W_V.weight", (2, 2))]
    mapping = params.match(theirs, wanted)
    assert mapping.keys == {"W_V.weight": "W_V.weight", "W_Q.weight": "q.weight", "W_K.weight": "k.weight"}
    assert "head.q.weight as W_Q.weight" in mapping.note("head") and "registers them" in mapping.note("head")


def test_missing_biases_and_excluded_prefixes_are_left_unmatched():
    theirs = {"W_Q.weight": torch.zeros(2, 3), "inner.w": torch.zeros(2), "steps": torch.tensor(3)}
    mapping = params.match(theirs, [("W_Q.weight", (2, 3)), ("W_Q.bias", (2,))], exclude=["inner"])
    assert mapping.keys == {"W_Q.weight": "W_Q.weight"} and mapping.missing == ["W_Q.bias"]


@pytest.mark.parametrize("keys", [None, ["1.weight", "0.bias"]])
def test_seeded_text_rebuilds_what_the_grader_loaded(keys):
    """The reproducer's few lines put the very values the grader loaded into the named entries
    (all of them in order: the loop; some, by key: the seeds by key) and leave the rest alone."""
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    module.register_buffer("steps", torch.tensor(3))
    theirs = module.state_dict()
    floating = [k for k, v in theirs.items() if v.is_floating_point()]
    seeds = {k: 40 + i for i, k in enumerate(floating) if keys is None or k in keys}
    want = {k: v.clone() for k, v in theirs.items()}
    want.update({k: torch.randn(*theirs[k].shape, generator=torch.Generator().manual_seed(s)) * 0.5 for k, s in seeds.items()})
    text = params.seeded_text("m", theirs, seeds, 0.5)
    assert ("enumerate" in text) == (keys is None) and len(text) < 400
    exec(text, {"torch": torch, "m": module})
    got = module.state_dict()
    assert all(torch.equal(got[k], want[k]) for k in want)
