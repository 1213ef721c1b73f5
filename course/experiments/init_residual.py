"""Lesson 07's experiment: how the spread of activations and gradients changes layer by layer in a deep random net."""

import numpy as np
import torch


def signal_std_by_layer(depth, std, activation, residual, width=64, batch=64, seed=0):
    """Std of the activations after each layer, and of the gradient reaching each layer, in a deep random net.

    Weights are N(0, std²), shaped (width, width), biases zero; inputs N(0, 1). Plain: h ← φ(W h) per
    layer. Residual: blocks of two layers, h ← φ(h + W₂ φ(W₁ h)/√blocks), as `models.ResidualBlock`
    in `models.DeepMLP`. Backward, a N(0, 1) gradient enters at the top and autograd carries it down. Returns
    ``(layers, forward_std, gradient_std)``: the layer index after each block (every layer for plain, every second
    for residual), the std of that block's output and the std of the gradient at that block's input, in float64
    NumPy. The random draws come from NumPy's `default_rng(seed)`, the computation from torch.
    """
    rng = np.random.default_rng(seed)
    unit_weights = torch.from_numpy(rng.standard_normal((depth, width, width)))
    h = torch.from_numpy(rng.standard_normal((batch, width))).requires_grad_()
    phi = {"tanh": torch.tanh, "relu": torch.relu}[activation]
    layers_per_block = 2 if residual else 1
    scale = 1 / np.sqrt(depth // 2) if residual else 1.0
    block_inputs, forward = [], []
    for block in range(depth // layers_per_block):
        w = unit_weights[block * layers_per_block : (block + 1) * layers_per_block] * std
        block_inputs.append(h)
        h = phi(h + scale * phi(h @ w[0].T) @ w[1].T) if residual else phi(h @ w[0].T)
        forward.append(h.detach().std(correction=0).item())
    top_gradient = torch.from_numpy(np.random.default_rng(seed + 1).standard_normal(tuple(h.shape)))
    gradients = torch.autograd.grad(h, block_inputs, top_gradient)
    layers = np.arange(1, len(forward) + 1) * layers_per_block
    return layers, np.array(forward), np.array([gradient.std(correction=0).item() for gradient in gradients])
