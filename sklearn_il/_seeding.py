"""Every seed the library draws, from one ``random_state``, in named streams.

A site that needs randomness asks :class:`SeedStreams` for its stream by
name. A stream's seeds depend only on ``random_state``, the stream's name
and the index asked for: adding a stream, or drawing more from one, never
changes another stream's values. The names in use are listed in
``STREAMS``, so that all of them are seen in one place.

Torch's random draws (weight initialisation, noise in a forward pass) go
through :func:`torch_seeded`, which seeds and then restores the generators
of the CPU and of the device in use: the caller's global states are left as
they were, on every device.
"""

import zlib
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import torch

STREAMS = {
    "init": "weight initialisation and noise drawn inside a policy's fit",
    "shuffle": "the order of minibatches",
    "split": "the episodes held out by early_stopping",
    "game": "FDivergenceBC's adversarial phase",
    "sample": "a fitted policy's sample(X, random_state=...)",
    "rollout": "the env seed of each episode (index: episode, or round of a wrapper)",
    "agent": "the choices of an interactive wrapper's agent in each round",
    "dynamics": "the dynamics model CorrectiveAugmenter fits",
    "labels": "the perturbations and goals a resampler draws",
    "expert": "the resets of an expert queried repeatedly (inspection)",
}


class SeedStreams:
    """Named, independent seed streams drawn from one ``random_state``.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        An int gives the same streams every time; a ``RandomState`` is
        drawn from once (so two ``SeedStreams`` made from it differ, as
        scikit-learn's estimators do with one); None takes fresh entropy.
    """

    def __init__(self, random_state):
        if random_state is None:
            self.entropy = np.random.SeedSequence().entropy
        elif isinstance(random_state, np.random.RandomState):
            self.entropy = int(random_state.randint(np.iinfo(np.int32).max))
        elif isinstance(random_state, Integral) and not isinstance(random_state, bool):
            self.entropy = int(random_state)
        else:
            raise ValueError(
                f"random_state must be an int, a numpy RandomState or None; got {random_state!r}."
            )

    def seed(self, name, index=0):
        """The ``index``-th seed of stream ``name``: an int in [0, 2**32)."""
        if name not in STREAMS:
            raise KeyError(f"unknown seed stream {name!r}; the streams are {sorted(STREAMS)}.")
        key = (zlib.crc32(name.encode()), int(index))
        return int(np.random.SeedSequence(self.entropy, spawn_key=key).generate_state(1)[0])

    def seeds(self, name, n):
        """The first ``n`` seeds of stream ``name``."""
        return [self.seed(name, i) for i in range(int(n))]


@contextmanager
def torch_seeded(seed, device="cpu"):
    """Run the block with torch's CPU generator, and ``device``'s, seeded.

    Both are restored on exit. ``torch.manual_seed`` would seed the global
    generator of every CUDA device as well, and ``fork_rng`` restores only
    the devices it is given: so each generator is seeded here on its own.
    """
    device = torch.device(device)
    if device.type == "cpu":
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            yield
        return
    backend = torch.get_device_module(device.type)
    index = backend.current_device() if device.index is None else device.index
    with torch.random.fork_rng(devices=[index], device_type=device.type):
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            torch.cuda.default_generators[index].manual_seed(seed)
        else:  # single-device backends (e.g. mps) have one generator
            backend.manual_seed(seed)
        yield
