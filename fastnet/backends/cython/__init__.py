"""The Cython backend: kernels compiled when fastnet is installed (the digit network: ``mlp`` over the
extension ``_mlp_kernels``; the GPT: ``gpt`` over ``_gpt_kernels``; both over the C row operations of
``rows.h`` and ``gpt_rows.h``, at the CPU level ``cpu_levels`` chooses)."""
import importlib

from .. import contract
from . import cpu_levels


def load_extension(name, drivers):
    """(extension, {driver name: function}): the extension ``name`` built at install, its drivers checked against
    the contract's table ``drivers``, its C code set to this CPU's level. ImportError, saying why, when the
    extension was not built (no C compiler at install) or breaks the contract."""
    try:
        extension = importlib.import_module(f"{__name__}.{name}")
    except ImportError as exc:
        raise ImportError(f"the compiled extension {__name__}.{name} was not built when fastnet was installed (was a "
                          f"C compiler available?): {exc}") from None
    found = {driver: getattr(extension, driver, None) for driver in drivers}
    contract.check_drivers("Cython", found, drivers)
    cpu_levels.configure(extension)
    return extension, found

