"""Training loop for the lessons' small experiments (MLPs on MNIST-1D), and loss-curve smoothing."""

import math

import numpy as np
import torch
from torch import nn


def train_classifier(model, optimizer, data, steps, batch_size=128, eval_every=50, seed=0, scheduler=None, test=False):
    """Train `model` with `optimizer` on ``data = {"x", "y", "x_val", "y_val"[, "x_test", "y_test"]}`` (NumPy).

    Minibatches are drawn with replacement from a generator seeded by `seed`, so two optimizers given
    the same seed see the same batches. Stops early if the loss becomes NaN or infinite. A `scheduler`
    (torch LRScheduler), if given, steps after every optimizer step.
    Returns a history dict: lists ``step, train_loss`` every step and ``eval_step, val_loss, val_accuracy``
    every `eval_every` steps and at the end, on the validation split. With ``test=True`` (the one final
    figure, once the hyperparameters are chosen on validation) also the floats ``test_loss, test_accuracy``
    of the trained model.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    x, y = torch.as_tensor(data["x"]), torch.as_tensor(data["y"])
    generator = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    history = {"step": [], "train_loss": [], "eval_step": [], "val_loss": [], "val_accuracy": []}

    def evaluate(split):
        model.eval()
        with torch.no_grad():
            logits, labels = model(torch.as_tensor(data[f"x_{split}"])), torch.as_tensor(data[f"y_{split}"])
            loss, accuracy = loss_fn(logits, labels).item(), (logits.argmax(1) == labels).float().mean().item()
        model.train()
        return loss, accuracy

    def record_validation(step):
        history["eval_step"].append(step)
        loss, accuracy = evaluate("val")
        history["val_loss"].append(loss)
        history["val_accuracy"].append(accuracy)

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
            record_validation(step)
    if not history["eval_step"] or history["eval_step"][-1] != history["step"][-1]:
        record_validation(history["step"][-1])
    if test:
        history["test_loss"], history["test_accuracy"] = evaluate("test")
    return history


def smooth(values, window=20):
    """Moving average over `window` points (shorter at the start), for readable loss curves."""
    values = np.asarray(values, dtype=float)
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (cumulative[1:] - cumulative[np.arange(1, len(values) + 1) - counts]) / counts
