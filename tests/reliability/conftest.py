import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """The tiny models here run fastest on one thread, and a pool of intra-op threads slows them down tenfold when
    other processes compete for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
