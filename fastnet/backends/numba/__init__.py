"""The Numba backend: kernels compiled on first use and cached (the digit network: ``mlp`` over
``mlp_kernels``, ``mlp_steps``, ``mlp_math``, ``mlp_layout``, ``mlp_inputs``; the GPT: ``gpt`` over
``gpt_kernels``, ``bpe`` and ``blas``; ``primitives`` are the row operations both use)."""
