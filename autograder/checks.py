"""Comparisons called by the lessons' self-checks and hidden tests.

Each check raises AssertionError with a message that says in words what differs, at which step, and,
when the answer matches a known wrong variant, which mistake it looks like.
"""
import copy

import numpy as np
import torch

STATELESS = object()  # marks an update rule without state, e.g. gd_step(param, grad, lr)


def describe(value) -> str:
    """A short, readable rendering of a number or array for a failure message."""
    array = np.asarray(value, dtype=float)
    if array.size <= 6:
        return np.array2string(array, precision=5, separator=", ")
    return f"an array of shape {array.shape} starting {np.array2string(array.ravel()[:3], precision=5, separator=', ')}"


def is_close(actual, expected, rtol=1e-6, atol=1e-10) -> bool:
    actual, expected = _as_float_array(actual), _as_float_array(expected)
    return actual.shape == expected.shape and np.allclose(actual, expected, rtol=rtol, atol=atol)


def assert_close(actual, expected, what, rtol=1e-6, atol=1e-10, hint=""):
    """Fail unless `actual` equals `expected` within tolerance; `what` names the quantity."""
    if actual is None:
        raise AssertionError(f"{what} is None: did you forget to return it?")
    actual_array, expected_array = _as_float_array(actual), _as_float_array(expected)
    if actual_array.shape != expected_array.shape:
        raise AssertionError(f"{what} has shape {actual_array.shape}, expected {expected_array.shape}.")
    if not np.allclose(actual_array, expected_array, rtol=rtol, atol=atol):
        raise AssertionError(f"{what} is {describe(actual)}, expected {describe(expected)}.{hint}")


def check_rule(student, reference, *, param, grads, hyper=(), state=STATELESS, names=("parameter",),
               mistakes=None, rtol=1e-6, atol=1e-10, what=None):
    """Run `student` and `reference` side by side from the same start and compare every step.

    A rule is called as ``rule(param, grad, *hyper)`` returning the new parameter, or, when a starting
    `state` is given, ``rule(param, grad, state, *hyper)`` returning ``(new_param, new_state)``.
    `names` names the outputs in messages; `mistakes` maps a description of a known mistake to a
    rule that makes it, so a wrong answer is told which mistake it matches.
    """
    what = what or getattr(student, "__name__", "your function")
    expected = trajectory(reference, param, grads, hyper, state)
    actual = trajectory(student, param, grads, hyper, state, what=what)
    for step, (actual_outputs, expected_outputs) in enumerate(zip(actual, expected), start=1):
        for name, got, want in zip(names, actual_outputs, expected_outputs):
            if is_close(got, want, rtol, atol):
                continue
            message = f"{what}: after step {step}, your {name} is {describe(got)}, expected {describe(want)}."
            diagnosis = diagnose(actual[:step], mistakes or {}, param, grads[:step], hyper, state, rtol, atol)
            raise AssertionError(message + (f" That is what you get if you {diagnosis}." if diagnosis else ""))


def trajectory(rule, param, grads, hyper=(), state=STATELESS, what="the update rule"):
    """The outputs of `rule` after each gradient in `grads`: a list of tuples (param[, state]).

    Inputs are copied before every call, and a rule that changes its inputs in place is reported,
    since the lessons' rules must be pure functions.
    """
    outputs = []
    for grad in grads:
        args = (param, grad) if state is STATELESS else (param, grad, state)
        before = copy.deepcopy(args)
        result = rule(*args, *hyper)
        for name, original, now in zip(("param", "grad", "state"), before, args):
            if original is not None and not is_close(now, original, rtol=0, atol=0):
                raise AssertionError(f"{what} changed its input `{name}` in place: compute and return new values "
                                     "(e.g. `param - lr * grad`, not `param -= lr * grad`).")
        if state is STATELESS:
            param = result
            outputs.append((param,))
        else:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise AssertionError(f"{what} must return a pair (new_param, new_state), got {type(result).__name__}.")
            param, state = result
            outputs.append(result)
    return outputs


def diagnose(actual, mistakes, param, grads, hyper, state, rtol, atol):
    """The description of the first known mistake whose outputs reproduce `actual`, else None."""
    for description, wrong_rule in mistakes.items():
        try:
            wrong = trajectory(wrong_rule, param, grads, hyper, state)
        except Exception:  # a wrong variant that cannot run on these inputs simply does not match
            continue
        if all(is_close(a, w, rtol, atol) for got, want in zip(actual, wrong) for a, w in zip(got, want)):
            return description
    return None


def check_rule_against_torch(student, optimizer_class, torch_hyper, *, param, grads, hyper=(), state=STATELESS,
                             rtol=1e-6, atol=1e-10, what=None):
    """Compare the parameters a pure rule produces with those `optimizer_class(**torch_hyper)` produces.

    torch's optimizer runs on a float64 copy of `param` fed the same gradients, so this checks a
    student's rule against PyTorch itself rather than against our reference.
    """
    what = what or getattr(student, "__name__", "your function")
    tensor = torch.tensor(np.asarray(param, dtype=float), requires_grad=True)
    optimizer = optimizer_class([tensor], **torch_hyper)
    actual = trajectory(student, param, grads, hyper, state, what=what)
    for step, (outputs, grad) in enumerate(zip(actual, grads), start=1):
        tensor.grad = torch.tensor(np.asarray(grad, dtype=float))
        optimizer.step()
        if not is_close(outputs[0], tensor, rtol, atol):
            raise AssertionError(
                f"{what}: after step {step}, your parameter is {describe(outputs[0])}, but "
                f"torch.optim.{optimizer_class.__name__}({_format_hyper(torch_hyper)}) gives {describe(tensor)}.")


def check_optimizer(student_class, reference_class, hyper, *, steps=20, seed=0, mistakes=None,
                    rtol=1e-6, atol=1e-9, round_trip_at=None):
    """Compare a student's torch optimizer with `reference_class` over `steps` random-gradient steps.

    Both get identical float64 parameters (one of which never receives a gradient) and the same
    random gradients. With `round_trip_at`, the student's optimizer is rebuilt from its state_dict at
    that step, so a state that does not survive saving and loading is caught. `mistakes` maps a
    description to changed hyperparameters for the reference (e.g. ``{"ignore weight decay":
    {"weight_decay": 0}}``), used to name a mismatch.
    """
    what = student_class.__name__
    expected = _optimizer_trajectory(reference_class, hyper, steps, seed)
    actual = _optimizer_trajectory(student_class, hyper, steps, seed, round_trip_at=round_trip_at)
    for step, (got, want) in enumerate(zip(actual, expected), start=1):
        for index, (g, w) in enumerate(zip(got, want)):
            if is_close(g, w, rtol, atol):
                continue
            message = (f"{what}({_format_hyper(hyper)}): after step {step}, parameter {index} is {describe(g)}, "
                       f"expected {describe(w)} as torch gives.")
            if round_trip_at is not None and step > round_trip_at and all(
                    is_close(a, b, rtol, atol) for a, b in zip(actual[round_trip_at - 1], expected[round_trip_at - 1])):
                message += (f" It matched before the state_dict round trip at step {round_trip_at}: keep all "
                            "per-parameter state in self.state[p] so it is saved and restored.")
            for description, changes in (mistakes or {}).items():
                changed = {**hyper, **changes}
                if changed != hyper and _matches(actual[:step], _optimizer_trajectory(reference_class, changed, step, seed), rtol, atol):
                    message += f" That is what you get if you {description}."
                    break
            raise AssertionError(message)


def _optimizer_trajectory(optimizer_class, hyper, steps, seed, round_trip_at=None):
    generator = torch.Generator().manual_seed(seed)
    shapes = [(3, 4), (5,), (2, 3, 2), (4,)]
    params = [torch.randn(shape, generator=generator, dtype=torch.float64, requires_grad=True) for shape in shapes]
    optimizer = optimizer_class(params, **hyper)
    history = []
    for step in range(1, steps + 1):
        for param in params[:-1]:  # the last parameter never gets a gradient and must not move
            param.grad = torch.randn(param.shape, generator=generator, dtype=torch.float64)
        optimizer.step()
        history.append([param.detach().clone() for param in params])
        if step == round_trip_at:
            saved = copy.deepcopy(optimizer.state_dict())
            optimizer = optimizer_class(params, **hyper)
            optimizer.load_state_dict(saved)
    return history


def _matches(actual, expected, rtol, atol):
    return all(is_close(a, e, rtol, atol) for got, want in zip(actual, expected) for a, e in zip(got, want))


def _format_hyper(hyper):
    return ", ".join(f"{name}={value!r}" for name, value in hyper.items())


def _as_float_array(value):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)
