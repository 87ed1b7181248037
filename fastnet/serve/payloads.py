"""The JSON bodies of the API's requests, read and checked before any model sees them.

Each function takes the decoded body (a dict) and returns one value in the
form the models take, or raises ``BadRequest`` naming the field and what was
expected (the API answers 400 with that message).
"""
import json
import math

import numpy as np

from ..core.checks import is_integer, is_real_number

MAX_BODY_BYTES = 64 * 1024  # a request body: 784 pixels written out in full take about 20 KB
MAX_PROMPT_CHARACTERS = 4000
MAX_NEW_TOKENS = 2000


class BadRequest(ValueError):
    """A request the API refuses with ``status`` (400 unless said otherwise)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number in JSON")


def check_body_size(size):
    """BadRequest (413) when a body of ``size`` bytes (declared, or read so far) is over MAX_BODY_BYTES."""
    if size > MAX_BODY_BYTES:
        raise BadRequest(f"the request body must be at most {MAX_BODY_BYTES} bytes; got {size} or more", status=413)


def decode(body):
    """The request body (bytes) as a JSON object (dict); BadRequest otherwise (NaN and Infinity are not JSON)."""
    check_body_size(len(body))
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadRequest(f"the request body must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise BadRequest(f"the request body must be a JSON object; got a JSON {type(value).__name__}")
    return value


def pixels(body, count):
    """body["pixels"]: ``count`` finite numbers in [0, 1], as a float64 array."""
    values = body.get("pixels")
    if not isinstance(values, list) or len(values) != count:
        got = f"a list of {len(values)}" if isinstance(values, list) else type(values).__name__
        raise BadRequest(f"pixels must be a list of {count} numbers in [0, 1] (row-major); got {got}")
    try:
        array = np.array(values, dtype=np.float64) if set(map(type, values)) <= {int, float} else None
    except OverflowError:  # an integer beyond float64
        array = None
    if array is None or not np.all((array >= 0) & (array <= 1)):  # NaN and inf fail the comparison too
        bad = next(v for v in values if not (is_real_number(v) and 0 <= v <= 1))
        raise BadRequest(f"pixels must be numbers in [0, 1]; got {bad!r}")
    return array


def integer(body, name, low, high, default=None):
    """body[name]: an int in [low, high] (``default`` when absent and a default is given)."""
    if name not in body and default is not None:
        return default
    value = body.get(name)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not is_integer(value) or not low <= value <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}; got {value!r}")
    return value


def optional_integer(body, name, low, high):
    """body[name] as ``integer``, or None when absent or null."""
    return None if body.get(name) is None else integer(body, name, low, high)


def positive(body, name, high, default):
    """body[name]: a finite number above 0 and at most ``high`` (``default`` when absent)."""
    value = body.get(name, default)
    if not is_real_number(value) or not (math.isfinite(value) and 0 < value <= high):
        raise BadRequest(f"{name} must be a number above 0 and at most {high}; got {value!r}")
    return float(value)


def temperature(body, default=1.0):
    """body["temperature"]: a positive finite number (``default`` when absent)."""
    return positive(body, "temperature", 100, default)


def prompt(body):
    """body["prompt"]: a string of 1 to MAX_PROMPT_CHARACTERS characters."""
    value = body.get("prompt")
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_PROMPT_CHARACTERS:
        got = f"{len(value)} characters" if isinstance(value, str) else type(value).__name__
        raise BadRequest(f"prompt must be a string of 1 to {MAX_PROMPT_CHARACTERS} characters; got {got}")
    return value
