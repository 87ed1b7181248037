"""Build script for fastnet's optional compiled extension.

Every ``fastnet/backends/cython/*.pyx`` file is compiled into an extension module of
the same name. The extension is optional: when Cython or a C compiler is
missing, or compilation fails, the install still succeeds with the pure-Python
package and says so; ``fastnet info`` then explains why the Cython backend is
unavailable. Package metadata lives in pyproject.toml.

Flags are portable (-O3 -fno-math-errno) by default; FASTNET_NATIVE=1 adds -march=native for a
build tuned to the local CPU (never use it for a wheel you distribute).
"""
import glob
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

PYX_SOURCES = sorted(glob.glob(os.path.join("fastnet", "backends", "cython", "*.pyx")))


def compile_args():
    args = ["-O3", "-fno-math-errno"]  # errno is never read; without it, loops of sqrt vectorise
    if os.environ.get("FASTNET_NATIVE") == "1":
        args.append("-march=native")
    return args


def extensions():
    """The Cython extensions to build, or [] when there is nothing to build or no Cython."""
    if not PYX_SOURCES:
        return []
    try:
        import numpy
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError as exc:
        print(f"fastnet: building without the compiled extension ({exc})", file=sys.stderr)
        return []
    modules = [
        Extension(
            source[:-len(".pyx")].replace(os.sep, "."),
            [source],
            include_dirs=[numpy.get_include(), os.path.dirname(source)],
            depends=sorted(glob.glob(os.path.join(os.path.dirname(source), "*.pxi"))
                           + glob.glob(os.path.join(os.path.dirname(source), "*.h"))),
            extra_compile_args=compile_args(),
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for source in PYX_SOURCES
    ]
    return cythonize(modules, compiler_directives={"language_level": "3"})


class OptionalBuildExt(build_ext):
    """build_ext that reports a failed compilation instead of failing the install."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers, ...
            self._report(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._report(exc)

    @staticmethod
    def _report(exc):
        print(
            "fastnet: the compiled extension could not be built; installing the "
            f"pure-Python package only ({exc})",
            file=sys.stderr,
        )


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
