"""Comparisons called by the lessons' self-checks and hidden tests, as ``checks.check_rule(...)`` etc.

Each check raises AssertionError with a message that says in words what differs, where (which entry, at
which step) and, when the answer behaves like a known wrong answer, which mistake it looks like:
"… That is what you get if you forget the bias."

``mistakes=`` means the same in every check: a dict mapping a description, which completes the sentence
"That is what you get if you …", to a wrong answer of the same kind as the one checked, called exactly as
the student's answer is called: a wrong function for `check_function`, a wrong rule for `check_rule`, a wrong
schedule for `check_schedule`, a wrong Optimizer class for `check_optimizer`, a wrong nn.Module class for
`check_module`. The check runs each wrong answer on the same inputs as the student's and names the first one
that gives the same values, up to the first place where the student's answer differs from the reference.

A mistake is named only when it reproduces the student's answer on more than one case, since a wrong answer
can coincide with another on particular data (only negative gradients, say). The one runner,
`check_trajectory`, asks each check for a second, independent input of its kind (`another_case`) and
requires the mistake to give what the student's answer gives there too: for an optimizer or a module, the
same check under the next seed (other parameters, weights and gradients); for an update rule, a parameter
and gradients like the given ones, each entry's sign drawn and its size scaled by 0.5 to 2 (zeros kept); for
a schedule, whose steps are inputs of their own, the steps after the first difference (none when it is the
last). A check of one call
on inputs the lesson chose (`check_function`, `check_in_place`, `check_statistics`) has no second input it
could make without knowing what the inputs mean (a Hessian, a cache, a model): it names a mistake on that
call, so the lessons give it data on which their catalogued mistakes differ, and tests/test_lesson_mistakes.py
holds every catalogued mistake to its own description (an earlier one coinciding on the data would be
named instead). An answer that fails on the second input is named no mistake.
The catalogues in autograder/mistakes/ hold such wrong answers with each exercise's signature; where a
lesson checks something built from the answer (``first_output(layer_norm_forward)``), it builds the wrong
ones the same way.

Layout, one idea a module:
- compare.py: `first_difference` (where two values first differ: numbers, arrays, tensors, dicts, tuples,
  lists, None), `mistake_hint`, `describe`, `is_close`, `assert_close`, and `named_values`, by which the checks of
  functions name the values of a tuple an answer returns (their `names=`: ``dx``, never ``the result[0]``);
- trajectory.py: `check_trajectory`, the one loop every check below runs (record, compare, name the mistake);
- evidence.py: in a grading kernel, what each comparison compared, written for the grader to judge again
  (autograder/grading/judge.py);
- forbidden.py: `forbidding`, what an answer must not call (every check's `forbidden=`);
- functions.py: plain functions (`check_function`, `check_function_on_fresh_inputs`, `first_output`);
- optimizers.py: update rules and torch.optim.Optimizer classes (`check_rule`, `check_rule_with_state`,
  `check_rule_against_torch`, `torch_rule`, `check_optimizer`, `check_optimizer_in_training_loop`);
- modules.py: torch modules (`check_module`);
- schedules.py: learning-rate schedules (`check_schedule`, `torch_schedule_values`);
- statistics.py: random functions (`check_statistics`, `binomial_tolerance`, `sample_variance_tolerance`);
- in_place.py: functions that change their inputs (`check_in_place`, `parameters_from`,
  `parameter_observations`, and wrappers of a gradient-clipping answer: `held_gradients`, whose values
  `held_gradient_names` names, `through_a_generator`, `returns_a_tensor`).

Notebooks import this package, so it imports nothing heavier than NumPy and torch. The public functions are
plain attributes of this module, which the grading kernel's guard (autograder/grading/kernel_guard.py) protects.
"""

from .compare import assert_close, describe, first_difference, is_close, mistake_hint
from .forbidden import forbidding
from .functions import check_function, check_function_on_fresh_inputs, first_output
from .in_place import (
    check_in_place,
    held_gradient_names,
    held_gradients,
    parameter_observations,
    parameters_from,
    returns_a_tensor,
    through_a_generator,
)
from .modules import check_module
from .optimizers import (
    STATELESS,
    check_optimizer,
    check_optimizer_in_training_loop,
    check_rule,
    check_rule_against_torch,
    check_rule_with_state,
    torch_rule,
)
from .schedules import check_schedule, torch_schedule_values
from .statistics import binomial_tolerance, check_statistics, sample_variance_tolerance
from .trajectory import check_trajectory

__all__ = [
    "STATELESS",
    "assert_close",
    "binomial_tolerance",
    "check_function",
    "check_function_on_fresh_inputs",
    "check_in_place",
    "check_module",
    "check_optimizer",
    "check_optimizer_in_training_loop",
    "check_rule",
    "check_rule_against_torch",
    "check_rule_with_state",
    "check_schedule",
    "check_statistics",
    "check_trajectory",
    "describe",
    "first_difference",
    "first_output",
    "forbidding",
    "held_gradient_names",
    "held_gradients",
    "is_close",
    "mistake_hint",
    "parameter_observations",
    "parameters_from",
    "returns_a_tensor",
    "sample_variance_tolerance",
    "through_a_generator",
    "torch_rule",
    "torch_schedule_values",
]
