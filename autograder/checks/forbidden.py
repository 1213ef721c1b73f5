"""What an answer must not call: the ready-made version of what its exercise asks for.

While `forbidding(names)` is active, each named function (a dotted path: "torch.nn.utils.clip_grad_norm_",
"torch.nn.functional.dropout", "reference_impl.clipping.clip_grad_norm") is replaced by one that fails with a
message naming it. The checks run only the student's answer inside it (their `forbidden=` argument), never the
reference, so an answer that hands the exercise to torch or to the answer key fails its hidden tests, whatever
it returns. The static scan of autograder/grading/integrity.py flags the same names in the answer's text; this
catches the calls the text hides (a helper, getattr, a module torch calls for you such as nn.GroupNorm).
"""

import contextlib
import importlib


@contextlib.contextmanager
def forbidding(names, exercise="the exercise"):
    """Within the block, calling any of the dotted `names` raises AssertionError; each is restored after it."""
    replaced = []
    try:
        for name in names:
            owner, attribute = _owner_and_attribute(name)
            if not hasattr(owner, attribute):
                continue  # not in this torch version (e.g. get_total_norm before 2.6): nothing to call
            replaced.append((owner, attribute, getattr(owner, attribute)))
            setattr(owner, attribute, _refusal(name, exercise))
        yield
    finally:
        for owner, attribute, original in reversed(replaced):
            setattr(owner, attribute, original)


def _refusal(name, exercise):
    def refuse(*args, **kwargs):
        raise AssertionError(
            f"your answer calls {name}, the ready-made version of what {exercise} asks you to "
            "write: write it yourself from the lesson's formulas."
        )

    return refuse


def _owner_and_attribute(name):
    """(the module or class holding the last part of dotted `name`, that part's name)."""
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):  # the longest importable module prefix, then attributes
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:-1]:
            owner = getattr(owner, part)
        return owner, parts[-1]
    raise ValueError(f"{name} names no importable function")
