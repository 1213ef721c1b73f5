r"""RMSprop in PyTorch's form: a running average of squared gradients sets a step size per coordinate.

$$v_t = \alpha v_{t-1} + (1-\alpha) g_t^2, \qquad p_t = p_{t-1} - \eta\, \frac{g_t}{\sqrt{v_t} + \epsilon},$$

with $\epsilon$ added *outside* the square root. The centered variant divides by the running standard
deviation $\sqrt{v_t - \bar g_t^2}$ instead, and momentum accumulates the scaled gradient,
$b_t = \mu b_{t-1} + g_t / (\sqrt{v_t} + \epsilon)$, $p_t = p_{t-1} - \eta b_t$.
"""
from .foreach import ForeachRuleOptimizer, foreach_rmsprop_


def rmsprop_step(param, grad, square_avg, lr, alpha, eps):
    r"""Plain RMSprop: $v \leftarrow \alpha v + (1-\alpha) g^2$, then $p \leftarrow p - \eta g / (\sqrt{v} + \epsilon)$.

    `square_avg` starts as zeros shaped like `param`. Returns ``(new_param, new_square_avg)``.
    """
    square_avg = alpha * square_avg + (1 - alpha) * grad * grad
    return param - lr * grad / (square_avg**0.5 + eps), square_avg


def rmsprop_update(param, grad, state, *, lr, alpha, eps, weight_decay=0.0, momentum=0.0, centered=False):
    """torch.optim.RMSprop's rule for one tensor (without `maximize`).

    `state` is ``{}`` before the first step; afterwards it holds torch's keys: ``step``,
    ``square_avg``, plus ``grad_avg`` when centered and ``momentum_buffer`` when momentum > 0.
    Returns ``(new_param, new_state)``.
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg = alpha * state.get("square_avg", 0.0) + (1 - alpha) * grad * grad
    new_state = {"step": float(state.get("step", 0)) + 1, "square_avg": square_avg}
    if centered:
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


class RMSprop(ForeachRuleOptimizer):
    """Drop-in equivalent of torch.optim.RMSprop (without `maximize`), built on `rmsprop_update`.

    ``foreach=True`` updates all of a group's parameters at once with torch's _foreach kernels.
    """

    rule = staticmethod(rmsprop_update)
    foreach_rule = staticmethod(foreach_rmsprop_)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 foreach=False):
        if lr < 0 or eps < 0 or alpha < 0 or weight_decay < 0 or momentum < 0:
            raise ValueError(f"lr, alpha, eps, weight_decay and momentum must be >= 0, got "
                             f"{lr}, {alpha}, {eps}, {weight_decay}, {momentum}")
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        super().__init__(params, defaults, foreach=foreach)
