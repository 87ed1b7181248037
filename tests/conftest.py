"""Shared fixtures: MNIST subsets, and one run of backend-specific tests per usable backend."""
import contextlib
import os

import numpy as np
import pytest

import fastnet
from fastnet.backends.cython import cpu_levels

# The Python processes the tests start (python -m fastnet.cli, python -c ...) import the installed fastnet, as a
# user's would, not the source tree of the working directory, which has no compiled extension in CI (where every
# subprocess silently fell back to Numba and compiled it). PYTHONSAFEPATH: Python 3.11+ leaves the working
# directory off sys.path.
os.environ["PYTHONSAFEPATH"] = "1"

SHARED_MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist")


def _mnist_directory():
    """FASTNET_DATA, the shared data beside the repository, or else the four files shipped inside the package."""
    from fastnet.datasets.mnist import EMBEDDED_DIRECTORY

    for candidate in (os.environ.get("FASTNET_DATA"), SHARED_MNIST, EMBEDDED_DIRECTORY):
        if candidate and os.path.isfile(os.path.join(candidate, "train-labels-idx1-ubyte.gz")):
            return candidate
    return None


# Where nothing may be skipped (CI sets FASTNET_NO_SKIPS=1), a skipped test fails, except for these: scikit-learn's
# own estimator checks that need what scikit-learn itself makes optional.
ALLOWED_SKIPS = ("SCIPY_ARRAY_API is not set", "pandas is not installed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With FASTNET_NO_SKIPS=1, a skip (a missing library, browser, data set...) is a failure that says why."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("FASTNET_NO_SKIPS") == "1" and report.skipped and not hasattr(report, "wasxfail") \
            and not any(allowed in str(report.longrepr) for allowed in ALLOWED_SKIPS):
        report.outcome = "failed"
        report.longrepr = f"skipped where FASTNET_NO_SKIPS=1 allows no skip: {report.longrepr}"


@pytest.fixture(scope="session")
def mnist_directory():
    """The folder holding the full MNIST .gz files (the package ships them; a broken install skips)."""
    directory = _mnist_directory()
    if directory is None:
        pytest.skip("the full MNIST is not available (set FASTNET_DATA)")
    return directory


@pytest.fixture(scope="session")
def mnist():
    """(train, test) of real MNIST: the full set when found, else the shipped sample."""
    return fastnet.datasets.load_mnist(_mnist_directory(), download=False, progress=False)


@pytest.fixture(params=fastnet.backends.available())
def backend(request):
    """Each usable backend in turn."""
    return request.param


def compiled_variants():
    """The compiled backends usable here, the Cython one once per CPU level this CPU runs ("cython@avx2")."""
    variants = []
    for name in fastnet.backends.available():
        if name == "cython":
            variants += [f"cython@{level}" for level in cpu_levels.runnable(fastnet.backends.load(name).EXTENSION)]
        elif name != "numpy":
            variants.append(name)
    return variants


@contextlib.contextmanager
def running(variant):
    """The backend name of ``variant`` (as compiled_variants names it), its CPU level in force in the block."""
    name, _, level = variant.partition("@")
    with cpu_levels.use(level) if level else contextlib.nullcontext():
        yield name


def random_problem(sizes, n, dtype=np.float64, seed=0, sparsity=0.0):
    """Inputs (n, sizes[0]) in [0, 1] with the given fraction of zeros, and int labels."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, sizes[0]))
    X[rng.random(X.shape) < sparsity] = 0
    return X.astype(dtype), rng.integers(0, sizes[-1], n)
