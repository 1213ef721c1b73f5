"""Lesson 04's experiment: a small MLP trained on MNIST-1D with a given learning rate and momentum at every step."""

import numpy as np
import torch
from torch.nn import functional as F

from .divergence import diverged


def mlp_training_losses(data, lrs, momenta, hidden=32, batch_size=64, seed=0):
    """Minibatch training losses of a small ReLU MLP (inputs → `hidden` → classes) on ``data = {"x", "y"}``,
    trained by heavy-ball SGD in torch's convention (b ← μb + g, θ ← θ − ηb) with lr `lrs[t]` and momentum
    `momenta[t]` at step t. From the first step whose loss has `diverged` from the first loss on, losses are NaN.

    Every call starts from the same initialization (He for the ReLU layer) and draws the same minibatches (both
    from NumPy's `default_rng(seed)`), so two schedules' loss curves differ only by the schedule. Computed in
    float64; returns the losses as a NumPy array.
    """
    x, y = np.asarray(data["x"], dtype=np.float64), np.asarray(data["y"])
    inputs, classes, rng = x.shape[1], int(y.max()) + 1, np.random.default_rng(seed)
    weights = [
        rng.normal(0, np.sqrt(2 / inputs), (inputs, hidden)),
        np.zeros(hidden),
        rng.normal(0, np.sqrt(1 / hidden), (hidden, classes)),
        np.zeros(classes),
    ]
    weights = [torch.from_numpy(weight).requires_grad_() for weight in weights]
    batches = rng.integers(0, len(x), (len(lrs), batch_size))
    batch_inputs, batch_labels = torch.from_numpy(x[batches]), torch.from_numpy(y[batches])
    buffers = None
    losses = np.full(len(lrs), np.nan)
    for step, (lr, momentum) in enumerate(zip(map(float, lrs), map(float, momenta))):
        w1, b1, w2, b2 = weights
        logits = torch.addmm(b2, torch.relu(torch.addmm(b1, batch_inputs[step], w1)), w2)
        loss = F.cross_entropy(logits, batch_labels[step])
        losses[step] = loss.item()
        if diverged(losses[step], losses[0]):
            losses[step:] = np.nan  # the curve stops here
            break
        gradients = torch.autograd.grad(loss, weights)
        # One call for all four tensors, as torch's SGD does with foreach=True: a call per tensor would cost more
        # than the arithmetic.
        with torch.no_grad():
            if buffers is None:
                buffers = list(gradients)  # torch's SGD starts the buffer at the first gradient
            else:
                torch._foreach_mul_(buffers, momentum)
                torch._foreach_add_(buffers, gradients)
            torch._foreach_add_(weights, buffers, alpha=-lr)
    return losses
