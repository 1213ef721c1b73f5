"""Known wrong answers, one module per lesson, so failing tests can name the student's mistake.

Each catalogue maps a description that completes "That is what you get if you ..." to a wrong answer with the
exercise's signature, which is what `mistakes=` means in every check of autograder.checks. Each module's
EXERCISES lists its catalogues by graded cell; tests/test_lesson_mistakes.py feeds every wrong answer to the
lesson's own graded cell and expects its description in the failure, both from the whole cell and from its visible
self-check alone (the cell as the student's release holds it, without its hidden tests). A module may list in
HIDDEN_ONLY = {exercise: {description: reason}} the mistakes only the hidden tests catch, each with the reason in
words why a visible check under a second cannot or should not catch it; that self-check then says, in a line
starting "Only the hidden tests", what they cover. No lesson needs one at present.

The builders below serve every lesson with a torch.optim.Optimizer exercise: each takes torch's own class and
breaks one part of the contract.
"""


def optimizer_ignoring(optimizer_class, **fixed):
    """A wrong Optimizer class: `optimizer_class` ignoring the hyperparameters in `fixed`, always using these values."""

    def wrong(params, **hyper):
        return optimizer_class(params, **{**hyper, **fixed})

    return wrong


def reading_hyperparameters_once(optimizer_class):
    """`optimizer_class` stepping with the hyperparameters it was built with, whatever param_groups says later."""

    class HyperparametersFromInit(optimizer_class):
        def __init__(self, params, **hyper):
            super().__init__(params, **hyper)
            self.initial_groups = [dict(group) for group in self.param_groups]

        def step(self, closure=None):
            current, self.param_groups = self.param_groups, [dict(group) for group in self.initial_groups]
            try:
                return super().step(closure)
            finally:
                self.param_groups = current

    return HyperparametersFromInit


def ignoring_the_closure(optimizer_class):
    """`optimizer_class` whose step(closure) never calls the closure."""

    class ClosureIgnored(optimizer_class):
        def step(self, closure=None):
            return super().step()

    return ClosureIgnored


def dropping_the_loss(optimizer_class):
    """`optimizer_class` whose step(closure) calls the closure but returns None."""

    class LossDropped(optimizer_class):
        def step(self, closure=None):
            super().step(closure)

    return LossDropped


def replacing_the_parameters(optimizer_class):
    """`optimizer_class` giving each parameter new memory (p.data = new_p) instead of writing into it in place."""

    class DataReplaced(optimizer_class):
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.data = p.data.clone()  # torch's step then writes into this new memory only
            return super().step(closure)

    return DataReplaced


def keeping_state_under(optimizer_class, names):
    """`optimizer_class` keeping each parameter's state under other names than torch's (`names`: torch's -> its own)."""

    class StateRenamed(optimizer_class):
        def step(self, closure=None):
            self.rename({own: torch_name for torch_name, own in names.items()})
            try:
                return super().step(closure)
            finally:
                self.rename(names)

        def rename(self, new_names):
            for state in self.state.values():
                for old, new in new_names.items():
                    if old in state:
                        state[new] = state.pop(old)

    return StateRenamed


def breaking_the_step_contract(optimizer_class):
    """The wrong optimizers that break what every torch.optim step promises, built from `optimizer_class`
    (torch's own), by description: hyperparameters read from param_groups at every step, the closure called and
    its loss returned, the parameters written in place."""
    return {
        "read the hyperparameters once, when the optimizer is built, instead of from self.param_groups at every step "
        "(a scheduler's changes to group['lr'] are then ignored)": reading_hyperparameters_once(optimizer_class),
        "never call the closure (step(closure) calls it, under torch.enable_grad(), and returns its "
        "loss)": ignoring_the_closure(optimizer_class),
        "call the closure but return None instead of its loss": dropping_the_loss(optimizer_class),
        "give each parameter new memory (p.data = new_p) instead of writing into it (p.copy_(new_p)): whatever "
        "shares the parameter's memory misses the step": replacing_the_parameters(optimizer_class),
    }


def answer_key_optimizer(module, *names):
    """The dotted names of the answer key's `names` in reference_impl.optim.<module>, and as reference_impl.optim
    re-exports them: a function is blocked under the name the answer reaches it by."""
    return tuple(f"reference_impl.optim.{where}{name}" for name in names for where in (f"{module}.", ""))
