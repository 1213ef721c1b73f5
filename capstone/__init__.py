"""The GPU capstones' code: the CIFAR-10 reader (`cifar10`), augmentation on the device (`augment`), the training
recipes (`recipes`) and the trainer (`trainer`), used by notebooks 08/09 and the command line alike:

    python -m capstone.cifar10 [--download]     # where CIFAR-10 is expected, and whether it is there
    python -m capstone --help                   # train a CIFAR ResNet (torchrun for several GPUs)

Nothing is imported here, so that `python -m capstone.cifar10` runs its module exactly once.
"""
