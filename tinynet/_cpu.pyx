"""The running CPU's instruction-set level, read for choosing which build of the kernels to load.

Compiled for the architecture's baseline (no level flags; see ``setup.py``), so that it runs on any
CPU, including one that none of the kernels' builds can run on.
"""

cdef extern from "_cpu.h" nogil:
    int tn_cpu_level()


def x86_64_level():
    """The highest x86-64 level (1-4) that this CPU and its operating system support; 0 off x86-64.

    Returns
    -------
    int
        4 with AVX-512 (x86-64-v4), 3 with AVX2 (v3), 2 with SSE4.2 (v2), 1 below; 0 on another
        architecture.
    """
    return tn_cpu_level()
