"""Hidden tests for Part 4: MyTokenizer, DialogueGPT and DialogueLoss.

DialogueGPT contains the submission's own Transformer (Part 2). So that a bug there is charged
to Part 2 only, the forward of the Transformer inside a DialogueGPT is the reference
Transformer's, computed in the grader with seeded weights (``autograder.checking.standins``);
the rest of the model gets the reference's weights, loaded by shape and role
(``autograder.checking.params``). DialogueGPT's own code (embeddings, positions, the mask it
passes, the head) then decides every check, and nothing the submission raises drops an example.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from hypothesis import strategies as st
from nltk.tokenize import word_tokenize

from autograder.checking import standins
from autograder.checking.compare import expect, expect_equal, expect_tensor, expect_type, fail
from autograder.checking.registry import Checks, Context
from autograder.checking.strategies import MAX_SEED, randn, seeded

checks = Checks()

SPECIALS = ["<START>", "<PAD>", "<UNK>"]
START, PAD, UNK = 0, 1, 2


# -------------------------------------------------------------------------------------------
# MyTokenizer

# Letters-only words (capitalised ones sort before lower-case ones) and punctuation. Texts are
# these pieces joined by spaces, some punctuation written straight after a word ("yes,"), which
# NLTK's word tokenizer splits off.
WORDS = ["Hello", "I", "The", "You", "am", "are", "cat", "dog", "good", "hello", "here", "mat", "no", "the", "yes", "zebra"]
PUNCTUATION = [",", ".", "!", "?", ";", ":"]
GLUED = [",", "!", "?", ";", ":"]
UNSEEN = ["bird", "Zoo", "quite"]  # never in a drawn raw_text: always unknown


def words_of(text: str) -> List[str]:
    """The spec's word splitting (needs no downloaded data)."""
    return word_tokenize(text, preserve_line=True)


@st.composite
def texts(draw: st.DrawFn, pool: Sequence[str], min_size: int = 0, max_size: int = 8) -> str:
    pieces = draw(st.lists(st.sampled_from(list(pool) + PUNCTUATION), min_size=min_size, max_size=max_size))
    text = ""
    for piece in pieces:
        glue = piece in GLUED and text and text[-1].isalpha() and draw(st.booleans())
        text += piece if glue or not text else " " + piece
    return text


@dataclass(frozen=True)
class TokenizerCase:
    raw_text: str
    text: str

    @property
    def vocab(self) -> List[str]:
        return SPECIALS + sorted(set(words_of(self.raw_text)))

    def ids(self, text: str) -> List[int]:
        index = {token: i for i, token in enumerate(self.vocab)}
        return [START] + [index.get(word, UNK) for word in words_of(text)]


@st.composite
def tokenizer_cases(draw: st.DrawFn) -> TokenizerCase:
    return TokenizerCase(draw(texts(WORDS, min_size=1, max_size=10)), draw(texts(WORDS + UNSEEN)))


def _new_tokenizer(ctx: Context, case: TokenizerCase):
    return ctx.student.new("MyTokenizer", case.raw_text)


def _check_vocab(tok, case: TokenizerCase) -> None:
    """The vocabulary attributes (given code, but they must survive the submission's edits)."""
    want = case.vocab
    vocab = tok.attr("vocab").get()
    expect_type(vocab, [list], f"{tok.name}.vocab", f"{tok.name}.vocab")
    expect_equal(
        vocab,
        want,
        f"{tok.name}.vocab",
        f"{tok.name}.vocab",
        hint='the special tokens "<START>", "<PAD>", "<UNK>" (ids 0, 1, 2), then sorted(set(word_tokenize(raw_text, preserve_line=True)))',
    )
    tok_to_id = tok.attr("tok_to_id").get()
    expect_type(tok_to_id, [dict], f"{tok.name}.tok_to_id", f"{tok.name}.tok_to_id")
    expect_equal(tok_to_id, {t: i for i, t in enumerate(want)}, f"{tok.name}.tok_to_id", f"{tok.name}.tok_to_id")
    id_to_token = tok.attr("id_to_token").get()
    expect_type(id_to_token, [dict, list], f"{tok.name}.id_to_token", f"{tok.name}.id_to_token")
    for i, token in enumerate(want):
        got = id_to_token.get(i) if isinstance(id_to_token, dict) else (id_to_token[i] if i < len(id_to_token) else None)
        expect_equal(got, token, f"{tok.name}.id_to_token[{i}]", f"{tok.name}.id_to_token")
    expect_equal(tok.attr("vocab_size").get(), len(want), f"{tok.name}.vocab_size", f"{tok.name}.vocab_size")
    expect_equal(tok.attr("__len__")(), len(want), f"len({tok.name})", f"len({tok.name})")


def _hint_encode(got: List[int], want: List[int]) -> str:
    if got == want[1:]:
        return "encode must start with the id of <START> (0), then one id per word"
    if [i for i in want if i != UNK] == got:
        return "a word that is not in the vocabulary must become the id of <UNK> (2), not be dropped"
    return "the id of <START> (0), then one id per word of word_tokenize(text, preserve_line=True), unknown words as <UNK> (2)"


@checks.add(
    "tokenizer",
    "encode gives a LongTensor: the <START> id, then one id per word, unknown words as <UNK>; "
    "the vocabulary is <START>, <PAD>, <UNK>, then the sorted distinct words",
    weight=2,
)
def tokenizer_encode(ctx: Context) -> None:
    def body(case: TokenizerCase) -> None:
        tok = _new_tokenizer(ctx, case)
        call = f"{tok.name}.encode({case.text!r})"
        got = tok.attr("encode")(case.text)
        want = case.ids(case.text)
        expect_type(got, [torch.Tensor], "ids", call)
        expect(got.dtype == torch.long, f"ids.dtype={got.dtype}, but should be torch.int64 (torch.long) [{call}]")
        expect(got.dim() == 1, f"ids.shape={tuple(got.shape)}, but should be ({len(want)},), a 1-D tensor [{call}]")
        expect_equal(got.tolist(), want, "ids.tolist()", call, hint=_hint_encode(got.tolist(), want))
        _check_vocab(tok, case)

    ctx.forall(tokenizer_cases(), body)


@st.composite
def decode_cases(draw: st.DrawFn):
    case = draw(tokenizer_cases())
    size = len(case.vocab)
    return case, draw(st.lists(st.integers(0, size - 1), max_size=8)), draw(st.booleans())


@checks.add("tokenizer", "decode of a list or a 1-D tensor of ids joins their tokens with single spaces")
def tokenizer_decode(ctx: Context) -> None:
    def body(example) -> None:
        case, ids, as_list = example
        tok = _new_tokenizer(ctx, case)
        arg = list(ids) if as_list else torch.tensor(ids, dtype=torch.long)
        call = f"{tok.name}.decode({list(ids) if as_list else 'torch.tensor(' + str(list(ids)) + ')'})"
        got = tok.attr("decode")(arg)
        want = " ".join(case.vocab[i] for i in ids)
        hint = "join the tokens with single spaces: ' '.join(...)" if isinstance(got, str) and got == "".join(case.vocab[i] for i in ids) else ""
        expect_equal(got, want, "text", call, hint=hint)

    ctx.forall(decode_cases(), body)


@checks.add("tokenizer", "decode(encode(text)) is '<START>' then the words of text, unknown ones as <UNK>, separated by spaces")
def tokenizer_round_trip(ctx: Context) -> None:
    def body(case: TokenizerCase) -> None:
        tok = _new_tokenizer(ctx, case)
        ids = tok.attr("encode")(case.text)
        call = f"{tok.name}.decode({tok.name}.encode({case.text!r}))"
        got = tok.attr("decode")(ids)
        known = set(case.vocab)
        want = " ".join(["<START>"] + [w if w in known else "<UNK>" for w in words_of(case.text)])
        expect_equal(got, want, "text", call)

    ctx.forall(tokenizer_cases(), body)


# -------------------------------------------------------------------------------------------
# DialogueGPT


@dataclass(frozen=True)
class GPTCase:
    batch: int
    length: int
    vocab: int
    max_n: int
    dim: int
    attn_dim: int
    mlp_dim: int
    heads: int
    layers: int
    seed: int

    @property
    def args(self) -> Tuple[int, ...]:
        return (self.vocab, self.max_n, self.dim, self.attn_dim, self.mlp_dim, self.heads, self.layers)

    def ids(self, offset: int = 0) -> torch.Tensor:
        return torch.randint(0, self.vocab, (self.batch, self.length), generator=seeded(self.seed + offset))


@st.composite
def gpt_cases(draw: st.DrawFn, min_len: int = 1) -> GPTCase:
    length = draw(st.integers(min_len, 5))
    return GPTCase(
        batch=draw(st.integers(1, 2)),
        length=length,
        vocab=draw(st.integers(3, 8)),
        max_n=length + draw(st.integers(0, 2)),
        dim=draw(st.integers(3, 5)),  # LayerNorm over 1 or 2 features loses almost everything
        attn_dim=draw(st.integers(1, 3)),
        mlp_dim=draw(st.integers(1, 4)),
        heads=draw(st.integers(1, 2)),
        layers=draw(st.integers(1, 2)),
        seed=draw(st.integers(0, MAX_SEED)),
    )


def _values(t: torch.Tensor) -> str:
    return "[" + ", ".join(f"{float(v):.6g}" for v in t.reshape(-1)) + "]"


def _new_gpt(ctx: Context, case: GPTCase) -> standins.Built:
    """The student's DialogueGPT with the reference's seeded weights loaded by shape and role, and
    its Transformer's forward replaced by the reference Transformer's, computed in the grader: a
    Transformer bug is Part 2's, and what DialogueGPT passes it (the mask) is recorded here."""
    model = ctx.student.new("DialogueGPT", *case.args)
    torch.manual_seed(case.seed)
    reference = ctx.ref.DialogueGPT(*case.args)
    shape = (case.batch, case.length, case.dim)
    built = standins.build(
        ctx.student, model, reference, "Transformer", 1, 1, case.seed, shape, lambda r, i: r.transformer, False, flag=True, scale=1.0
    )
    model.attr("eval")()  # deterministic even if the submission adds dropout
    reference.eval()
    return built


def _causal(length: int) -> torch.Tensor:
    return torch.tril(torch.ones(length, length))


def _logits(built: standins.Built, ids: torch.Tensor, case: GPTCase, call: str) -> torch.Tensor:
    """The logits of ``model(ids)``, checked to be (B, T, vocab_size)."""
    return _forward(built, ids, case, call)[0]


def _forward(built: standins.Built, ids: torch.Tensor, case: GPTCase, call: str) -> Tuple[torch.Tensor, object]:
    """``model(ids)`` as (logits, alphas), the logits checked to be (B, T, vocab_size)."""
    built.reset()
    result = built.module(ids)
    want = (int(ids.shape[0]), int(ids.shape[1]), case.vocab)
    expect_type(result, [tuple, list], "the result", call)
    expect(len(result) == 2, f"len(result)={len(result)}, but should be 2 (logits, alphas) [{call}]")
    logits = result[0]
    expect_type(logits, [torch.Tensor], "logits", call)
    expect(
        tuple(logits.shape) == want,
        f"logits.shape={tuple(logits.shape)}, but should be {want} [{call}]",
        "(B, T, vocab_size): one row of logits per position",
    )
    return logits, result[1]


def _mask_hint(built: standins.Built, length: int) -> str:
    """What the mask DialogueGPT gave its Transformer says about a wrong output ("" if it was causal)."""
    masks = built.stand_ins[0].masks
    if not masks:
        return "your forward never called self.transformer: run the embeddings through it, then the head"
    given = masks[-1]
    if given is None:
        return (
            "your forward calls self.transformer with attn_mask=None, so every position sees the future: "
            "pass attn_mask=torch.tril(torch.ones(T, T)), 1 where row i may attend to column j <= i"
        )
    allowed = (given != 0).expand(given.shape[:-2] + (length, length))
    if torch.equal(allowed, (_causal(length) != 0).expand(allowed.shape)):
        return ""
    patterns = [
        (torch.triu(torch.ones(length, length)) != 0, "your mask is upper-triangular (torch.triu): row i must allow columns j <= i, the lower triangle (torch.tril)"),
        (
            torch.triu(torch.ones(length, length), diagonal=1) != 0,
            "your mask is 1 on the future (PyTorch's triu(..., diagonal=1) convention), but here 1 means may attend: pass torch.tril(torch.ones(T, T))",
        ),
    ]
    for pattern, hint in patterns:
        if torch.equal(allowed, pattern.expand(allowed.shape)):
            return hint
    return "the mask passed to self.transformer is not causal: row i must allow exactly the columns j <= i"


def _diagnose_gpt(built: standins.Built, ids: torch.Tensor, logits: torch.Tensor, case: GPTCase) -> str:
    """Which known mistake the logits match (computed here, with the reference's blocks)."""
    hint = _mask_hint(built, case.length)
    if hint:
        return hint
    if torch.isnan(logits).any():
        return "your logits contain NaN: some row of your mask allows no position at all (softmax over nothing)"
    ref = built.reference
    with torch.no_grad():
        tokens_only = ref.head(ref.transformer(ref.token_embeddings(ids), attn_mask=_causal(case.length))[0])
    if tuple(tokens_only.shape) == tuple(logits.shape) and torch.allclose(logits, tokens_only, atol=1e-5, rtol=1e-4):
        return "your logits match no positional embedding: add pos_embeddings(torch.arange(T)) to the token embeddings"
    return _hints("add token and positional embeddings, run the Transformer with a causal mask (1 where j <= i), then the head", built.mapping.note(built.module.name))


def _hints(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


@checks.add("dialogue_gpt", "forward returns (logits, alphas) with logits of shape (B, T, vocab_size)")
def gpt_shapes(ctx: Context) -> None:
    def body(case: GPTCase) -> None:
        built = _new_gpt(ctx, case)
        _logits(built, case.ids(), case, f"{built.module.name}(input_ids)")

    ctx.forall(gpt_cases(), body, max_examples=3)


@st.composite
def causal_cases(draw: st.DrawFn):
    case = draw(gpt_cases(min_len=2))
    return case, draw(st.integers(1, case.length - 1))


@checks.add("dialogue_gpt", "causal: changing later tokens never changes the logits at earlier positions", weight=2)
def gpt_causal(ctx: Context) -> None:
    def body(example) -> None:
        case, first = example
        built = _new_gpt(ctx, case)
        model = built.module
        ids = case.ids()
        changed = ids.clone()
        later = case.ids(offset=1)[:, first:]
        later[:, 0] = (ids[:, first] + 1 + later[:, 0] % (case.vocab - 1)) % case.vocab  # differs for sure
        changed[:, first:] = later
        before = _logits(built, ids, case, f"{model.name}(ids)")
        later_text = f"position {first}" if first == case.length - 1 else f"positions {first}..{case.length - 1}"
        call = f"{model.name}(ids2) where ids2 differs from ids only at {later_text}"
        after = _logits(built, changed, case, call)
        diff = (after[:, :first] - before[:, :first]).abs().amax(dim=-1)  # (B, first)
        # A masked weight is exactly 0, so earlier positions compute exactly the same numbers.
        bad = ~(diff <= 1e-6 + 1e-5 * before[:, :first].abs().amax(dim=-1))
        if not bad.any():
            return
        b, i = (int(v) for v in bad.nonzero()[0])
        hint = _mask_hint(built, case.length) or "pass the Transformer a causal mask, 1 where row i may attend to column j, i.e. j <= i (torch.tril of ones)"
        fail(
            f"logits[{b}, {i}] changed when only the tokens at {later_text} changed, but should not: "
            f"position {i} may only see tokens 0..{i} [{call}]\n"
            f"  {model.name}(ids)[0][{b}, {i}]:  {_values(before[b, i])}\n"
            f"  {model.name}(ids2)[0][{b}, {i}]: {_values(after[b, i])}\n"
            f"  hint: {hint}"
        )

    ctx.forall(causal_cases(), body)


@st.composite
def repeated_cases(draw: st.DrawFn):
    case = draw(gpt_cases(min_len=2))
    return case, draw(st.lists(st.integers(0, case.vocab - 1), min_size=case.batch, max_size=case.batch))


@checks.add("dialogue_gpt", "positions matter: one token repeated gives different logits at different positions")
def gpt_positions(ctx: Context) -> None:
    def body(example) -> None:
        case, tokens = example
        built = _new_gpt(ctx, case)
        ids = torch.tensor(tokens, dtype=torch.long)[:, None].expand(case.batch, case.length).contiguous()
        call = f"{built.module.name}(ids) with ids = {ids.tolist()}, one token repeated in each row"
        logits = _logits(built, ids, case, call)
        first = logits[:, :1].expand_as(logits)
        same = torch.isclose(logits, first, atol=1e-5, rtol=1e-4).all()
        if same:
            fail(
                f"logits[0, i] is the same for every position i, but should differ: the model cannot tell "
                f"positions apart [{call}]\n  logits[0, 0]: {_values(logits[0, 0])}\n"
                "  hint: add pos_embeddings(torch.arange(T)) to the token embeddings; attention alone is blind to order"
            )

    ctx.forall(repeated_cases(), body, max_examples=3)


@checks.add(
    "dialogue_gpt",
    "with the reference's weights, logits equal head(transformer(token_embeddings(ids) + pos_embeddings(0..T-1), causal mask))",
    weight=2,
)
def gpt_composition(ctx: Context) -> None:
    def body(case: GPTCase) -> None:
        built = _new_gpt(ctx, case)
        ids = case.ids()
        call = f"{built.module.name}(ids)"
        logits = _logits(built, ids, case, call)
        with torch.no_grad():
            want = built.reference(ids)[0]
        if torch.allclose(logits.to(torch.float64), want.to(torch.float64), atol=1e-5, rtol=1e-4):
            return
        expect_tensor(logits, want, "logits", call, hint=_diagnose_gpt(built, ids, logits, case))

    ctx.forall(gpt_cases(), body, max_examples=4)


@checks.add("dialogue_gpt", "the second return value, alphas, is what self.transformer returns for return_attn=True: (B, num_layers, num_heads, T, T)")
def gpt_alphas(ctx: Context) -> None:
    def body(case: GPTCase) -> None:
        built = _new_gpt(ctx, case)
        transformer = built.stand_ins[0].module  # the reference Transformer the stand-in computes
        calls: List[tuple] = []  # (x, attn_mask) of every call the student's forward made
        handle = transformer.register_forward_hook(lambda module, args, output: calls.append(args[:2]))
        try:
            ids = case.ids()
            call = f"{built.module.name}(ids)"
            _, alphas = _forward(built, ids, case, call)
        finally:
            handle.remove()
        if not calls:
            fail(f"alphas cannot be checked: {built.module.name}.transformer was never called [{call}]\n  hint: {_mask_hint(built, case.length)}")
        x, mask = calls[-1]
        with torch.no_grad():
            want = transformer(x, mask, True)[1]  # what the Transformer gives for return_attn=True
        asked = "pass return_attn=True to self.transformer and return the alphas it gives back"
        if alphas is None:
            fail(
                f"alphas=None, but should be a tensor of shape {tuple(want.shape)}, (B, num_layers, num_heads, T, T): "
                f"the attention weights of self.transformer [{call}]\n  hint: {asked}"
            )
        expect_type(alphas, [torch.Tensor], "alphas", call)
        expect_tensor(alphas, want, "alphas", call, hint=f"alphas are the attention weights self.transformer returns: {asked}, unchanged")

    ctx.forall(gpt_cases(), body, max_examples=3)


# -------------------------------------------------------------------------------------------
# DialogueLoss


@dataclass(frozen=True)
class LossCase:
    lengths: Tuple[int, ...]  # real tokens per row (<START> included), each >= 2
    length: int  # T
    vocab: int
    seed: int

    @property
    def mask(self) -> torch.Tensor:
        return (torch.arange(self.length)[None, :] < torch.tensor(self.lengths)[:, None]).long()  # (B, T)

    @property
    def ids(self) -> torch.Tensor:
        """<START>, real tokens (ids 2..V-1), then <PAD> on the right."""
        real = torch.randint(UNK, self.vocab, (len(self.lengths), self.length), generator=seeded(self.seed))
        ids = torch.where(self.mask.bool(), real, torch.full_like(real, PAD))
        ids[:, 0] = START
        return ids

    @property
    def logits(self) -> torch.Tensor:
        return randn(self.seed + 1, len(self.lengths), self.length, self.vocab) * 2


@st.composite
def loss_cases(draw: st.DrawFn, max_batch: int = 4) -> LossCase:
    length = draw(st.integers(2, 6))
    batch = draw(st.integers(1, max_batch))
    lengths = tuple(draw(st.lists(st.integers(2, length), min_size=batch, max_size=batch)))
    return LossCase(lengths, length, draw(st.integers(3, 6)), draw(st.integers(0, MAX_SEED)))


def _loss(ctx: Context, logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, call: str) -> torch.Tensor:
    loss_fn = ctx.student.new("DialogueLoss")
    loss = loss_fn(logits, ids, mask)
    expect_type(loss, [torch.Tensor], "loss", call)
    expect(loss.dim() == 0, f"loss.shape={tuple(loss.shape)}, but should be () (a 0-d scalar tensor) [{call}]", "average to one number")
    expect(loss.is_floating_point(), f"loss.dtype={loss.dtype}, but should be a floating dtype [{call}]")
    return loss


def _expect_loss(loss: torch.Tensor, want: float, call: str, hint: str) -> None:
    got = float(loss)
    if not math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-5):
        fail(f"loss={got:.6g}, but should be {want:.6g} [{call}]\n  hint: {hint}")


def _pairs_mean(logits: torch.Tensor, ids: torch.Tensor, keep: torch.Tensor, shift: int = 1, per_sequence: bool = False) -> float:
    """Mean cross-entropy of logits[b, i - shift] against ids[b, i] over keep[b, i] (float64)."""
    logits = logits.to(torch.float64)
    b, t, v = logits.shape
    losses = torch.zeros(b, t, dtype=torch.float64)
    for i in range(shift, t):
        losses[:, i] = F.cross_entropy(logits[:, i - shift], ids[:, i], reduction="none")
    keep = keep.to(torch.float64).clone()
    keep[:, :shift] = 0
    if per_sequence:
        return float(((losses * keep).sum(1) / keep.sum(1)).mean())
    return float((losses * keep).sum() / keep.sum())


def _diagnose_loss(got: float, logits: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> str:
    t = ids.shape[1]
    wrong_way = torch.zeros_like(mask)
    wrong_way[:, 1:] = mask[:, :-1]
    guesses = [
        (_pairs_mean(logits, ids, mask, shift=0), "no one-step shift: logits[b, i - 1] predicts input_ids[b, i], so compare logits[:, :-1] with input_ids[:, 1:]"),
        (_pairs_mean(logits, ids, torch.ones_like(mask)), "padding is supervised: only targets with inp_mask[b, i] == 1 count"),
        (_pairs_mean(logits, ids, wrong_way), "the mask is shifted the wrong way: a target input_ids[b, i] counts when its own inp_mask[b, i] is 1, so use inp_mask[:, 1:]"),
        (_pairs_mean(logits, ids, mask, per_sequence=True), "the mean is taken per sequence and then over the batch; take one mean over all supervised tokens of the batch"),
        (
            _pairs_mean(logits, ids, mask) * float(mask[:, 1:].sum()) / (mask.shape[0] * (t - 1)),
            "the sum is divided by all B * (T - 1) positions, padding included; divide by the number of supervised tokens",
        ),
    ]
    matched = [hint for value, hint in guesses if math.isclose(got, value, rel_tol=1e-4, abs_tol=1e-5)]
    if matched:
        return "; or ".join(matched)
    return f"the mean over every (b, i) with 1 <= i < {t} and inp_mask[b, i] == 1 of cross_entropy(logits[b, i-1], input_ids[b, i])"


@checks.add("dialogue_loss", "the loss is a 0-d floating-point tensor")
def loss_scalar(ctx: Context) -> None:
    def body(case: LossCase) -> None:
        _loss(ctx, case.logits, case.ids, case.mask, "loss_fn(logits, input_ids, inp_mask)")

    ctx.forall(loss_cases(), body, max_examples=2)


@st.composite
def single_target_cases(draw: st.DrawFn) -> LossCase:
    length = draw(st.integers(2, 6))
    return LossCase((2,), length, draw(st.integers(3, 6)), draw(st.integers(0, MAX_SEED)))


@checks.add("dialogue_loss", "with one real token after <START>, the loss is the cross-entropy of logits[0, 0] against it (one-step shift)")
def loss_shift(ctx: Context) -> None:
    def body(case: LossCase) -> None:
        logits, ids, mask = case.logits, case.ids, case.mask
        call = f"loss_fn(logits, input_ids={ids.tolist()}, inp_mask={mask.tolist()})"
        loss = _loss(ctx, logits, ids, mask, call)
        want = float(F.cross_entropy(logits[0, 0:1].to(torch.float64), ids[0, 1:2]))
        _expect_loss(loss, want, call, _diagnose_loss(float(loss), logits, ids, mask))

    ctx.forall(single_target_cases(), body)


@checks.add("dialogue_loss", "logits that predict padding, and the last position's logits, do not change the loss")
def loss_invariance(ctx: Context) -> None:
    def body(case: LossCase) -> None:
        logits, ids, mask = case.logits, case.ids, case.mask
        b, t, v = logits.shape
        free = torch.zeros(b, t, dtype=torch.bool)  # logits[b, i] predicts nothing that counts
        free[:, :-1] = mask[:, 1:] == 0
        free[:, -1] = True
        changed = logits.clone()
        noise = randn(case.seed + 2, b, t, v) * 3
        changed[free] = noise[free]
        call = f"loss_fn(logits, input_ids, inp_mask={mask.tolist()})"
        before = _loss(ctx, logits, ids, mask, call)
        positions = [[int(x) for x in p] for p in free.nonzero()]
        call2 = f"loss_fn(logits2, input_ids, inp_mask={mask.tolist()}) where logits2 differs from logits only at [b, i] in {positions}"
        after = _loss(ctx, changed, ids, mask, call2)
        if not math.isclose(float(after), float(before), rel_tol=1e-5, abs_tol=1e-5):
            fail(
                f"loss={float(after):.6g} with logits2 and {float(before):.6g} with logits, but should be equal: "
                f"logits[b, i] counts only if the target input_ids[b, i + 1] is a real token (inp_mask[b, i + 1] == 1), "
                f"and the last position predicts nothing [{call2}]\n  hint: {_diagnose_loss(float(before), logits, ids, mask)}"
            )

    ctx.forall(loss_cases(), body)


@checks.add("dialogue_loss", "equals the mean next-token cross-entropy over all supervised tokens of a padded batch", weight=2)
def loss_differential(ctx: Context) -> None:
    def body(case: LossCase) -> None:
        logits, ids, mask = case.logits, case.ids, case.mask
        call = f"loss_fn(logits, input_ids, inp_mask={mask.tolist()})"
        loss = _loss(ctx, logits, ids, mask, call)
        with torch.no_grad():
            want = float(ctx.ref.DialogueLoss()(logits.to(torch.float64), ids, mask))
        _expect_loss(loss, want, call, _diagnose_loss(float(loss), logits, ids, mask))

    ctx.forall(loss_cases(), body)
