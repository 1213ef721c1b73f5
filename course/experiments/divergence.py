"""When a training run counts as diverged: the views draw such a run as a curve that stops."""

# A loss this many times the run's first loss counts as diverged.
DIVERGENCE_FACTOR = 100.0


def diverged(loss, first_loss) -> bool:
    """True when `loss` is NaN, infinite or more than DIVERGENCE_FACTOR times `first_loss`."""
    return not loss < DIVERGENCE_FACTOR * first_loss  # written so that a NaN loss counts too
