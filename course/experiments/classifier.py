"""Training loop for the lessons' small experiments (MLPs on MNIST-1D), and loss-curve smoothing."""

import math

import numpy as np
import torch
from torch import nn


def train_classifier(model, optimizer, data, steps, batch_size=128, eval_every=50, seed=0, scheduler=None):
    """Train `model` with `optimizer` on ``data = {"x", "y", "x_test", "y_test"}`` (NumPy arrays).

    Minibatches are drawn with replacement from a generator seeded by `seed`, so two optimizers given
    the same seed see the same batches. Stops early if the loss becomes NaN or infinite. A `scheduler`
    (torch LRScheduler), if given, steps after every optimizer step.
    Returns a history dict of lists: ``step, train_loss`` every step and ``eval_step, test_loss,
    test_accuracy`` every `eval_every` steps and at the end.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    x, y = torch.as_tensor(data["x"]), torch.as_tensor(data["y"])
    x_test, y_test = torch.as_tensor(data["x_test"]), torch.as_tensor(data["y_test"])
    generator = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    history = {"step": [], "train_loss": [], "eval_step": [], "test_loss": [], "test_accuracy": []}

    def evaluate(step):
        model.eval()
        with torch.no_grad():
            logits = model(x_test)
            history["eval_step"].append(step)
            history["test_loss"].append(loss_fn(logits, y_test).item())
            history["test_accuracy"].append((logits.argmax(1) == y_test).float().mean().item())
        model.train()

    model.train()
    for step in range(1, steps + 1):
        index = torch.randint(len(x), (batch_size,), generator=generator)
        loss = loss_fn(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history["step"].append(step)
        history["train_loss"].append(loss.item())
        if not math.isfinite(history["train_loss"][-1]):
            print(f"training diverged at step {step} (loss {history['train_loss'][-1]}): stopping")
            break
        if step % eval_every == 0:
            evaluate(step)
    if not history["eval_step"] or history["eval_step"][-1] != history["step"][-1]:
        evaluate(history["step"][-1])
    return history


def smooth(values, window=20):
    """Moving average over `window` points (shorter at the start), for readable loss curves."""
    values = np.asarray(values, dtype=float)
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (cumulative[1:] - cumulative[np.arange(1, len(values) + 1) - counts]) / counts
