"""Known wrong answers, one module per lesson, so failing tests can name the student's mistake.

Each catalogue maps a description that completes "That is what you get if you ..." to a wrong answer with the
exercise's signature, which is what `mistakes=` means in every check of autograder.checks. Each module's
EXERCISES lists its catalogues by graded cell; tests/test_lesson_mistakes.py feeds every wrong answer to the
lesson's own graded cell and expects its description in the failure.
"""


def optimizer_ignoring(optimizer_class, **fixed):
    """A wrong Optimizer class: `optimizer_class` ignoring the hyperparameters in `fixed`, always using these values."""

    def wrong(params, **hyper):
        return optimizer_class(params, **{**hyper, **fixed})

    return wrong
