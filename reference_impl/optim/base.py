"""The machinery every optimizer here shares: the step loop and the switch between its two paths.

Each algorithm's own file holds its math; this one only walks the parameter groups.
"""

import torch


class RuleOptimizer(torch.optim.Optimizer):
    """A torch optimizer that applies its algorithm's rule to each parameter, or to all of a group's at once.

    Subclasses set two functions, as staticmethods:

    - `rule(param, grad, state, **hyper) -> (new_param, new_state)`, the update of one tensor as a pure function
      (torch.optim calls this path "single tensor");
    - `foreach_rule(params, grads, states, **hyper)`, the same update of whole lists of tensors, in place, with
      torch's _foreach kernels (torch's "foreach" or "multi tensor" path; optional).

    ``foreach=True`` picks the second, as torch.optim's `foreach` argument does. Each group's hyperparameters (the
    keys of the subclass's `defaults`) are passed to the rule by name. The per-parameter state uses torch.optim's
    keys, so state_dicts can be exchanged with torch's own optimizers.
    """

    rule = None
    foreach_rule = None

    def __init__(self, params, defaults, foreach=False):
        self.foreach = foreach
        # The rule's keyword arguments; torch itself may add keys to `defaults` (e.g. when unpickling).
        self.hyperparameters = tuple(defaults)
        super().__init__(params, defaults)

    def __getstate__(self):
        # Optimizer.__getstate__ keeps only defaults, state and param_groups; copies and pickles need these too.
        return {**super().__getstate__(), "hyperparameters": self.hyperparameters, "foreach": self.foreach}

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [param for param in group["params"] if param.grad is not None]
            if params:
                hyper = {name: group[name] for name in self.hyperparameters}
                update = self._foreach_update if self.foreach else self._single_tensor_update
                update(params, hyper)
        return loss

    def _single_tensor_update(self, params, hyper):
        for param in params:
            new_param, new_state = self.rule(param, param.grad, dict(self.state[param]), **hyper)
            # backward() accumulates into .grad in place, so a buffer must never *be* the gradient
            # (a rule may return it as state, e.g. PyTorch's first momentum step).
            self.state[param] = {
                key: value.clone() if value is param.grad else value for key, value in new_state.items()
            }
            param.copy_(new_param)

    def _foreach_update(self, params, hyper):
        self.foreach_rule(params, [param.grad for param in params], [self.state[param] for param in params], **hyper)


def state_tensors(states, key, params):
    """For the foreach paths: the tensors `states[i][key]`, created as zeros like `params[i]` where missing."""
    for state, param in zip(states, params):
        if key not in state:
            state[key] = torch.zeros_like(param, memory_format=torch.preserve_format)
    return [state[key] for state in states]


def count_steps(states):
    """For the foreach paths: add one to every state's step count t and return the new counts.

    ``step`` is kept as a Python float, as the single-tensor rules keep it: a state_dict from torch holds a float32
    tensor, and bias corrections computed from one would lose float64 accuracy.
    """
    for state in states:
        state["step"] = float(state.get("step", 0)) + 1
    return [state["step"] for state in states]
