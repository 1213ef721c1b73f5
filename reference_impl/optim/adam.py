r"""Adam and AdamW: bias-corrected moving averages of the gradient and of its square.

$$m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,$$
$$\hat m_t = \frac{m_t}{1-\beta_1^t}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t}, \qquad
p_t = p_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.$$

Adam's `weight_decay` is L2 regularization (added to the gradient, so it is rescaled by
$1/\sqrt{\hat v}$ like the rest of it); AdamW decays the parameter itself, $p \leftarrow p(1 - \eta\lambda)$,
before the Adam step (Loshchilov & Hutter, 2019).

Read in order: the lesson's rules (`adam_step`, `adamw_step`); torch's `amsgrad` option (`amsgrad_step`);
torch.optim's whole rule for one tensor (`adam_update`, `adamw_update`) and for a list of tensors at once
(`foreach_adam_`, `foreach_adamw_`); the optimizers. State uses torch's keys: ``step`` (t),
``exp_avg`` (m), ``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq``.
"""

import math

import numpy as np
import torch

from .base import RuleOptimizer, count_steps, state_tensors


def adam_step(param, grad, state, lr, beta1, beta2, eps):
    """One Adam step as torch.optim.Adam takes it (no weight decay).

    `state` is ``{"step": t, "exp_avg": m, "exp_avg_sq": v}`` after t steps, ``{"step": 0, ...}`` with zeros at the
    start. Returns ``(new_param, new_state)``; the inputs are not modified.
    """
    t = state["step"] + 1
    m = beta1 * state["exp_avg"] + (1 - beta1) * grad
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return param - lr * m_hat / (v_hat**0.5 + eps), {"step": t, "exp_avg": m, "exp_avg_sq": v}


def adamw_step(param, grad, state, lr, beta1, beta2, eps, weight_decay):
    r"""One AdamW step: decoupled decay, $p \leftarrow p (1 - \eta\lambda)$, then `adam_step` on the plain gradient."""
    return adam_step(param * (1 - lr * weight_decay), grad, state, lr, beta1, beta2, eps)


def amsgrad_step(param, grad, state, lr, beta1, beta2, eps):
    r"""`adam_step` with torch's ``amsgrad=True`` (Reddi et al., 2018), an option the lesson leaves out.

    The one change: $\hat v$ is computed from the largest v seen so far, kept as ``state["max_exp_avg_sq"]``
    (absent before the first step), so a coordinate's step size does not grow again when its gradients shrink.
    """
    t = state["step"] + 1
    m = beta1 * state["exp_avg"] + (1 - beta1) * grad
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
    v_max = _maximum(state.get("max_exp_avg_sq", v), v)
    m_hat, v_hat = m / (1 - beta1**t), v_max / (1 - beta2**t)
    return param - lr * m_hat / (v_hat**0.5 + eps), {"step": t, "exp_avg": m, "exp_avg_sq": v, "max_exp_avg_sq": v_max}


def _maximum(a, b):
    """Elementwise maximum of two NumPy arrays or two torch tensors."""
    return torch.maximum(a, b) if isinstance(a, torch.Tensor) else np.maximum(a, b)


def adam_update(param, grad, state, *, lr, betas, eps, weight_decay=0.0, amsgrad=False):
    """torch.optim.Adam's rule for one tensor: L2 weight decay added to the gradient, then the Adam step.

    `state` is ``{}`` before the first step, afterwards torch's keys (``step`` may be torch's own tensor).
    Returns ``(new_param, new_state)``.
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param  # L2: part of the gradient, so divided by sqrt(v_hat) like the rest
    # m and v start at 0. t becomes a Python float: a float32 tensor from torch would cost the bias corrections
    # their float64 accuracy.
    state = {"exp_avg": 0.0, "exp_avg_sq": 0.0, **state, "step": float(state.get("step", 0))}
    rule = amsgrad_step if amsgrad else adam_step
    return rule(param, grad, state, lr, *betas, eps)


def adamw_update(param, grad, state, *, lr, betas, eps, weight_decay=1e-2, amsgrad=False):
    """torch.optim.AdamW's rule for one tensor: decoupled weight decay, then the Adam step."""
    return adam_update(param * (1 - lr * weight_decay), grad, state, lr=lr, betas=betas, eps=eps, amsgrad=amsgrad)


def foreach_adam_(params, grads, states, *, lr, betas, eps, weight_decay=0.0, amsgrad=False):
    """`adam_update` for every tensor of `params` at once, in place, with torch's _foreach kernels.

    `m`, `v` and `steps` are lists with one entry per parameter.
    """
    beta1, beta2 = betas
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)  # a new list: p.grad stays untouched
    steps = count_steps(states)
    m = state_tensors(states, "exp_avg", params)
    v = state_tensors(states, "exp_avg_sq", params)
    torch._foreach_lerp_(m, grads, 1 - beta1)  # m + (1 - beta1)(g - m) = beta1 m + (1 - beta1) g
    torch._foreach_mul_(v, beta2)
    torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
    if amsgrad:  # v_hat from the largest v so far, as in amsgrad_step
        v_max = state_tensors(states, "max_exp_avg_sq", params)
        torch._foreach_maximum_(v_max, v)
        v = v_max
    # p - lr m_hat / (sqrt(v_hat) + eps), with the bias corrections folded into scalars: sqrt(v_hat) is
    # sqrt(v) / sqrt(1 - beta2^t) and lr m_hat is lr / (1 - beta1^t) times m. Parameters may have taken different
    # numbers of steps (one can lack a gradient for a while), so each correction is a list.
    denominators = torch._foreach_sqrt(v)
    torch._foreach_div_(denominators, [math.sqrt(1 - beta2**t) for t in steps])
    torch._foreach_add_(denominators, eps)
    torch._foreach_addcdiv_(params, m, denominators, [-lr / (1 - beta1**t) for t in steps])


def foreach_adamw_(params, grads, states, *, lr, betas, eps, weight_decay=1e-2, amsgrad=False):
    """`adamw_update` for every tensor of `params` at once: decoupled weight decay, then the Adam step."""
    torch._foreach_mul_(params, 1 - lr * weight_decay)
    foreach_adam_(params, grads, states, lr=lr, betas=betas, eps=eps, amsgrad=amsgrad)


class Adam(RuleOptimizer):
    """Drop-in equivalent of torch.optim.Adam (without `maximize`), built on `adam_update` (or `foreach_adam_`)."""

    rule = staticmethod(adam_update)
    foreach_rule = staticmethod(foreach_adam_)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, foreach=False):
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"lr, eps and weight_decay must be >= 0, got {lr}, {eps}, {weight_decay}")
        if not all(0 <= beta < 1 for beta in betas):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults, foreach=foreach)


class AdamW(Adam):
    """Drop-in equivalent of torch.optim.AdamW (without `maximize`), built on `adamw_update` (or `foreach_adamw_`)."""

    rule = staticmethod(adamw_update)
    foreach_rule = staticmethod(foreach_adamw_)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, foreach=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach)
