"""``python -m reference_impl.data [--download]``: check for CIFAR-10 where the course expects it, or fetch it."""
from .cifar10 import main

raise SystemExit(main())
