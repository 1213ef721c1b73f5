"""Checks of optimizers: pure update rules ``rule(param, grad[, state], *hyper)`` and torch.optim.Optimizer classes."""

import copy

import numpy as np
import torch

from .compare import RETURN_HINT, format_hyper, is_close
from .trajectory import check_trajectory

STATELESS = object()  # marks an update rule without state, e.g. gd_step(param, grad, lr)


def check_rule(
    student,
    reference,
    *,
    param,
    grads,
    hyper=(),
    state=STATELESS,
    names=("parameter",),
    mistakes=None,
    rtol=1e-6,
    atol=1e-10,
    what=None,
    forbidden=(),
):
    """Run `student` and `reference` side by side from the same start and compare every step.

    A rule is called as ``rule(param, grad, *hyper)`` returning the new parameter, or, when a starting
    `state` is given, ``rule(param, grad, state, *hyper)`` returning ``(new_param, new_state)``. The state
    may be an array, None (a buffer before the first step) or a dict, compared entry by entry. `names`
    names the outputs compared, in order (("parameter",) compares the parameter only). `reference` may be
    `torch_rule(...)`, to compare with PyTorch itself. `mistakes`: wrong rules with the student's signature.
    `forbidden`: functions the student's rule must not call (see forbidden.py).
    """
    what = what or getattr(student, "__name__", "your function")
    other_param, other_grads = _another_input(param, grads)
    check_trajectory(
        lambda rule, count: rule_trajectory(rule, param, grads[:count], hyper, state, names, what),
        student,
        reference,
        what=what,
        when=_after_step,
        mistakes=mistakes,
        rtol=rtol,
        atol=atol,
        given_by=reference.__name__ if hasattr(reference, "torch_optimizer") else "",
        another_case=lambda rule, count: rule_trajectory(
            rule, other_param, other_grads[:count], hyper, state, names, what
        ),
        forbidden=forbidden,
    )


def _another_input(param, grads):
    """A second parameter and gradients like the given ones: each entry's size scaled by 0.5 to 2, its sign drawn.

    Zeros stay zeros and sizes stay alike (a gradient much smaller than eps stays so), the rest is new.
    """
    rng = np.random.default_rng(0)

    def like(array):
        array = np.asarray(array, dtype=float)
        return array * rng.choice([-1.0, 1.0], size=array.shape) * rng.uniform(0.5, 2.0, size=array.shape)

    return like(param), [like(grad) for grad in grads]


def check_rule_with_state(
    student,
    reference,
    *,
    param,
    grads,
    hyper=(),
    state,
    mistakes=None,
    rtol=1e-6,
    atol=1e-10,
    what=None,
    forbidden=(),
):
    """`check_rule` for rules whose state is a dict, as torch.optim keeps it (e.g. ``{"step": 0, "exp_avg": …}``).

    The parameter and every entry of the reference's state are compared after each step.
    """
    check_rule(
        student,
        reference,
        param=param,
        grads=grads,
        hyper=hyper,
        state=state,
        names=("parameter", "state"),
        mistakes=mistakes,
        rtol=rtol,
        atol=atol,
        what=what,
        forbidden=forbidden,
    )


def check_rule_against_torch(
    student,
    optimizer_class,
    torch_hyper,
    *,
    param,
    grads,
    hyper=(),
    state=STATELESS,
    rtol=1e-6,
    atol=1e-10,
    what=None,
    forbidden=(),
):
    """Compare the parameters a pure rule produces with those `optimizer_class(**torch_hyper)` produces.

    torch's optimizer runs on a float64 copy of `param` fed the same gradients, so this checks a
    student's rule against PyTorch itself rather than against our reference. `forbidden`: functions the
    student's rule must not call (see forbidden.py).
    """
    what = what or getattr(student, "__name__", "your function")
    torch_answer = torch_rule(optimizer_class, torch_hyper)

    def parameters(rule, count):
        start = {} if rule is torch_answer else state
        return rule_trajectory(rule, param, grads[:count], hyper, start, ("parameter",), what)

    check_trajectory(
        parameters,
        student,
        torch_answer,
        what=what,
        when=_after_step,
        rtol=rtol,
        atol=atol,
        given_by=torch_answer.__name__,
        forbidden=forbidden,
    )


def torch_rule(optimizer_class, torch_hyper):
    """torch.optim's `optimizer_class(**torch_hyper)` as a pure rule ``(param, grad, state, *_) -> (param, state)``.

    The state dict uses torch's own keys and holds arrays; each call loads it into a fresh optimizer
    on a float64 copy of `param`, takes one step and reads the state back, so `check_rule_with_state`
    can compare a student's rule and its state with PyTorch. Positional hyperparameters (the
    student's) are ignored: torch's come from `torch_hyper`.
    """

    def rule(param, grad, state, *_ignored):
        tensor = torch.tensor(np.asarray(param, dtype=float), requires_grad=True)
        tensor.grad = torch.tensor(np.asarray(grad, dtype=float))
        optimizer = optimizer_class([tensor], **torch_hyper)
        if state:
            optimizer.state[tensor] = {
                key: torch.tensor(np.asarray(value, dtype=float)) for key, value in state.items()
            }
        optimizer.step()
        new_state = {key: value.detach().numpy().copy() for key, value in optimizer.state[tensor].items()}
        return tensor.detach().numpy().copy(), new_state

    rule.__name__ = f"torch.optim.{optimizer_class.__name__}({format_hyper(torch_hyper)})"
    rule.torch_optimizer = optimizer_class
    return rule


def rule_trajectory(rule, param, grads, hyper=(), state=STATELESS, names=("parameter",), what="the update rule"):
    """The records of `rule` after each gradient in `grads`: ``[{"your parameter": …, "your buffer": …}, …]``.

    Inputs are copied before every call, and a rule that changes one in place is reported, since the
    lessons' rules must be pure functions.
    """
    records = []
    for grad in grads:
        args = (param, grad) if state is STATELESS else (param, grad, state)
        before = copy.deepcopy(_named_inputs(*args))
        result = rule(*args, *hyper)
        after = _named_inputs(*args)
        for name, original in before.items():
            # Exactly equal, NaN where the input held NaN included (a NaN returned earlier is not a change).
            if name not in after or not is_close(after[name], original, rtol=0, atol=0):
                example = (
                    "`m = beta1 * m + …`, not `m *= beta1`"
                    if name.startswith("state")
                    else ("`param - lr * grad`, not `param -= lr * grad`")
                )
                raise AssertionError(
                    f"{what} changed its input `{name}` in place: compute and return new values (e.g. {example})."
                )
        if state is STATELESS:
            param = result
            outputs = (result,)
        else:
            wants_dict = isinstance(state, dict)
            if not (isinstance(result, tuple) and len(result) == 2 and (isinstance(result[1], dict) or not wants_dict)):
                raise AssertionError(
                    f"{what} must return a pair (new_param, new_state)"
                    f"{' with new_state a dict' if wants_dict else ''}, got {type(result).__name__}."
                )
            param, state = outputs = result
        records.append(_record(names, outputs))
    return records


def _record(names, outputs):
    """{"your parameter": …, "your state['step']": …}: a dict state (torch.optim's form) entry by entry."""
    record = {}
    for name, output in zip(names, outputs):
        if isinstance(output, dict):
            record.update({f"your {name}[{key!r}]": value for key, value in output.items()})
        else:
            record[f"your {name}"] = output
    return record


def _named_inputs(param, grad, state=None):
    """What a rule must leave unchanged, by name: param, grad, and the state (each entry of a dict state)."""
    if isinstance(state, dict):
        return {"param": param, "grad": grad, **{f"state[{key!r}]": value for key, value in state.items()}}
    return {"param": param, "grad": grad, **({} if state is None else {"state": state})}


def check_optimizer(
    student_class,
    reference_class,
    hyper,
    *,
    steps=20,
    seed=0,
    mistakes=None,
    rtol=1e-6,
    atol=1e-9,
    round_trip_at=None,
    forbidden=(),
):
    """Compare a student's torch optimizer with `reference_class` over `steps` random-gradient steps.

    Both are built as ``cls(params, **hyper)`` on identical float64 parameters (one of which never
    receives a gradient) and get the same random gradients. With `round_trip_at`, each optimizer is
    rebuilt from its state_dict at that step, so a state that does not survive saving and loading is
    caught. `mistakes`: wrong optimizer classes, or callables ``(params, **hyper) -> optimizer``. `forbidden`:
    functions the student's optimizer must not call (see forbidden.py).
    """

    def note(index):
        if round_trip_at is None or index < round_trip_at:
            return ""
        return (
            f" It matched before the state_dict round trip at step {round_trip_at}: keep all per-parameter "
            "state in self.state[p] so it is saved and restored."
        )

    def run(seed_of_case):
        return lambda optimizer_class, count: optimizer_trajectory(
            optimizer_class, hyper, count or steps, seed_of_case, round_trip_at
        )

    check_trajectory(
        run(seed),
        student_class,
        reference_class,
        what=f"{student_class.__name__}({format_hyper(hyper)})",
        when=_after_step,
        mistakes=mistakes,
        rtol=rtol,
        atol=atol,
        note=note,
        given_by="torch",
        another_case=run(seed + 1),  # other parameters and gradients
        forbidden=forbidden,
    )


def check_optimizer_in_training_loop(
    student_class,
    reference_class,
    hyper,
    *,
    what,
    steps=6,
    closure=False,
    through_views=False,
    set_to_none=True,
    between_steps=None,
    mistakes=None,
    forbidden=(),
    why_none=RETURN_HINT,
):
    """Compare a student's torch optimizer with `reference_class` after each step of a short training loop.

    Both are built as ``cls(groups, **hyper)`` over two float64 parameters in two groups, the first with half
    the lr, and trained `steps` steps on a weighted sum of squares; the parameters are compared after each
    step. The options exercise what a real loop relies on: with `closure`, step(closure) computes the
    gradients, and the number of closure calls and what step returned are compared too; with
    set_to_none=False, zero_grad() zeroes each .grad in place and backward adds into it; with
    `through_views`, the parameters are read through p.detach(), which shares their memory.
    ``between_steps(optimizer, step)`` runs after each step (changing param_groups as a scheduler does, say)
    and returns the optimizer to go on with, or None where none can: the parameters are None from then on,
    and `why_none` says why. `what` names the loop in the failure message; `mistakes`: wrong optimizer
    classes; `forbidden`: functions the student's optimizer must not call (see forbidden.py).
    """
    options = {
        "closure": closure,
        "through_views": through_views,
        "set_to_none": set_to_none,
        "between_steps": between_steps,
    }
    check_trajectory(
        lambda optimizer_class, count: _training_loop(optimizer_class, hyper, count or steps, **options),
        student_class,
        reference_class,
        what=what,
        when=_after_step,
        mistakes=mistakes,
        given_by="torch",
        why_none=why_none,
        forbidden=forbidden,
    )


def _training_loop(optimizer_class, hyper, steps, *, closure, through_views, set_to_none, between_steps):
    """The records of `check_optimizer_in_training_loop`: the parameters after each step and, with `closure`,
    the closure's calls so far and what step(closure) returned."""
    generator = torch.Generator().manual_seed(0)
    params = [torch.randn(shape, generator=generator, dtype=torch.float64, requires_grad=True) for shape in [3, 4]]
    weights = [torch.rand(param.shape, generator=generator, dtype=torch.float64) + 0.5 for param in params]
    optimizer = optimizer_class([{"params": params[:1], "lr": hyper["lr"] / 2}, {"params": params[1:]}], **hyper)
    watched = [param.detach() for param in params] if through_views else params
    closure_calls = 0

    def loss_and_gradients():
        nonlocal closure_calls
        closure_calls += 1
        if not torch.is_grad_enabled():
            raise AssertionError(
                "step(closure) runs the closure with gradients disabled: call it inside torch.enable_grad(), "
                "as torch.optim does."
            )
        optimizer.zero_grad(set_to_none=set_to_none)
        loss = sum((weight * param**2).sum() for weight, param in zip(weights, params))
        loss.backward()
        return loss

    records = []
    for step in range(1, steps + 1):
        if optimizer is None:
            records.append(dict.fromkeys(records[-1]))
            continue
        if closure:
            returned = optimizer.step(loss_and_gradients)
            record = {
                "the number of closure calls so far": closure_calls,
                "the value step(closure) returned": returned,
            }
        else:
            loss_and_gradients()
            optimizer.step()
            record = {}
        records.append({**record, **{f"parameter {i}": value.detach().clone() for i, value in enumerate(watched)}})
        optimizer = between_steps(optimizer, step) if between_steps else optimizer
    return records


def optimizer_trajectory(optimizer_class, hyper, steps, seed, round_trip_at=None):
    """The parameters after each step, ``[{"parameter 0": …, …}, …]``, of `optimizer_class(params, **hyper)`."""
    generator = torch.Generator().manual_seed(seed)
    shapes = [(3, 4), (5,), (2, 3, 2), (4,)]
    params = [torch.randn(shape, generator=generator, dtype=torch.float64, requires_grad=True) for shape in shapes]
    optimizer = optimizer_class(params, **hyper)
    records = []
    for step in range(1, steps + 1):
        for param in params[:-1]:  # the last parameter never gets a gradient and must not move
            param.grad = torch.randn(param.shape, generator=generator, dtype=torch.float64)
        optimizer.step()
        records.append({f"parameter {index}": param.detach().clone() for index, param in enumerate(params)})
        if step == round_trip_at:
            saved = copy.deepcopy(optimizer.state_dict())
            optimizer = optimizer_class(params, **hyper)
            optimizer.load_state_dict(saved)
    return records


def _after_step(index):
    return f"after step {index + 1}, "
