r"""Measurements of a network's training health.

In a deep network the gradient reaching layer $l$ is the loss gradient at the output multiplied by
the Jacobian of every layer above it,

$$\frac{\partial L}{\partial h_l} = J_{l+1}^\top J_{l+2}^\top \cdots J_L^\top \, \frac{\partial L}{\partial h_L},$$

so its norm shrinks or grows roughly geometrically with depth when the Jacobians' typical gains are
below or above 1. Comparing per-layer gradient norms shows vanishing and exploding gradients directly.
"""

import numpy as np
import torch


def layers_with_parameters(model):
    """(name, module) for every submodule that owns parameters itself, in the order `model.modules()` visits them."""
    return [
        (name, module) for name, module in model.named_modules() if any(True for _ in module.parameters(recurse=False))
    ]


def layer_gradient_norms(model, inputs, targets, loss_fn):
    """The 2-norm of each layer's gradient after one backward pass of `loss_fn(model(inputs), targets)`.

    Old gradients are cleared first, so the result is that of this batch alone. A layer's norm covers
    all its own parameters together (weight and bias): sqrt(|∇W|² + |∇b|²). Returns
    ``{layer name: float}`` in the order of `layers_with_parameters`; a layer that the loss does not
    reach has norm 0.0.
    """
    model.zero_grad(set_to_none=True)
    loss_fn(model(inputs), targets).backward()
    norms = {}
    for name, layer in layers_with_parameters(model):
        squares = [
            p.grad.detach().double().square().sum() for p in layer.parameters(recurse=False) if p.grad is not None
        ]
        norms[name] = float(torch.stack(squares).sum().sqrt()) if squares else 0.0
    return norms


# ---------------------------------------------------------------------------------------------
# Training-health report (lesson 07, used in later lessons): what one training step looks like from
# inside the model. Activations show whether signals shrink, blow up or sit in a flat part of their
# nonlinearity; gradient norms whether the loss reaches every layer; the update-to-data ratio
# ‖Δθ‖/‖θ‖ whether the learning rate moves each layer at a sensible pace (about 1e-3 per step).

# Where each nonlinearity's derivative is (nearly) zero: the fraction of outputs there is its saturation.
SATURATED = {
    torch.nn.Tanh: lambda y: y.abs() > 0.97,
    torch.nn.Sigmoid: lambda y: (y < 0.03) | (y > 0.97),
    torch.nn.ReLU: lambda y: y <= 0,
}


def activation_summary(module, output):
    """{"mean", "std", "saturation"} of a module's output tensor, over all its elements.

    std is the population standard deviation (correction 0); saturation is the fraction of outputs
    where the module's derivative is (nearly) zero (see SATURATED), NaN for other modules.
    """
    values = output.detach().double()
    is_saturated = SATURATED.get(type(module))
    saturation = float(is_saturated(values).double().mean()) if is_saturated else float("nan")
    return {"mean": float(values.mean()), "std": float(values.std(correction=0)), "saturation": saturation}


def combined_norm(tensors):
    """The 2-norm of several tensors taken together, sqrt(Σ‖t‖²), in float64; 0.0 for none."""
    return float(torch.stack([t.double().square().sum() for t in tensors]).sum().sqrt()) if tensors else 0.0


def run_with_leaf_hooks(model, step, hook_for):
    """Run `step()` with the forward hook `hook_for(name)` on every leaf module (one without submodules).

    The hooks are removed afterwards, even if the step fails, so the model is left as it was.
    """
    hooks = [
        module.register_forward_hook(hook_for(name))
        for name, module in model.named_modules()
        if next(module.children(), None) is None
    ]
    try:
        step()
    finally:
        for hook in hooks:
            hook.remove()


def health_report(model, step):
    """Run `step()` (one training step: forward, backward, optimizer step) and report on it.

    Returns ``{"activations": {module name: activation_summary}, "gradient_norm": {layer name: float},
    "update_ratio": {layer name: float}}``. Activations are those of every leaf module (one without
    submodules) in the step's last forward pass, recorded by forward hooks that are removed afterwards,
    even if the step fails. Layers are those of `layers_with_parameters`; a layer's gradient norm
    covers all its own parameters, sqrt(Σ|∇θ|²) (0.0 for none), and its update ratio is
    ‖θ_after − θ_before‖ / ‖θ_before‖ over the same parameters (NaN when ‖θ_before‖ = 0).
    """
    layers = layers_with_parameters(model)
    before = {name: [p.detach().clone() for p in layer.parameters(recurse=False)] for name, layer in layers}
    activations = {}

    def recorder(name):
        def record(module, _inputs, output):
            if isinstance(output, torch.Tensor):
                activations[name] = activation_summary(module, output)

        return record

    run_with_leaf_hooks(model, step, recorder)
    gradient_norm, update_ratio = {}, {}
    for name, layer in layers:
        params = list(layer.parameters(recurse=False))
        gradient_norm[name] = combined_norm([p.grad.detach() for p in params if p.grad is not None])
        data_norm = combined_norm(before[name])
        change = combined_norm([p.detach() - old for p, old in zip(params, before[name])])
        update_ratio[name] = change / data_norm if data_norm > 0 else float("nan")
    return {"activations": activations, "gradient_norm": gradient_norm, "update_ratio": update_ratio}


# Thresholds for `format_health`'s warnings: rules of thumb, not laws.
HEALTHY_STD = (0.1, 10.0)
HEALTHY_UPDATE_RATIO = (1e-4, 1e-2)
SATURATION_WARNING = 0.9


def format_health(report):
    """`health_report`'s result as a text table, one row per module, with a warning where a rule of thumb fails."""
    rows = [
        f"{'module':28} {'act. mean':>10} {'act. std':>9} {'saturated':>9} {'grad norm':>10} {'update/data':>11}  "
        "warnings"
    ]
    names = list(dict.fromkeys([*report["activations"], *report["gradient_norm"]]))
    for name in names:
        stats = report["activations"].get(name, {})
        grad, ratio = report["gradient_norm"].get(name), report["update_ratio"].get(name)
        warnings = []
        if stats and not HEALTHY_STD[0] <= stats["std"] <= HEALTHY_STD[1]:
            warnings.append("activations shrinking" if stats["std"] < HEALTHY_STD[0] else "activations growing")
        if stats and stats["saturation"] > SATURATION_WARNING:
            warnings.append("saturated")
        if ratio is not None and not HEALTHY_UPDATE_RATIO[0] <= ratio <= HEALTHY_UPDATE_RATIO[1]:
            warnings.append("update too small" if ratio < HEALTHY_UPDATE_RATIO[0] else "update too large")

        def cell(value, width, fmt):
            return f"{'':>{width}}" if value is None else f"{value:>{width}{fmt}}"

        rows.append(
            f"{name or '(model)':28} {cell(stats.get('mean'), 10, '.3g')} {cell(stats.get('std'), 9, '.3g')} "
            f"{cell(stats.get('saturation'), 9, '.2f')} {cell(grad, 10, '.3g')} {cell(ratio, 11, '.2e')}  "
            f"{', '.join(warnings)}"
        )
    return "\n".join(rows)


def largest_stable_lr(hessian):
    r"""The learning rate below which gradient descent converges on a quadratic with this (symmetric) Hessian.

    Along an eigenvector of curvature $\lambda$ one step multiplies the error by $1 - \eta\lambda$, which
    shrinks it only while $|1 - \eta\lambda| < 1$; the steepest direction sets the limit $2/\lambda_{max}$.
    """
    return float(2.0 / np.linalg.eigvalsh(np.asarray(hessian, dtype=float)).max())
