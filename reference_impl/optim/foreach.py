"""The vectorized path: one torch._foreach_* call updates every parameter of a group at once.

The pure rules in rmsprop.py and adam.py compute one tensor at a time and return new tensors, which
is clear but launches several small operations per parameter. These functions do the same arithmetic
in place on whole lists of tensors, as torch.optim's `foreach=True` implementations do; the tests
hold both paths to torch's numbers and benchmarks/bench_optimizers.py times them.
Per-parameter state uses torch's keys; ``step`` is kept as a Python float.
"""
import math

import torch

from .base import RuleOptimizer


class ForeachRuleOptimizer(RuleOptimizer):
    """A RuleOptimizer that, with ``foreach=True``, updates each group with `foreach_rule` instead.

    `foreach_rule(params, grads, states, **hyper)` updates the parameters and their state dicts in place.
    """

    foreach_rule = None  # set by subclasses, as staticmethod(...)

    def __init__(self, params, defaults, foreach=False):
        self.foreach = foreach
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        if not self.foreach:
            return super().step(closure)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [param for param in group["params"] if param.grad is not None]
            if params:
                hyper = {name: group[name] for name in self.hyperparameters}
                self.foreach_rule(params, [param.grad for param in params], [self.state[p] for p in params], **hyper)
        return loss


def foreach_rmsprop_(params, grads, states, *, lr, alpha, eps, weight_decay=0.0, momentum=0.0, centered=False):
    """torch.optim.RMSprop's update of every tensor in `params`, in place, with _foreach kernels."""
    square_avgs = _state_list(states, "square_avg", params)
    if weight_decay != 0:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)  # a new list: p.grad stays untouched
    _count_steps(states)
    torch._foreach_mul_(square_avgs, alpha)
    torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - alpha)
    if centered:
        grad_avgs = _state_list(states, "grad_avg", params)
        torch._foreach_lerp_(grad_avgs, grads, 1 - alpha)
        denominators = torch._foreach_addcmul(square_avgs, grad_avgs, grad_avgs, value=-1)
        torch._foreach_sqrt_(denominators)
    else:
        denominators = torch._foreach_sqrt(square_avgs)
    torch._foreach_add_(denominators, eps)
    if momentum > 0:
        buffers = _state_list(states, "momentum_buffer", params)
        torch._foreach_mul_(buffers, momentum)
        torch._foreach_addcdiv_(buffers, grads, denominators)
        torch._foreach_add_(params, buffers, alpha=-lr)
    else:
        torch._foreach_addcdiv_(params, grads, denominators, value=-lr)


def foreach_adam_(params, grads, states, *, lr, betas, eps, weight_decay=0.0, amsgrad=False,
                  decoupled_weight_decay=False):
    """torch.optim.Adam's (or, decoupled, AdamW's) update of every tensor in `params`, in place."""
    beta1, beta2 = betas
    exp_avgs = _state_list(states, "exp_avg", params)
    exp_avg_sqs = _state_list(states, "exp_avg_sq", params)
    if weight_decay != 0:
        if decoupled_weight_decay:
            torch._foreach_mul_(params, 1 - lr * weight_decay)
        else:
            grads = torch._foreach_add(grads, params, alpha=weight_decay)  # a new list: p.grad stays untouched
    steps = _count_steps(states)
    torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
    if amsgrad:
        second_moments = _state_list(states, "max_exp_avg_sq", params)
        torch._foreach_maximum_(second_moments, exp_avg_sqs)
    else:
        second_moments = exp_avg_sqs
    # Parameters may have taken different numbers of steps (one can lack a gradient for a while),
    # so the bias corrections are lists of scalars, one per tensor.
    denominators = torch._foreach_sqrt(second_moments)
    torch._foreach_div_(denominators, [math.sqrt(1 - beta2**step) for step in steps])
    torch._foreach_add_(denominators, eps)
    torch._foreach_addcdiv_(params, exp_avgs, denominators, [-lr / (1 - beta1**step) for step in steps])


def _state_list(states, key, params):
    """The tensors `states[i][key]`, created as zeros like `params[i]` where missing."""
    for state, param in zip(states, params):
        if key not in state:
            state[key] = torch.zeros_like(param, memory_format=torch.preserve_format)
    return [state[key] for state in states]


def _count_steps(states):
    """Add one to every state's step count; return the new counts (state dicts from torch hold tensors)."""
    steps = []
    for state in states:
        state["step"] = float(state.get("step", 0)) + 1
        steps.append(state["step"])
    return steps
