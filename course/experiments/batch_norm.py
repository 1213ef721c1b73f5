"""Lesson 03's experiment: a hidden unit's pre-activations fed through batch norm in training and evaluation mode."""

import numpy as np


def hidden_pre_activations(data, count=1024, hidden=64, seed=0):
    """Pre-activations of one second-layer unit of a random ReLU MLP (He init) on MNIST-1D inputs.

    Computed on the first `count` training inputs: skewed and data-dependent like a real hidden unit,
    then rescaled to mean 0 and standard deviation 1 so the sliders set the mean and spread directly.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(data["x"][:count], dtype=np.float64)
    first = np.maximum(x @ rng.normal(0, np.sqrt(2 / x.shape[1]), (x.shape[1], hidden)), 0.0)
    unit = first @ rng.normal(0, np.sqrt(2 / hidden), hidden)
    return (unit - unit.mean()) / unit.std()


def batch_norm_training_pass(batch_norm, values, batch_size, momentum=0.1, min_updates=100, seed=0):
    """Feed `values` (one channel) through `batch_norm` in shuffled minibatches, as training would.

    Passes over the data until the running statistics have had at least `min_updates` updates.
    Returns ``(train_outputs, running_mean, running_var)``: each value's training-mode output in the
    last pass (normalized with its minibatch's statistics), and the running statistics at the end.
    `batch_norm` has the signature of `reference_impl.norms.batch_norm`.
    """
    rng = np.random.default_rng(seed)
    batches = len(values) // batch_size
    gamma, beta = np.ones(1), np.zeros(1)
    running_mean, running_var = np.zeros(1), np.ones(1)
    outputs = np.full(len(values), np.nan)
    for _ in range(-(-min_updates // batches)):  # ceiling division: whole passes
        order = rng.permutation(len(values))[: batches * batch_size].reshape(batches, batch_size)
        for index in order:
            out, running_mean, running_var = batch_norm(
                values[index, None], gamma, beta, running_mean, running_var, True, momentum
            )
            outputs[index] = np.asarray(out).ravel()
    return outputs, running_mean, running_var


def train_eval_gap(batch_norm, values, batch_size, momentum=0.1):
    """Mean |training-mode output − evaluation-mode output| per value after a training pass, and both outputs.

    Returns ``(gap, train_outputs, eval_outputs)``; values that no minibatch held are NaN in `train_outputs`.
    """
    train_outputs, running_mean, running_var = batch_norm_training_pass(batch_norm, values, batch_size, momentum)
    eval_outputs = np.asarray(
        batch_norm(values[:, None], np.ones(1), np.zeros(1), running_mean, running_var, False, momentum)[0]
    ).ravel()
    seen = np.isfinite(train_outputs)  # values left out of every minibatch by the drop-last split
    return float(np.abs(train_outputs[seen] - eval_outputs[seen]).mean()), train_outputs, eval_outputs
