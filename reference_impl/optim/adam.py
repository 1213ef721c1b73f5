r"""Adam and AdamW: bias-corrected moving averages of the gradient and of its square.

$$m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,$$
$$\hat m_t = \frac{m_t}{1-\beta_1^t}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t}, \qquad
p_t = p_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}.$$

Adam's `weight_decay` is L2 regularization (added to the gradient, so it is rescaled by
$1/\sqrt{\hat v}$ like the rest of it); AdamW decays the parameter itself, $p \leftarrow p(1 - \eta\lambda)$,
before the Adam step (Loshchilov & Hutter, 2019).
"""
import functools

from .foreach import ForeachRuleOptimizer, foreach_adam_


def adam_step(param, grad, state, lr, beta1, beta2, eps, amsgrad=False):
    """One Adam step as torch.optim.Adam takes it (no weight decay).

    `state` holds torch's keys: ``step`` (steps taken so far, 0 at the start), ``exp_avg`` and
    ``exp_avg_sq`` (zeros at the start, or absent), and ``max_exp_avg_sq`` with amsgrad, which divides
    by the largest second moment seen so far. Returns ``(new_param, new_state)``.
    """
    step = float(state.get("step", 0)) + 1
    exp_avg = beta1 * state.get("exp_avg", 0.0) + (1 - beta1) * grad
    exp_avg_sq = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * grad * grad
    new_state = {"step": step, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    if amsgrad:
        second_moment = _maximum(state.get("max_exp_avg_sq", 0.0), exp_avg_sq)
        new_state["max_exp_avg_sq"] = second_moment
    else:
        second_moment = exp_avg_sq
    corrected_exp_avg = exp_avg / (1 - beta1**step)
    corrected_exp_avg_sq = second_moment / (1 - beta2**step)
    return param - lr * corrected_exp_avg / (corrected_exp_avg_sq**0.5 + eps), new_state


def adamw_step(param, grad, state, lr, beta1, beta2, eps, weight_decay, amsgrad=False):
    r"""One AdamW step: decay the parameter, $p \leftarrow p (1 - \eta\lambda)$, then take `adam_step`."""
    return adam_step(param * (1 - lr * weight_decay), grad, state, lr, beta1, beta2, eps, amsgrad)


def adam_update(param, grad, state, *, lr, betas, eps, weight_decay=0.0, amsgrad=False):
    """torch.optim.Adam's rule for one tensor: L2 weight decay added to the gradient, then `adam_step`."""
    if weight_decay != 0:
        grad = grad + weight_decay * param
    return adam_step(param, grad, state, lr, betas[0], betas[1], eps, amsgrad)


def adamw_update(param, grad, state, *, lr, betas, eps, weight_decay=1e-2, amsgrad=False):
    """torch.optim.AdamW's rule for one tensor: decoupled weight decay, then `adam_step`."""
    return adamw_step(param, grad, state, lr, betas[0], betas[1], eps, weight_decay, amsgrad)


def _maximum(a, b):
    # Elementwise maximum with arithmetic only, so it works on NumPy arrays and torch tensors alike
    # (each entry is exactly a or b: one term is multiplied by 1, the other by 0).
    return (a >= b) * a + (a < b) * b


class Adam(ForeachRuleOptimizer):
    """Drop-in equivalent of torch.optim.Adam (without `maximize`), built on `adam_update`.

    ``foreach=True`` updates all of a group's parameters at once with torch's _foreach kernels.
    """

    rule = staticmethod(adam_update)
    foreach_rule = staticmethod(foreach_adam_)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 foreach=False):
        _check_adam_hyperparameters(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults, foreach=foreach)


class AdamW(Adam):
    """Drop-in equivalent of torch.optim.AdamW (without `maximize`), built on `adamw_update`."""

    rule = staticmethod(adamw_update)
    foreach_rule = staticmethod(functools.partial(foreach_adam_, decoupled_weight_decay=True))

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 foreach=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach)


def _check_adam_hyperparameters(lr, betas, eps, weight_decay):
    if lr < 0 or eps < 0 or weight_decay < 0:
        raise ValueError(f"lr, eps and weight_decay must be >= 0, got {lr}, {eps}, {weight_decay}")
    if not all(0 <= beta < 1 for beta in betas):
        raise ValueError(f"betas must lie in [0, 1), got {betas}")
