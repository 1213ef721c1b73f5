"""Lesson 05's experiment: a tanh RNN trained by SGD on the adding problem, with or without gradient clipping."""

import numpy as np
import torch
from torch.nn import functional as F

from reference_impl.models import adding_problem

from .divergence import diverged


def adding_problem_batches(steps, batch_size, length, seed=0):
    """`steps` minibatches of the adding problem, stacked: inputs (steps, batch, length, 2) and targets
    (steps, batch, 1), float64."""
    generator = torch.Generator().manual_seed(seed)
    inputs, targets = zip(*(adding_problem(batch_size, length, generator) for _ in range(steps)))
    return torch.stack(inputs).double(), torch.stack(targets).double()


def initial_rnn_weights(features, hidden=16, recurrent_scale=1.0, seed=0):
    """``[W_x, W_h, b, w_o, b_o]`` of the RNN of `rnn_loss`: entries N(0, 1/fan_in), W_h's scaled by
    `recurrent_scale` (above about 1 gradients through time tend to explode), biases zero, drawn by NumPy's
    `default_rng(seed)`; float64 tensors that require grad, as parameters do."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0, 1 / np.sqrt(features), (hidden, features)),
        rng.normal(0, recurrent_scale / np.sqrt(hidden), (hidden, hidden)),
        np.zeros(hidden),
        rng.normal(0, 1 / np.sqrt(hidden), (1, hidden)),
        np.zeros(1),
    ]
    return [torch.from_numpy(weight).requires_grad_() for weight in weights]


def rnn_loss(weights, inputs, targets):
    """Mean squared error of a tanh RNN on one batch (inputs (batch, length, features), targets (batch, 1)).

    h_t = tanh(W_x x_t + W_h h_(t−1) + b) from h_0 = 0, prediction = w_o·h_T + b_o.
    """
    w_x, w_h, b, w_o, b_o = weights
    # Only the recurrence needs a loop: the inputs' share of every step is one product, and W_h is transposed once
    # (inside the loop, every step's transpose is one more node for autograd: a fifth of a run's time).
    drives = torch.addmm(b, inputs.reshape(-1, inputs.shape[-1]), w_x.T).reshape(*inputs.shape[:2], -1).unbind(1)
    recurrent = w_h.T
    state = torch.tanh(drives[0])
    for drive in drives[1:]:
        state = torch.tanh(torch.addmm(drive, state, recurrent))
    return F.mse_loss(torch.addmm(b_o, state, w_o.T), targets)


def rnn_loss_and_gradients(weights, inputs, targets):
    """`rnn_loss` of `weights` (tensors or arrays) on one batch, as a float, and its gradient for each weight."""
    weights = [torch.as_tensor(weight).detach().requires_grad_() for weight in weights]
    loss = rnn_loss(weights, torch.as_tensor(inputs), torch.as_tensor(targets))
    return loss.item(), list(torch.autograd.grad(loss, weights))


def rnn_training_run(inputs, targets, lr, steps, clip=None, threshold=None, hidden=16, recurrent_scale=1.0, seed=0):
    """Losses and pre-clip gradient norms of the RNN of `rnn_loss` trained by SGD, one batch of `inputs`
    (steps, batch, length, features) and `targets` (steps, batch, 1) per step.

    `clip(parameters, threshold)` runs between backward and the step and clips the parameters' `.grad` in place,
    as torch.nn.utils.clip_grad_norm_ and clip_grad_value_ do. Returns ``(losses, grad_norms)`` as NumPy arrays;
    from the first step whose loss has `diverged` from the first loss on, both are NaN.
    """
    parameters = initial_rnn_weights(inputs.shape[-1], hidden, recurrent_scale, seed)
    losses, grad_norms = np.full(steps, np.nan), np.full(steps, np.nan)
    for step in range(steps):
        loss, gradients = rnn_loss_and_gradients(parameters, inputs[step], targets[step])
        if diverged(loss, losses[0] if step else loss):
            break
        losses[step] = loss
        grad_norms[step] = torch.linalg.vector_norm(torch.cat([gradient.ravel() for gradient in gradients])).item()
        for parameter, gradient in zip(parameters, gradients):
            parameter.grad = gradient
        if clip is not None:
            clip(parameters, threshold)
        with torch.no_grad():
            for parameter in parameters:
                parameter -= lr * parameter.grad
    return losses, grad_norms
