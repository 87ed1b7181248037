# The CPU level of an extension's C row functions (see rows.h and cpu_levels.py). Included by each .pyx
# after the header of its row functions, which names the extension's fastnet_use_level and fastnet_level_in_use.

cdef extern from *:
    int fastnet_cpu_level() nogil
    void fastnet_use_level(int level) nogil
    int fastnet_level_in_use() nogil


def cpu_level():
    """The highest CPU level this CPU runs and this build holds: 0 baseline x86-64, 1 AVX2 with FMA, 2 AVX-512."""
    return fastnet_cpu_level()


def use_level(int level):
    """Run every row function's code for ``level`` from now on (``fastnet.backends.cython.cpu_levels`` chooses it)."""
    if not 0 <= level <= fastnet_cpu_level():
        raise ValueError(f"level must be between 0 and {fastnet_cpu_level()} on this CPU; got {level}")
    fastnet_use_level(level)


def level_in_use():
    """The level the row functions run at now, read back from their pointers."""
    return fastnet_level_in_use()


fastnet_use_level(fastnet_cpu_level())  # the CPU's best until cpu_levels.configure says otherwise
