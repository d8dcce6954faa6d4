"""Keep torch to one thread for the harness tests (the CI machine has 2 shared cores)."""

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
