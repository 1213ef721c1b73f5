r"""Gradient descent with momentum, in the two forms students meet.

Textbooks usually write momentum as an exponential moving average (EMA) of gradients,

$$v_t = \beta v_{t-1} + (1-\beta) g_t, \qquad p_t = p_{t-1} - \alpha v_t,$$

while torch.optim.SGD uses the *heavy-ball* form with an undamped buffer,

$$b_t = \mu b_{t-1} + (1-d)\, g_t, \qquad p_t = p_{t-1} - \eta b_t .$$

With $d = 0$ and $\mu = \beta$, $v_t = (1-\beta) b_t$ when both start at zero, so the two paths are
identical when $\eta = (1-\beta)\,\alpha$: heavy-ball with learning rate $\eta$ is EMA momentum with
learning rate $\eta / (1-\beta)$.

Read in order: the lesson's rules (`gd_step`, `ema_momentum_step`, `heavy_ball_step`, `nesterov_step`), then
torch.optim.SGD's whole rule for one tensor (`sgd_update`: weight decay, then one of them), then the optimizer.
"""

from .base import RuleOptimizer


def gd_step(param, grad, lr):
    r"""Plain gradient descent, $p \leftarrow p - \eta g$. Returns the new parameter."""
    return param - lr * grad


def ema_momentum_step(param, grad, velocity, lr, beta):
    r"""EMA momentum: $v \leftarrow \beta v + (1-\beta) g$, then $p \leftarrow p - \alpha v$.

    `velocity` starts as zeros shaped like `param`. Returns ``(new_param, new_velocity)``.
    """
    velocity = beta * velocity + (1 - beta) * grad
    return param - lr * velocity, velocity


def heavy_ball_step(param, grad, buf, lr, momentum, dampening=0.0):
    r"""PyTorch's momentum: $b \leftarrow \mu b + (1-d) g$, then $p \leftarrow p - \eta b$.

    `buf` is None before the first step, where PyTorch sets $b = g$ (no dampening on that step).
    Returns ``(new_param, new_buf)``.
    """
    buf = grad if buf is None else momentum * buf + (1 - dampening) * grad
    return param - lr * buf, buf


def nesterov_step(param, grad, buf, lr, momentum):
    r"""Nesterov momentum as PyTorch computes it (look-ahead folded into the gradient):

    $b \leftarrow \mu b + g$ (with $b = g$ on the first step), then $p \leftarrow p - \eta (g + \mu b)$.
    Returns ``(new_param, new_buf)``.
    """
    buf = grad if buf is None else momentum * buf + grad
    return param - lr * (grad + momentum * buf), buf


def sgd_update(param, grad, state, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """torch.optim.SGD's rule for one tensor: L2 weight decay, then plain, heavy-ball or Nesterov step.

    `state` is ``{}`` before the first step and ``{"momentum_buffer": b}`` after it when momentum > 0.
    Returns ``(new_param, new_state)``.
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param
    if momentum == 0:
        return gd_step(param, grad, lr), {}
    buf = state.get("momentum_buffer")
    if nesterov:
        param, buf = nesterov_step(param, grad, buf, lr, momentum)
    else:
        param, buf = heavy_ball_step(param, grad, buf, lr, momentum, dampening)
    return param, {"momentum_buffer": buf}


class SGD(RuleOptimizer):
    """Drop-in equivalent of torch.optim.SGD (without `maximize` or a foreach path), built on `sgd_update`."""

    rule = staticmethod(sgd_update)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"lr, momentum and weight_decay must be >= 0, got {lr}, {momentum}, {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)
