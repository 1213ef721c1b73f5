"""A torch optimizer that applies a pure update rule to each parameter."""
import torch


class RuleOptimizer(torch.optim.Optimizer):
    """Base class: subclasses set `rule` to a function ``(param, grad, state, **hyper) -> (param, state)``.

    Each parameter group's hyperparameters (the keys of the subclass's `defaults`) are passed to the
    rule by name.
    The per-parameter state is a dict with the same keys torch.optim uses, so state_dicts can be
    exchanged with torch's own optimizers.
    """

    rule = None  # set by subclasses, as staticmethod(...)

    def __init__(self, params, defaults):
        # The rule's keyword arguments; torch itself may add keys to `defaults` (e.g. on load_state_dict).
        self.hyperparameters = tuple(defaults)
        super().__init__(params, defaults)

    def __getstate__(self):
        # Optimizer.__getstate__ keeps only defaults, state and param_groups; copies and pickles need this too.
        return {**super().__getstate__(), "hyperparameters": self.hyperparameters}

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            hyper = {name: group[name] for name in self.hyperparameters}
            for param in group["params"]:
                if param.grad is None:
                    continue
                new_param, new_state = self.rule(param, param.grad, dict(self.state[param]), **hyper)
                # backward() accumulates into .grad in place, so a buffer must never *be* the gradient
                # (a rule may return it as state, e.g. PyTorch's first momentum step).
                self.state[param] = {
                    key: value.clone() if value is param.grad else value for key, value in new_state.items()
                }
                param.copy_(new_param)
        return loss
