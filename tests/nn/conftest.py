"""Keep torch to one thread (the CI machine has 2 shared cores); small GAN fixtures."""

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
