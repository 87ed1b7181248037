# The CPU level of an extension's C row functions (see rows.h and cpu_levels.py). Included by each
# .pyx after it defines _point_rows_at(level) and _rows_level() for the row functions it holds.


def cpu_level():
    """The highest CPU level this CPU runs and this build holds: 0 baseline x86-64, 1 AVX2 with FMA, 2 AVX-512."""
    return fastnet_cpu_level()


def use_level(int level):
    """Run every row function's code for ``level`` from now on (``fastnet.backends.cython.cpu_levels`` chooses it)."""
    if not 0 <= level <= fastnet_cpu_level():
        raise ValueError(f"level must be between 0 and {fastnet_cpu_level()} on this CPU; got {level}")
    _point_rows_at(level)


def level_in_use():
    """The level the row functions run at now, read back from their pointers."""
    return _rows_level()


_point_rows_at(fastnet_cpu_level())  # the CPU's best until cpu_levels.configure says otherwise
