"""The NumPy backend, the reference: the mathematics of both models in readable NumPy (``mlp``, ``gpt``)."""
