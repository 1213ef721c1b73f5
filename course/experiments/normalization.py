"""Lesson 06's experiments: what batch norm's output owes to the batch, and dropout on a net made to overfit."""

import numpy as np
import torch
from torch import nn

from reference_impl import norms
from reference_impl.regularization import MaskDropout


def conv_feature_maps(data, count=512, channels=8, kernel=5, seed=0):
    """Feature maps of a random 1-D convolution + ReLU on MNIST-1D inputs: float64 (count, channels, positions).

    Stand-in for a conv net's hidden activations, the input a normalization layer sees.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(data["x"][:count], dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=1)  # (count, positions, kernel)
    filters = rng.normal(0, np.sqrt(2 / kernel), (channels, kernel))
    return np.maximum(np.einsum("npk,ck->ncp", windows, filters) + rng.normal(0, 0.5, (1, channels, 1)), 0.0)


def batch_norm_output(batch):
    """Batch norm's training-mode output for `batch` (batch, channels, positions), with γ = 1 and β = 0."""
    channels = batch.shape[1]
    return norms.batch_norm_forward(batch, np.ones(channels), np.zeros(channels))[0]


def batch_mates_spread(features, batch_sizes, draws=20, seed=1):
    """How much example 0's batch-norm output depends on the rest of its batch, for each of `batch_sizes`.

    For each size, `draws` batches of example 0 with randomly chosen other examples of `features`; returns the
    std of example 0's output over those batches, averaged over its positions and channels. (Layer and group norm
    would give 0: they never look at the other examples.)
    """
    rng = np.random.default_rng(seed)
    others = np.arange(1, len(features))
    spread = []
    for size in batch_sizes:
        outputs = [
            batch_norm_output(features[np.r_[0, rng.choice(others, size - 1, replace=False)]])[0] for _ in range(draws)
        ]
        spread.append(float(np.std(outputs, axis=0).mean()))
    return spread


def dropout_training_curves(dropout_fn, p, data, steps, train_size=256, hidden=256, eval_every=10, seed=0):
    """Train a wide MLP with dropout rate `p` on `train_size` MNIST-1D examples (made to overfit).

    Full-batch Adam (lr 1e-3) from the same initialization for every p; `dropout_fn` has the
    signature of `reference_impl.regularization.dropout` and makes the masks. Returns
    ``{"step", "train_loss", "val_loss"}`` (lists; losses in evaluation mode, every `eval_every` steps).
    """
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(40, hidden),
        nn.ReLU(),
        MaskDropout(dropout_fn, p, seed),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        MaskDropout(dropout_fn, p, seed + 1),
        nn.Linear(hidden, 10),
    )
    x, y = torch.as_tensor(data["x"][:train_size]), torch.as_tensor(data["y"][:train_size])
    x_val, y_val = torch.as_tensor(data["x_val"]), torch.as_tensor(data["y_val"])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    history = {"step": [], "train_loss": [], "val_loss": []}
    for step in range(1, steps + 1):
        model.train()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        if step % eval_every == 0 or step == steps:
            model.eval()
            with torch.no_grad():
                history["step"].append(step)
                history["train_loss"].append(loss_fn(model(x), y).item())
                history["val_loss"].append(loss_fn(model(x_val), y_val).item())
    return history
