"""The Cython backend: kernels compiled when fastnet is installed (the digit network: ``mlp`` over the
extension ``_mlp_kernels``; the GPT: ``gpt`` over ``_gpt_kernels``; both over the C row operations of
``rows.h`` and ``gpt_rows.h``, at the CPU level ``cpu_levels`` chooses)."""
