/* The register tiles of _tiles.h for one element type, TN_REAL (double or float): included by _tiles.h
 * once for each, with TN_W (the type's lanes a vector), TN_VEC (the multiple of the rows' strides) and
 * TN_RULE (the rules of _rules.h in the type's form) defined, and for float the names of the functions
 * and types below mapped to names ending in 32. No include guard: it is meant to be included twice. See
 * _tiles.h for what each function computes. */
/* tn_back's sum for one row r (the rows past its whole vectors, and every row in the plain loops). */
static inline TN_REAL tn_back_row(const TN_REAL *r, ptrdiff_t n_out, const TN_REAL *g, const TN_REAL *fp) {
    ptrdiff_t i;
    TN_REAL sum = fp ? g[0] * (r[0] * fp[0]) : g[0] * r[0];
    for (i = 1; i < n_out; i++)
        sum = sum + (fp ? g[i] * (r[i] * fp[i]) : g[i] * r[i]);
    return sum;
}

#if (defined(__GNUC__) || defined(__clang__)) && !defined(TINYNET_SCALAR_TILES)

_Static_assert(TN_COVERS(TN_SUMS_V) && TN_COVERS(TN_SUMS4_V) && TN_COVERS(TN_GRAD_V),
               "a tile shape that TN_TILES cannot cover every stride with");

typedef TN_REAL tn_vd __attribute__((vector_size(TN_W * sizeof(TN_REAL))));
#ifndef TN_BUILTIN_SHUFFLEVECTOR
typedef TN_LANE_INT tn_vi __attribute__((vector_size(TN_W * sizeof(TN_REAL))));    /* TN_SHUFFLE's lanes */
#endif


TN_INLINE tn_vd tn_load(const TN_REAL *p) {
    tn_vd v;
    memcpy(&v, p, sizeof v);            /* an unaligned load */
    return v;
}

TN_INLINE void tn_store(TN_REAL *p, tn_vd v) {
    memcpy(p, &v, sizeof v);
}

TN_INLINE tn_vd tn_splat(TN_REAL x) {  /* a broadcast (not 0.0 + x, which turns -0.0 into 0.0) */
#if TN_W == 16
    return (tn_vd){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
#elif TN_W == 8
    return (tn_vd){x, x, x, x, x, x, x, x};
#elif TN_W == 4
    return (tn_vd){x, x, x, x};
#else
    return (tn_vd){x, x};
#endif
}


/* The TN_W x TN_W block t[0..TN_W) transposed in place: lane c of t[r] goes to lane r of t[c]. The
 * off-diagonal halves swap, then the quarters within each half, and so on down to single lanes. */
TN_INLINE void tn_transpose(tn_vd *t) {
#if TN_W == 16
    int r;
    TN_EACH(r, 16) {
        if (!(r & 8))
            TN_SWAP_BLOCKS(t, r, 8, (0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
                           (8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
    }
    TN_EACH(r, 16) {
        if (!(r & 4))
            TN_SWAP_BLOCKS(t, r, 4, (0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27),
                           (4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31));
    }
    TN_EACH(r, 16) {
        if (!(r & 2))
            TN_SWAP_BLOCKS(t, r, 2, (0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29),
                           (2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31));
    }
    TN_EACH(r, 16) {
        if (!(r & 1))
            TN_SWAP_BLOCKS(t, r, 1, (0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
                           (1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31));
    }
#elif TN_W == 8
    int r;
    for (r = 0; r < 4; r++)
        TN_SWAP_BLOCKS(t, r, 4, (0, 1, 2, 3, 8, 9, 10, 11), (4, 5, 6, 7, 12, 13, 14, 15));
    for (r = 0; r < 8; r += r % 4 == 1 ? 3 : 1)
        TN_SWAP_BLOCKS(t, r, 2, (0, 1, 8, 9, 4, 5, 12, 13), (2, 3, 10, 11, 6, 7, 14, 15));
    for (r = 0; r < 8; r += 2)
        TN_SWAP_BLOCKS(t, r, 1, (0, 8, 2, 10, 4, 12, 6, 14), (1, 9, 3, 11, 5, 13, 7, 15));
#elif TN_W == 4
    TN_SWAP_BLOCKS(t, 0, 2, (0, 1, 4, 5), (2, 3, 6, 7));
    TN_SWAP_BLOCKS(t, 1, 2, (0, 1, 4, 5), (2, 3, 6, 7));
    TN_SWAP_BLOCKS(t, 0, 1, (0, 4, 2, 6), (1, 5, 3, 7));
    TN_SWAP_BLOCKS(t, 2, 1, (0, 4, 2, 6), (1, 5, 3, 7));
#else
    TN_SWAP_BLOCKS(t, 0, 1, (0, 2), (1, 3));
#endif
}

/* acc[k % TN_VEC] += w[k] * w[k] for k < n, n a multiple of TN_VEC: squares into TN_VEC partial sums,
   TN_PARTS vectors of them. */
static inline void tn_squares(const TN_REAL *w, ptrdiff_t n, TN_REAL *acc) {
    ptrdiff_t k;
    int c;
    tn_vd s[TN_PARTS];
    TN_EACH(c, TN_PARTS) s[c] = tn_load(acc + c * TN_W);
    for (k = 0; k < n; k += TN_VEC) {
        TN_EACH(c, TN_PARTS) {
            tn_vd x = tn_load(w + k + c * TN_W);
            s[c] = s[c] + x * x;
        }
    }
    TN_EACH(c, TN_PARTS) tn_store(acc + c * TN_W, s[c]);
}

/* nv vectors of columns (a constant) of tn_sums: out[k] = a[0] * w[k] + a[1] * w[st + k] + ... */
TN_INLINE void tn_sums_tile(const TN_REAL *w, ptrdiff_t st, const TN_REAL *a, ptrdiff_t n_in, TN_REAL *out,
                            const int nv) {
    ptrdiff_t j;
    int c;
    tn_vd s[TN_SUMS_V], x = tn_splat(a[0]);
    TN_EACH(c, nv) s[c] = tn_load(w + c * TN_W) * x;
    for (j = 1; j < n_in; j++) {
        w += st;
        x = tn_splat(a[j]);
        TN_EACH(c, nv) s[c] = s[c] + tn_load(w + c * TN_W) * x;
    }
    TN_EACH(c, nv) tn_store(out + c * TN_W, s[c]);
}


static inline void tn_sums(const TN_REAL *wt, ptrdiff_t st, const TN_REAL *a, ptrdiff_t n_in, TN_REAL *out) {
#define TN_SUMS_AT(col, nv) tn_sums_tile(wt + (col), st, a, n_in, out + (col), (nv))
    TN_TILES(st, TN_SUMS_V, TN_SUMS_AT);
#undef TN_SUMS_AT
}

/* nv vectors of columns of tn_sums for four samples (a, a + as, ...; out, out + os, ...), each weight
   loaded once for the four. */
TN_INLINE void tn_sums4_tile(const TN_REAL *w, ptrdiff_t st, const TN_REAL *a, ptrdiff_t as, ptrdiff_t n_in,
                             TN_REAL *out, ptrdiff_t os, const int nv) {
    ptrdiff_t j;
    int c, r;
    tn_vd s[4][TN_SUMS4_V], wc[TN_SUMS4_V], x[4];
    TN_EACH(c, nv) wc[c] = tn_load(w + c * TN_W);
    TN_EACH(r, 4) x[r] = tn_splat(a[r * as]);
    TN_EACH(r, 4) TN_EACH(c, nv) s[r][c] = wc[c] * x[r];
    for (j = 1; j < n_in; j++) {
        w += st;
        TN_EACH(c, nv) wc[c] = tn_load(w + c * TN_W);
        TN_EACH(r, 4) x[r] = tn_splat(a[r * as + j]);
        TN_EACH(r, 4) TN_EACH(c, nv) s[r][c] = s[r][c] + wc[c] * x[r];
    }
    TN_EACH(r, 4) TN_EACH(c, nv) tn_store(out + r * os + c * TN_W, s[r][c]);
}

static inline void tn_sums4(const TN_REAL *wt, ptrdiff_t st, const TN_REAL *a, ptrdiff_t as, ptrdiff_t n_in,
                            TN_REAL *out, ptrdiff_t os) {
#define TN_SUMS4_AT(col, nv) tn_sums4_tile(wt + (col), st, a, as, n_in, out + (col), os, (nv))
    TN_TILES(st, TN_SUMS4_V, TN_SUMS4_AT);
#undef TN_SUMS4_AT
}

/* nv vectors of columns by nr rows (constants) of tn_grad, from row j:
   g[j + r][k] (+)= delta[0][k] * a[0][j + r] + delta[1][k] * a[1][j + r] + ... (fresh: from 0.0). */
TN_INLINE void tn_grad_tile(TN_REAL *g, ptrdiff_t st, const TN_REAL *delta, ptrdiff_t ds, const TN_REAL *a,
                            ptrdiff_t as, ptrdiff_t nb, int fresh, const int nr, const int nv) {
    ptrdiff_t b;
    int c, r;
    tn_vd s[4][TN_GRAD_V], d[TN_GRAD_V], x[4];
    TN_EACH(r, nr) TN_EACH(c, nv) s[r][c] = fresh ? tn_splat(0.0) : tn_load(g + r * st + c * TN_W);
    for (b = 0; b < nb; b++) {
        TN_EACH(c, nv) d[c] = tn_load(delta + b * ds + c * TN_W);
        TN_EACH(r, nr) x[r] = tn_splat(a[b * as + r]);
        TN_EACH(r, nr) TN_EACH(c, nv) s[r][c] = s[r][c] + d[c] * x[r];
    }
    TN_EACH(r, nr) TN_EACH(c, nv) tn_store(g + r * st + c * TN_W, s[r][c]);
}

static inline void tn_grad(TN_REAL *gt, ptrdiff_t st, ptrdiff_t n_in, const TN_REAL *delta, ptrdiff_t ds,
                           const TN_REAL *a, ptrdiff_t as, ptrdiff_t nb, int fresh) {
    ptrdiff_t j;
    for (j = 0; j + 4 <= n_in; j += 4) {
#define TN_GRAD4_AT(col, nv) tn_grad_tile(gt + j * st + (col), st, delta + (col), ds, a + j, as, nb, fresh, 4, (nv))
        TN_TILES(st, TN_GRAD_V, TN_GRAD4_AT);
#undef TN_GRAD4_AT
    }
    for (; j < n_in; j++) {
#define TN_GRAD1_AT(col, nv) tn_grad_tile(gt + j * st + (col), st, delta + (col), ds, a + j, as, nb, fresh, 1, (nv))
        TN_TILES(st, TN_GRAD_V, TN_GRAD1_AT);
#undef TN_GRAD1_AT
    }
}

/* tn_back (g and fp padded with zeros to the stride: the padding's terms are computed, never added,
 * since adding a 0.0 would turn a sum of -0.0 into 0.0). */
TN_INLINE void tn_back_body(const TN_REAL *TN_RESTRICT w, ptrdiff_t st, ptrdiff_t n_in, ptrdiff_t n_out,
                            const TN_REAL *TN_RESTRICT g, const TN_REAL *TN_RESTRICT fp, TN_REAL *TN_RESTRICT out) {
    ptrdiff_t j, i;
    int r;
    for (j = 0; j + TN_W <= n_in; j += TN_W) {
        tn_vd t[TN_W], sums = tn_splat(0.0);
        for (i = 0; i < n_out; i += TN_W) {
            tn_vd gi = tn_load(g + i), fi = fp ? tn_load(fp + i) : gi;       /* (fi unused without fp) */
            TN_EACH(r, TN_W) {
                tn_vd wr = tn_load(w + (j + r) * st + i);
                t[r] = fp ? gi * (wr * fi) : gi * wr;
            }
            tn_transpose(t);                    /* t[c]: the terms of column i + c, row by row */
            sums = i == 0 ? t[0] : sums + t[0];
            TN_EACH(r, TN_W - 1) {
                if (i + r + 1 < n_out)
                    sums = sums + t[r + 1];
            }
        }
        tn_store(out + j, sums);
    }
    for (; j < n_in; j++)
        out[j] = tn_back_row(w + j * st, n_out, g, fp);
}

static inline void tn_back(const TN_REAL *TN_RESTRICT w, ptrdiff_t st, ptrdiff_t n_in, ptrdiff_t n_out,
                           const TN_REAL *TN_RESTRICT g, const TN_REAL *TN_RESTRICT fp, TN_REAL *TN_RESTRICT out) {
    if (fp)         /* two copies, each with its branch on fp decided */
        tn_back_body(w, st, n_in, n_out, g, fp, out);
    else
        tn_back_body(w, st, n_in, n_out, g, NULL, out);
}

static inline void tn_rows_descend(TN_REAL *TN_RESTRICT w, ptrdiff_t st, ptrdiff_t n_in,
                                   const TN_REAL *TN_RESTRICT g, const TN_REAL *TN_RESTRICT fp,
                                   const TN_REAL *TN_RESTRICT a) {
    ptrdiff_t j, q;
    for (j = 0; j + 4 <= n_in; j += 4) {        /* four rows at a time, each swept along its length */
        TN_REAL *r0 = w + j * st, *r1 = r0 + st, *r2 = r1 + st, *r3 = r2 + st;
        tn_vd a0 = tn_splat(a[j]), a1 = tn_splat(a[j + 1]), a2 = tn_splat(a[j + 2]), a3 = tn_splat(a[j + 3]);
        for (q = 0; q < st; q += TN_W) {
            tn_vd gq = tn_load(g + q), fq = tn_load(fp + q);
            tn_store(r0 + q, TN_RULE(TN_SGD)(tn_load(r0 + q), a0 * fq, gq));
            tn_store(r1 + q, TN_RULE(TN_SGD)(tn_load(r1 + q), a1 * fq, gq));
            tn_store(r2 + q, TN_RULE(TN_SGD)(tn_load(r2 + q), a2 * fq, gq));
            tn_store(r3 + q, TN_RULE(TN_SGD)(tn_load(r3 + q), a3 * fq, gq));
        }
    }
    for (; j < n_in; j++) {
        TN_REAL *r = w + j * st;
        tn_vd aj = tn_splat(a[j]);
        for (q = 0; q < st; q += TN_W)
            tn_store(r + q, TN_RULE(TN_SGD)(tn_load(r + q), aj * tn_load(fp + q), tn_load(g + q)));
    }
}

static inline void tn_rows_momentum(TN_REAL *TN_RESTRICT w, TN_REAL *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                                    const TN_REAL *TN_RESTRICT g, const TN_REAL *TN_RESTRICT fp,
                                    const TN_REAL *TN_RESTRICT a, TN_REAL momentum) {
    ptrdiff_t j, q;
    tn_vd mu = tn_splat(momentum);
    for (j = 0; j < n_in; j++) {
        TN_REAL *r = w + j * st, *u = v + j * st;
        tn_vd aj = tn_splat(a[j]);
        for (q = 0; q < st; q += TN_W) {
            tn_vd vel = TN_RULE(TN_VELOCITY)(tn_load(u + q), aj * tn_load(fp + q), mu, tn_load(g + q));
            tn_store(u + q, vel);
            tn_store(r + q, tn_load(r + q) + vel);
        }
    }
}

/* One row's update at q (with momentum when v is not NULL), returning the updated weights. */
TN_INLINE tn_vd tn_row_step(TN_REAL *TN_RESTRICT r, TN_REAL *TN_RESTRICT u, tn_vd mu, tn_vd gq, tn_vd aj, tn_vd fq) {
    tn_vd wq;
    if (u) {
        tn_vd vq = TN_RULE(TN_VELOCITY)(tn_load(u), aj * fq, mu, gq);
        tn_store(u, vq);
        wq = tn_load(r) + vq;
    } else {
        wq = TN_RULE(TN_SGD)(tn_load(r), aj * fq, gq);
    }
    tn_store(r, wq);
    return wq;
}

/* tn_rows_update_sums in the order of the memory: the rows four at a time, each group swept along its width, the
 * sums of its columns carried in out from group to group (each still adds its terms in the order
 * j = 0, 1, ...). Walking down a column instead, a row's load would wait on the store to the row four
 * (or sixteen) above whenever the stride is a multiple of 1 KiB (256 B): the processor takes addresses
 * 4 KiB apart for the same until it has the whole address (4K aliasing). */
TN_INLINE void tn_fused_rows(TN_REAL *TN_RESTRICT w, TN_REAL *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                             const TN_REAL *TN_RESTRICT g, const TN_REAL *TN_RESTRICT fp,
                             const TN_REAL *TN_RESTRICT a, TN_REAL momentum, const TN_REAL *TN_RESTRICT x,
                             TN_REAL *TN_RESTRICT out, const int prefetch) {
    ptrdiff_t j, q, k;
    int c;
    tn_vd mu = tn_splat(momentum);
    for (j = 0; j + 4 <= n_in; j += 4) {
        TN_REAL *r = w + j * st, *u = v ? v + j * st : NULL;
        const int ahead = prefetch && j + 8 <= n_in;        /* the next group's rows, if whole */
        tn_vd a0 = tn_splat(a[j]), a1 = tn_splat(a[j + 1]), a2 = tn_splat(a[j + 2]), a3 = tn_splat(a[j + 3]);
        tn_vd x0 = tn_splat(x[j]), x1 = tn_splat(x[j + 1]), x2 = tn_splat(x[j + 2]), x3 = tn_splat(x[j + 3]);
        for (q = 0; q < st; q += TN_W) {
            tn_vd gq = tn_load(g + q), fq = tn_load(fp + q), sq;
            if (ahead && q * sizeof(TN_REAL) % 64 == 0) {   /* a cache line of each, for writing */
                TN_EACH(c, 4) {
                    __builtin_prefetch(r + (4 + c) * st + q, 1, 3);
                    if (u)
                        __builtin_prefetch(u + (4 + c) * st + q, 1, 3);
                }
            }
            tn_vd w0 = tn_row_step(r + q, u ? u + q : NULL, mu, gq, a0, fq);
            tn_vd w1 = tn_row_step(r + st + q, u ? u + st + q : NULL, mu, gq, a1, fq);
            tn_vd w2 = tn_row_step(r + 2 * st + q, u ? u + 2 * st + q : NULL, mu, gq, a2, fq);
            tn_vd w3 = tn_row_step(r + 3 * st + q, u ? u + 3 * st + q : NULL, mu, gq, a3, fq);
            sq = j == 0 ? w0 * x0 : tn_load(out + q) + w0 * x0;
            tn_store(out + q, ((sq + w1 * x1) + w2 * x2) + w3 * x3);
        }
    }
    for (k = j; k < n_in; k++) {
        TN_REAL *r = w + k * st, *u = v ? v + k * st : NULL;
        tn_vd ak = tn_splat(a[k]), xk = tn_splat(x[k]);
        for (q = 0; q < st; q += TN_W) {
            tn_vd wq = tn_row_step(r + q, u ? u + q : NULL, mu, tn_load(g + q), ak, tn_load(fp + q));
            tn_store(out + q, k == 0 ? wq * xk : tn_load(out + q) + wq * xk);
        }
    }
}


/* tn_rows_descend (or tn_rows_momentum, when v is not NULL) of the first layer fused with the next
 * sample's sums of that layer, from the rows just updated:
 *     out[k] = x[0] * w[0][k] + x[1] * w[1][k] + ...   (x the next sample; left to right, as tn_sums)
 * so that the layer's weights pass through the registers once per step instead of twice. */
static inline void tn_rows_update_sums(TN_REAL *TN_RESTRICT w, TN_REAL *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                                       const TN_REAL *TN_RESTRICT g, const TN_REAL *TN_RESTRICT fp,
                                       const TN_REAL *TN_RESTRICT a, TN_REAL momentum,
                                       const TN_REAL *TN_RESTRICT x, TN_REAL *TN_RESTRICT out) {
    const int big = (size_t)n_in * (size_t)st * sizeof(TN_REAL) * (v ? 2 : 1) > TN_PREFETCH_BYTES;
    /* a copy for each case, each with its branches on v and prefetch decided */
    if (v && big)
        tn_fused_rows(w, v, st, n_in, g, fp, a, momentum, x, out, 1);
    else if (v)
        tn_fused_rows(w, v, st, n_in, g, fp, a, momentum, x, out, 0);
    else if (big)
        tn_fused_rows(w, NULL, st, n_in, g, fp, a, momentum, x, out, 1);
    else
        tn_fused_rows(w, NULL, st, n_in, g, fp, a, momentum, x, out, 0);
}

/* sqrt of a vector, lane by lane (the generated rules call TN_SQRT on vectors and numbers alike). */
TN_INLINE tn_vd tn_vsqrt(tn_vd x) {
    int q;
    for (q = 0; q < TN_W; q++)
        x[q] = TN_SQRT(x[q]);
    return x;
}

/* One vector of tn_update's work: the parameters at p, their summed gradient g (before the mean), their
 * optimizer state at m and v; the squares into *s; the step of code `step` (_rules.h's TN_DO_VEC_*),
 * which stores m and v only where it changes them. Inlined into loops whose every flag is invariant. */
TN_INLINE void tn_update_vec(TN_REAL *TN_RESTRICT p, tn_vd g, TN_REAL *TN_RESTRICT m, TN_REAL *TN_RESTRICT v,
                             int l2, TN_REAL alpha, TN_REAL count, TN_REAL inv, int squares, tn_vd *s,
                             int step, const tn_step_options *o) {
    tn_vd x = tn_load(p), mk = tn_load(m), vk = tn_load(v);
    if (l2) {
        if (squares)
            *s = *s + x * x;
        g = g + tn_splat(alpha) * x;
    }
    if (inv != 0.0)
        g = g * tn_splat(inv);
    else if (count != 1.0)
        g = g / tn_splat(count);
    switch (step) {
#define TN_STEP_CASE(NAME, CODE, A)                                                                  \
    case CODE:                                                                                      \
        TN_RULE(TN_DO_VEC_##NAME)(x, mk, vk, g, o);                                                          \
        if (TN_WRITES_M_##NAME)                                                                     \
            tn_store(m, mk);                                                                        \
        if (TN_WRITES_V_##NAME)                                                                     \
            tn_store(v, vk);                                                                        \
        break;
        TN_STEPS(TN_STEP_CASE, 0)
#undef TN_STEP_CASE
    }
    tn_store(p, x);
}

/* The batch kernels' whole update of n parameters (n a multiple of TN_VEC: a layer's weight rows, with
 * l2, or its bias row) in one pass over them, element by element what _net_mean_gradient, _net_squares
 * and the step do one after another in the other backends: the batch's gradient
 * g = (grad + alpha * p) / count (l2) or grad / count (the division skipped when count is 1: it changes
 * no bit; a multiplication by inv, count's reciprocal, when count is a power of two: the two are the
 * correctly rounded value of the same real number, so the same bits, and the divider is the loop's
 * bottleneck, with Adam's own division and square root); with squares, p * p (before the step) added into acc[k % TN_VEC]; then the step of code
 * `step`. One pass instead of four: at batch size 1 the update is most of the work, and the passes
 * over the parameters, not the arithmetic, bound it. */
TN_INLINE void tn_update_body(TN_REAL *TN_RESTRICT p, const TN_REAL *TN_RESTRICT grad, TN_REAL *TN_RESTRICT m,
                              TN_REAL *TN_RESTRICT v, ptrdiff_t n, int l2, TN_REAL alpha, TN_REAL count,
                              TN_REAL inv, int squares, TN_REAL *TN_RESTRICT acc, int step,
                              const tn_step_options *o) {
    ptrdiff_t k;
    int c;
    tn_vd s[TN_PARTS];
    TN_EACH(c, TN_PARTS) s[c] = tn_load(acc + c * TN_W);
    for (k = 0; k < n; k += TN_VEC)
        TN_EACH(c, TN_PARTS) {
            ptrdiff_t e = k + c * TN_W;
            tn_update_vec(p + e, tn_load(grad + e), m + e, v + e, l2, alpha, count, inv, squares, &s[c], step,
                          o);
        }
    TN_EACH(c, TN_PARTS) tn_store(acc + c * TN_W, s[c]);
}

/* tn_update of a layer's weight rows and then its bias row, for a batch of one sample, from its deltas d
 * and its inputs' activations a rather than a gradient array: weight (j, k)'s gradient is
 * 0.0 + d[k] * a[j] and bias k's 0.0 + d[k], tn_grad's sums for one sample (from zero). */
TN_INLINE void tn_update_outer_body(TN_REAL *TN_RESTRICT p, TN_REAL *TN_RESTRICT m, TN_REAL *TN_RESTRICT v,
                                    ptrdiff_t st, ptrdiff_t n_in, const TN_REAL *TN_RESTRICT d,
                                    const TN_REAL *TN_RESTRICT a, TN_REAL alpha, TN_REAL count, int squares,
                                    TN_REAL *TN_RESTRICT acc, int step, const tn_step_options *o) {
    ptrdiff_t j, k;
    int c;
    tn_vd s[TN_PARTS], zero = tn_splat(0.0);
    TN_EACH(c, TN_PARTS) s[c] = tn_load(acc + c * TN_W);
    for (j = 0; j < n_in; j++) {
        tn_vd x = tn_splat(a[j]);
        for (k = 0; k < st; k += TN_VEC)
            TN_EACH(c, TN_PARTS) {
                ptrdiff_t e = j * st + k + c * TN_W;
                tn_update_vec(p + e, zero + tn_load(d + k + c * TN_W) * x, m + e, v + e, 1, alpha, count,
                              0.0, squares, &s[c], step, o);
            }
    }
    for (k = 0; k < st; k += TN_VEC)
        TN_EACH(c, TN_PARTS) {
            ptrdiff_t e = n_in * st + k + c * TN_W;
            tn_update_vec(p + e, zero + tn_load(d + k + c * TN_W), m + e, v + e, 0, alpha, count, 0.0, 0,
                          &s[c], step, o);
        }
    TN_EACH(c, TN_PARTS) tn_store(acc + c * TN_W, s[c]);
}


/* Not inlined: on its own the compiler keeps its accumulators in registers. */
__attribute__((noinline, unused)) static void tn_update(TN_REAL *TN_RESTRICT p, const TN_REAL *TN_RESTRICT grad,
                                                TN_REAL *TN_RESTRICT m, TN_REAL *TN_RESTRICT v, ptrdiff_t n,
                                                int l2, TN_REAL alpha, TN_REAL count, int squares,
                                                TN_REAL *TN_RESTRICT acc, int step, const tn_step_options *o) {
    tn_step_options options = *o;       /* a copy the loops can keep in registers */
    int e;
    /* count's reciprocal when count (> 1) is a power of two, exact (see tn_update_body); else 0 */
    TN_REAL inv = count != 1.0 && frexp(count, &e) == 0.5 ? (TN_REAL)1.0 / count : (TN_REAL)0.0;
#define TN_UPDATE(STEP, SQUARES)                                                                      \
    (l2 ? tn_update_body(p, grad, m, v, n, 1, alpha, count, inv, SQUARES, acc, STEP, &options)       \
        : tn_update_body(p, grad, m, v, n, 0, alpha, count, inv, 0, acc, STEP, &options))
    TN_SPECIALISED(TN_UPDATE);
#undef TN_UPDATE
}

__attribute__((noinline, unused)) static void tn_update_outer(TN_REAL *TN_RESTRICT p, TN_REAL *TN_RESTRICT m,
                                                      TN_REAL *TN_RESTRICT v, ptrdiff_t st, ptrdiff_t n_in,
                                                      const TN_REAL *TN_RESTRICT d,
                                                      const TN_REAL *TN_RESTRICT a, TN_REAL alpha, TN_REAL count,
                                                      int squares, TN_REAL *TN_RESTRICT acc, int step,
                                                      const tn_step_options *o) {
    tn_step_options options = *o;
#define TN_UPDATE_OUTER(STEP, SQUARES)                                                                \
    tn_update_outer_body(p, m, v, st, n_in, d, a, alpha, count, SQUARES, acc, STEP, &options)
    TN_SPECIALISED(TN_UPDATE_OUTER);
#undef TN_UPDATE_OUTER
}

/* nv vectors of columns (a constant) of tn_back_t (the per-sample kernel's transposed copy: see
 * tn_back_by_copy, after the plain loops), their sums in registers across the rows i. */
TN_INLINE void tn_back_t_tile(const TN_REAL *TN_RESTRICT wt, ptrdiff_t sti, ptrdiff_t n_out,
                              const TN_REAL *TN_RESTRICT g, const TN_REAL *TN_RESTRICT fp,
                              TN_REAL *TN_RESTRICT out, const int nv) {
    ptrdiff_t i;
    int c;
    tn_vd s[TN_SUMS_V], gi = tn_splat(g[0]), fi = tn_splat(fp[0]);
    TN_EACH(c, nv) s[c] = gi * (tn_load(wt + c * TN_W) * fi);
    for (i = 1; i < n_out; i++) {
        gi = tn_splat(g[i]);
        fi = tn_splat(fp[i]);
        TN_EACH(c, nv) s[c] = s[c] + gi * (tn_load(wt + i * sti + c * TN_W) * fi);
    }
    TN_EACH(c, nv) tn_store(out + c * TN_W, s[c]);
}

static inline void tn_back_t(const TN_REAL *TN_RESTRICT wt, ptrdiff_t sti, ptrdiff_t n_out,
                             const TN_REAL *TN_RESTRICT g, const TN_REAL *TN_RESTRICT fp,
                             TN_REAL *TN_RESTRICT out) {
#define TN_BACK_T_AT(col, nv) tn_back_t_tile(wt + (col), sti, n_out, g, fp, out + (col), (nv))
    TN_TILES(sti, TN_SUMS_V, TN_BACK_T_AT);
#undef TN_BACK_T_AT
}


#else

static inline void tn_back_t(const TN_REAL *TN_RESTRICT wt, ptrdiff_t sti, ptrdiff_t n_out,
                             const TN_REAL *TN_RESTRICT g, const TN_REAL *TN_RESTRICT fp,
                             TN_REAL *TN_RESTRICT out) {
    ptrdiff_t i, j;
    for (j = 0; j < sti; j++)
        out[j] = g[0] * (wt[j] * fp[0]);
    for (i = 1; i < n_out; i++) {
        const TN_REAL gi = g[i], fi = fp[i], *TN_RESTRICT row = wt + i * sti;
        for (j = 0; j < sti; j++)
            out[j] = out[j] + gi * (row[j] * fi);
    }
}




static void tn_update(TN_REAL *p, const TN_REAL *grad, TN_REAL *m, TN_REAL *v, ptrdiff_t n, int l2,
                      TN_REAL alpha, TN_REAL count, int squares, TN_REAL *acc, int step,
                      const tn_step_options *o) {
    ptrdiff_t k;
    for (k = 0; k < n; k++) {
        TN_REAL g = grad[k];
        if (l2) {
            if (squares)
                acc[k % TN_VEC] = acc[k % TN_VEC] + p[k] * p[k];
            g = g + alpha * p[k];
        }
        if (count != 1.0)
            g = g / count;
        switch (step) {
#define TN_STEP_CASE(NAME, CODE, A)                                                                  \
        case CODE:                                                                                  \
            TN_RULE(TN_DO_##NAME)(p[k], m[k], v[k], g, o);                                                   \
            break;
            TN_STEPS(TN_STEP_CASE, 0)
#undef TN_STEP_CASE
        }
    }
}

static void tn_update_outer(TN_REAL *p, TN_REAL *m, TN_REAL *v, ptrdiff_t st, ptrdiff_t n_in, const TN_REAL *d,
                            const TN_REAL *a, TN_REAL alpha, TN_REAL count, int squares, TN_REAL *acc, int step,
                            const tn_step_options *o) {
    TN_REAL g[TN_VEC];
    ptrdiff_t j, k;
    int q;
    for (j = 0; j <= n_in; j++) {
        for (k = 0; k < st; k += TN_VEC) {
            for (q = 0; q < TN_VEC; q++)
                g[q] = j < n_in ? (TN_REAL)0.0 + d[k + q] * a[j] : (TN_REAL)0.0 + d[k + q];
            tn_update(p + j * st + k, g, m + j * st + k, v + j * st + k, TN_VEC, j < n_in, alpha, count,
                      squares && j < n_in, acc, step, o);
        }
    }
}

static void tn_squares(const TN_REAL *w, ptrdiff_t n, TN_REAL *acc) {
    ptrdiff_t k;
    for (k = 0; k < n; k++)
        acc[k % TN_VEC] = acc[k % TN_VEC] + w[k] * w[k];
}

static void tn_sums(const TN_REAL *wt, ptrdiff_t st, const TN_REAL *a, ptrdiff_t n_in, TN_REAL *out) {
    ptrdiff_t j, k;
    for (k = 0; k < st; k++)
        out[k] = wt[k] * a[0];
    for (j = 1; j < n_in; j++)
        for (k = 0; k < st; k++)
            out[k] = out[k] + wt[j * st + k] * a[j];
}

static void tn_sums4(const TN_REAL *wt, ptrdiff_t st, const TN_REAL *a, ptrdiff_t as, ptrdiff_t n_in,
                     TN_REAL *out, ptrdiff_t os) {
    ptrdiff_t r;
    for (r = 0; r < 4; r++)
        tn_sums(wt, st, a + r * as, n_in, out + r * os);
}

static void tn_grad(TN_REAL *gt, ptrdiff_t st, ptrdiff_t n_in, const TN_REAL *delta, ptrdiff_t ds,
                    const TN_REAL *a, ptrdiff_t as, ptrdiff_t nb, int fresh) {
    ptrdiff_t j, k, b;
    if (fresh)
        for (k = 0; k < n_in * st; k++)
            gt[k] = 0.0;
    for (b = 0; b < nb; b++)
        for (j = 0; j < n_in; j++)
            for (k = 0; k < st; k++)
                gt[j * st + k] = gt[j * st + k] + delta[b * ds + k] * a[b * as + j];
}

static void tn_back(const TN_REAL *w, ptrdiff_t st, ptrdiff_t n_in, ptrdiff_t n_out, const TN_REAL *g,
                    const TN_REAL *fp, TN_REAL *out) {
    ptrdiff_t j;
    for (j = 0; j < n_in; j++)
        out[j] = tn_back_row(w + j * st, n_out, g, fp);
}

static void tn_rows_descend(TN_REAL *w, ptrdiff_t st, ptrdiff_t n_in, const TN_REAL *g, const TN_REAL *fp,
                            const TN_REAL *a) {
    ptrdiff_t j, k;
    for (j = 0; j < n_in; j++)
        for (k = 0; k < st; k++)
            w[j * st + k] = TN_RULE(TN_SGD)(w[j * st + k], a[j] * fp[k], g[k]);
}

static void tn_rows_momentum(TN_REAL *w, TN_REAL *v, ptrdiff_t st, ptrdiff_t n_in, const TN_REAL *g,
                             const TN_REAL *fp, const TN_REAL *a, TN_REAL momentum) {
    ptrdiff_t j, k;
    for (j = 0; j < n_in; j++)
        for (k = 0; k < st; k++) {
            v[j * st + k] = TN_RULE(TN_VELOCITY)(v[j * st + k], a[j] * fp[k], momentum, g[k]);
            w[j * st + k] = w[j * st + k] + v[j * st + k];
        }
}

static void tn_rows_update_sums(TN_REAL *w, TN_REAL *v, ptrdiff_t st, ptrdiff_t n_in, const TN_REAL *g,
                                const TN_REAL *fp, const TN_REAL *a, TN_REAL momentum, const TN_REAL *x,
                                TN_REAL *out) {
    if (v)
        tn_rows_momentum(w, v, st, n_in, g, fp, a, momentum);
    else
        tn_rows_descend(w, st, n_in, g, fp, a);
    tn_sums(w, st, x, n_in, out);
}

#endif

/* The per-sample kernel's transposed copy of the layers after the first (neuron-major: row i, of its
 * input's stride sti, holds w[j][i] for j < n_in, the padding zero), kept equal to the working rows
 * element by element, so that backpropagation reads a layer's columns as rows: plain loops along j,
 * which the compiler turns into vectors, where tn_back transposes blocks of terms.
 * tn_back_t: tn_back's sums, out[j] = g[0] * (wt[0][j] * fp[0]) + g[1] * (wt[1][j] * fp[1]) + ...,
 *     the same terms added in the same order, for j < sti (beyond n_in, from the zero padding);
 * tn_rows_descend_t, tn_rows_momentum_t: tn_rows_descend's and tn_rows_momentum's update of each
 *     element, wt[i][j] -= g[i] * (a[j] * fp[i]) (through the velocities vt), the same operations on
 *     the same values: the copy stays equal, bit for bit. */
/* Whether the per-sample kernel keeps that copy, rather than sending g back through the working rows
 * (tn_back's TN_W x TN_W transposes): where a vector holds 8 or more. Measured on Zen 3 (v3) at
 * (64, 32, 10), per sample: the copy took 0.89x the time with 8 floats a vector, 1.09x with 4 doubles.
 * (v4's 8 doubles and 16 floats take the copy too, unmeasured: no AVX-512 machine at hand.) */
static inline int tn_back_by_copy(void) {
    return TN_W >= 8;
}

static inline void tn_rows_descend_t(TN_REAL *TN_RESTRICT wt, ptrdiff_t sti, ptrdiff_t n_in, ptrdiff_t n_out,
                                     const TN_REAL *TN_RESTRICT g, const TN_REAL *TN_RESTRICT fp,
                                     const TN_REAL *TN_RESTRICT a) {
    ptrdiff_t i, j;
    for (i = 0; i < n_out; i++) {
        const TN_REAL gi = g[i], fi = fp[i];
        TN_REAL *TN_RESTRICT row = wt + i * sti;
        for (j = 0; j < n_in; j++)
            row[j] = TN_RULE(TN_SGD)(row[j], a[j] * fi, gi);
    }
}

static inline void tn_rows_momentum_t(TN_REAL *TN_RESTRICT wt, TN_REAL *TN_RESTRICT vt, ptrdiff_t sti,
                                      ptrdiff_t n_in, ptrdiff_t n_out, const TN_REAL *TN_RESTRICT g,
                                      const TN_REAL *TN_RESTRICT fp, const TN_REAL *TN_RESTRICT a,
                                      TN_REAL momentum) {
    ptrdiff_t i, j;
    for (i = 0; i < n_out; i++) {
        const TN_REAL gi = g[i], fi = fp[i];
        TN_REAL *TN_RESTRICT row = wt + i * sti, *TN_RESTRICT vrow = vt + i * sti;
        for (j = 0; j < n_in; j++) {
            vrow[j] = TN_RULE(TN_VELOCITY)(vrow[j], a[j] * fi, momentum, gi);
            row[j] = row[j] + vrow[j];
        }
    }
}
