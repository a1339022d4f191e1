"""Train your Vision Transformer (Part 3) on scikit-learn's 8x8 handwritten digits.

Not graded: this is for you to see your PatchEmbed (and your Part 2 Transformer) learn.
The digits ship with scikit-learn, so nothing is downloaded. Run it from the folder that
holds attention.py and vit.py:

    python train_vit.py            # full run: a minute or two on a laptop CPU
    python train_vit.py --quick    # a few seconds, to check that everything runs

It prints the validation accuracy and saves two figures: the training curves
(vit_training.png) and the class token's attention over the patches of a few
validation digits (vit_attention.png).
"""
import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")  # write PNG files; no display needed
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm
from vit import VisionTransformer

IMG_SIZE = 8
PATCH_SIZE = 2
NUM_CLASSES = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run (seconds) to check that the code runs")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    # The model is tiny: extra threads barely speed it up, and on a busy machine they can slow it
    # down many times over (they wait for each other), so one thread is the default.
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch (0: torch's default)")
    parser.add_argument("--out-dir", default=".", help="where to save the figures")
    return parser.parse_args()


def load_data(seed: int):
    """Digits as float tensors (N, 1, 8, 8) scaled to [-1, 1], split 80/20 by class."""
    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0 * 2.0 - 1.0  # pixel values are 0..16
    labels = digits.target.astype(np.int64)
    x_tr, x_va, y_tr, y_va = train_test_split(images, labels, test_size=0.2, random_state=seed, stratify=labels)
    def as_images(a):
        return torch.from_numpy(a).unsqueeze(1)  # (N, 8, 8) -> (N, 1, 8, 8)

    return as_images(x_tr), torch.from_numpy(y_tr), as_images(x_va), torch.from_numpy(y_va)


def random_shift(images: torch.Tensor) -> torch.Tensor:
    """Augmentation: shift each image by up to one pixel, filling with background (-1)."""
    padded = F.pad(images, (1, 1, 1, 1), value=-1.0)  # (B, 1, 10, 10)
    out = torch.empty_like(images)
    offsets = torch.randint(0, 3, (images.shape[0], 2))
    for b, (dy, dx) in enumerate(offsets.tolist()):
        out[b] = padded[b, :, dy : dy + IMG_SIZE, dx : dx + IMG_SIZE]
    return out


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    logits, _ = model(images)
    model.train()
    return (logits.argmax(dim=-1) == labels).float().mean().item()


def plot_curves(losses, val_acc, path: str) -> None:
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    steps = np.arange(1, len(losses) + 1)
    ax_loss.plot(steps, losses, alpha=0.3, label="per step")
    window = min(25, len(losses))
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    ax_loss.plot(steps[window - 1 :], smooth, label=f"mean of {window}")
    ax_loss.set(xlabel="step", ylabel="cross-entropy", title="training loss")
    ax_loss.legend()
    ax_acc.plot(np.arange(1, len(val_acc) + 1), val_acc, marker="o")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="validation accuracy", ylim=(0, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@torch.no_grad()
def plot_attention(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, path: str) -> None:
    """Class-token attention to each patch, averaged over heads and layers, over the digit."""
    model.eval()
    logits, alphas = model(images, return_attn=True)  # alphas (B, L, nh, 1+P, 1+P)
    grid = IMG_SIZE // PATCH_SIZE
    cls_attn = alphas[:, :, :, 0, 1:].mean(dim=(1, 2))  # (B, P): row 0 is the class token
    heat = cls_attn.reshape(-1, 1, grid, grid)  # (B, 1, n, n), patches in row-major order
    heat = F.interpolate(heat, size=(IMG_SIZE, IMG_SIZE), mode="nearest")[:, 0]  # (B, 8, 8)
    fig, axes = plt.subplots(2, len(images), figsize=(1.6 * len(images), 3.4))
    for i in range(len(images)):
        axes[0, i].imshow(images[i, 0], cmap="gray_r")
        axes[0, i].set_title(f"{labels[i].item()} -> {logits[i].argmax().item()}", fontsize=9)
        axes[1, i].imshow(images[i, 0], cmap="gray_r")
        axes[1, i].imshow(heat[i], cmap="jet", alpha=0.5)
        for ax in axes[:, i]:
            ax.axis("off")
    fig.suptitle("label -> prediction; below: class-token attention (mean over heads and layers)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    args = parse_args()
    if args.threads > 0:  # fewer threads can be faster on a machine that is busy with other work
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_tr, y_tr, x_va, y_va = load_data(args.seed)
    epochs = args.epochs
    if args.quick:
        x_tr, y_tr, epochs = x_tr[:256], y_tr[:256], 1

    model = VisionTransformer(
        n_channels=1, nout=NUM_CLASSES, img_size=IMG_SIZE, patch_size=PATCH_SIZE,
        dim=64, attn_dim=32, mlp_dim=128, num_heads=4, num_layers=3,
    )
    steps_per_epoch = (len(x_tr) + args.batch_size - 1) // args.batch_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=epochs * steps_per_epoch)
    print(f"{len(x_tr)} training and {len(x_va)} validation digits; "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")

    losses, val_acc = [], []
    start = time.time()
    progress = tqdm(total=epochs * steps_per_epoch, desc="training", unit="step")
    for epoch in range(epochs):
        order = torch.randperm(len(x_tr))
        for first in range(0, len(x_tr), args.batch_size):
            idx = order[first : first + args.batch_size]
            logits, _ = model(random_shift(x_tr[idx]))
            loss = F.cross_entropy(logits, y_tr[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            progress.update(1)
            progress.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
        val_acc.append(accuracy(model, x_va, y_va))
        progress.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.3f}", val_acc=f"{val_acc[-1]:.3f}")
    progress.close()
    elapsed = time.time() - start

    os.makedirs(args.out_dir, exist_ok=True)
    curves = os.path.join(args.out_dir, "vit_training.png")
    attention = os.path.join(args.out_dir, "vit_attention.png")
    plot_curves(losses, val_acc, curves)
    plot_attention(model, x_va[:10], y_va[:10], attention)
    print(f"trained {epochs} epoch(s) in {elapsed:.1f} s")
    print(f"validation accuracy: {val_acc[-1]:.4f}")
    print(f"saved {curves} and {attention}")


if __name__ == "__main__":
    main()
