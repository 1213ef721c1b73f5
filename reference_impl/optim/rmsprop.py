r"""RMSprop in PyTorch's form: a running average of squared gradients sets a step size per coordinate.

$$v_t = \alpha v_{t-1} + (1-\alpha) g_t^2, \qquad p_t = p_{t-1} - \eta\, \frac{g_t}{\sqrt{v_t} + \epsilon},$$

with $\epsilon$ added *outside* the square root. The centered variant divides by the running standard
deviation $\sqrt{v_t - \bar g_t^2}$ instead, and momentum accumulates the scaled gradient,
$b_t = \mu b_{t-1} + g_t / (\sqrt{v_t} + \epsilon)$, $p_t = p_{t-1} - \eta b_t$.

Read in order: the lesson's rule (`rmsprop_step`); torch.optim.RMSprop's whole rule, with its options, for one
tensor (`rmsprop_update`) and for a list of tensors at once (`foreach_rmsprop_`); the optimizer. State uses torch's
keys: ``step``, ``square_avg`` (v) and, with the options, ``grad_avg`` and ``momentum_buffer``.
"""

import torch

from .base import RuleOptimizer, count_steps, state_tensors


def rmsprop_step(param, grad, square_avg, lr, alpha, eps):
    r"""Plain RMSprop: $v \leftarrow \alpha v + (1-\alpha) g^2$, then $p \leftarrow p - \eta g / (\sqrt{v} + \epsilon)$.

    `square_avg` (v) starts as zeros shaped like `param`. Returns ``(new_param, new_square_avg)``.
    """
    square_avg = alpha * square_avg + (1 - alpha) * grad * grad
    return param - lr * grad / (square_avg**0.5 + eps), square_avg


def rmsprop_update(param, grad, state, *, lr, alpha, eps, weight_decay=0.0, momentum=0.0, centered=False):
    """torch.optim.RMSprop's rule for one tensor (without `maximize`).

    `state` is ``{}`` before the first step, afterwards torch's keys (``step`` may be torch's own tensor).
    Returns ``(new_param, new_state)``.
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg = alpha * state.get("square_avg", 0.0) + (1 - alpha) * grad * grad
    new_state = {"step": float(state.get("step", 0)) + 1, "square_avg": square_avg}
    if centered:  # subtract the squared mean gradient: v - g_bar^2 estimates the variance
        grad_avg = alpha * state.get("grad_avg", 0.0) + (1 - alpha) * grad
        new_state["grad_avg"] = grad_avg
        denominator = (square_avg - grad_avg * grad_avg) ** 0.5 + eps
    else:
        denominator = square_avg**0.5 + eps
    if momentum > 0:
        buf = momentum * state.get("momentum_buffer", 0.0) + grad / denominator
        new_state["momentum_buffer"] = buf
        return param - lr * buf, new_state
    return param - lr * grad / denominator, new_state


def foreach_rmsprop_(params, grads, states, *, lr, alpha, eps, weight_decay=0.0, momentum=0.0, centered=False):
    """`rmsprop_update` for every tensor of `params` at once, in place, with torch's _foreach kernels.

    `square_avgs`, `grad_avgs`, `denominators` and `buffers` are lists with one entry per parameter.
    """
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)  # a new list: p.grad stays untouched
    count_steps(states)
    square_avgs = state_tensors(states, "square_avg", params)
    torch._foreach_mul_(square_avgs, alpha)
    torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - alpha)
    if centered:
        grad_avgs = state_tensors(states, "grad_avg", params)
        torch._foreach_lerp_(grad_avgs, grads, 1 - alpha)  # g_bar + (1 - alpha)(g - g_bar)
        denominators = torch._foreach_addcmul(square_avgs, grad_avgs, grad_avgs, value=-1)
        torch._foreach_sqrt_(denominators)
    else:
        denominators = torch._foreach_sqrt(square_avgs)
    torch._foreach_add_(denominators, eps)
    if momentum > 0:
        buffers = state_tensors(states, "momentum_buffer", params)
        torch._foreach_mul_(buffers, momentum)
        torch._foreach_addcdiv_(buffers, grads, denominators)
        torch._foreach_add_(params, buffers, alpha=-lr)
    else:
        torch._foreach_addcdiv_(params, grads, denominators, value=-lr)


class RMSprop(RuleOptimizer):
    """Drop-in equivalent of torch.optim.RMSprop (without `maximize`), built on `rmsprop_update` (or its foreach)."""

    rule = staticmethod(rmsprop_update)
    foreach_rule = staticmethod(foreach_rmsprop_)

    def __init__(
        self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, foreach=False
    ):
        if lr < 0 or eps < 0 or alpha < 0 or weight_decay < 0 or momentum < 0:
            raise ValueError(
                f"lr, alpha, eps, weight_decay and momentum must be >= 0, got "
                f"{lr}, {alpha}, {eps}, {weight_decay}, {momentum}"
            )
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        super().__init__(params, defaults, foreach=foreach)
