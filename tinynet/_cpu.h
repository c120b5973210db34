/* The instruction-set level of the running CPU (tinynet._cpu; compiled for the architecture's baseline,
 * so that it runs anywhere).
 *
 * x86-64: the psABI's microarchitecture levels, 1 to 4, each including the one below:
 *   v2  SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT (and CMPXCHG16B, LAHF/SAHF);
 *   v3  AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE;
 *   v4  AVX512F, AVX512BW, AVX512CD, AVX512DQ, AVX512VL.
 * The compiler's builtins read cpuid and, for AVX and AVX-512, the registers' support by the operating
 * system (XGETBV): a feature the OS does not save across context switches counts as absent. Elsewhere 0.
 */
#ifndef TINYNET_CPU_H
#define TINYNET_CPU_H

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))

static int tn_cpu_level(void) {
    __builtin_cpu_init();
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
    /* the levels themselves, CMPXCHG16B and LAHF/SAHF included */
    if (!__builtin_cpu_supports("x86-64-v2"))
        return 1;
    if (!__builtin_cpu_supports("x86-64-v3"))
        return 2;
    if (!__builtin_cpu_supports("x86-64-v4"))
        return 3;
    return 4;
#else
    if (!(__builtin_cpu_supports("sse3") && __builtin_cpu_supports("ssse3") &&
          __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("sse4.2") &&
          __builtin_cpu_supports("popcnt")))
        return 1;
    if (!(__builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
          __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("fma")))
        return 2;
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
          __builtin_cpu_supports("avx512vl")))
        return 3;
    return 4;
#endif
}

#elif defined(_M_X64)

/* MSVC builds only the v2 module (its x64 baseline, plain loops): no level above it is ever asked for. */
static int tn_cpu_level(void) { return 2; }

#else

static int tn_cpu_level(void) { return 0; }

#endif

#endif /* TINYNET_CPU_H */
