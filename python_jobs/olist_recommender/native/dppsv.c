/*
 * LAPACK's DPPSV for Spark ALS's least-squares solves, loaded by netlib's JNI LAPACK (dev.ludovic.netlib) as its
 * native library: solves A * X = B for a symmetric positive definite A in packed storage, by A = U**T * U (or
 * L * L**T) and two triangular solves, as the reference DPPSV (DPPTRF, then DPPTRS) does.
 *
 * Spark ALS solves one such system of rank x rank per user and per item in every iteration, through netlib's Java
 * translation of the reference routines, whose inner loop is one chain of dependent multiply-subtracts. Here every
 * element gets the same floating-point operations in the same order as in the reference routines, so the result is
 * bit-identical to netlib's Java LAPACK. The upper factorisation (Spark's) runs by rows of U on a copy kept by rows:
 * each row is updated by every earlier row in blocks of columns that stay in vector registers meanwhile, so
 * that its subtractions are independent across columns and nothing is stored until the row is done.
 * Compile without floating-point contraction (-ffp-contract=off): a fused multiply-add rounds differently.
 *
 * This is the only LAPACK routine the library has: netlib answers any other with an error, so load it only in a
 * JVM whose LAPACK calls are ALS's (olist_recommender.spark.spark_session(native_netlib=True)).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static size_t upper_at(int i, int j) { return (size_t)j * (j + 1) / 2 + i; }

static size_t lower_at(int i, int j, int n) { return (size_t)j * (2 * (size_t)n - j - 1) / 2 + i; }

/* four doubles, loaded and stored unaligned */
typedef double four_doubles __attribute__((vector_size(32), aligned(8)));

/*
 * A block: the doubles of the widest vector this file is compiled for, loaded and stored aligned (a piece of a row
 * of the factor's copy); up to GROUP blocks are updated at once.
 */
#if defined(__AVX512F__)
#define BLOCK 8
#define LANES {0, 1, 2, 3, 4, 5, 6, 7}
#elif defined(__AVX__)
#define BLOCK 4
#define LANES {0, 1, 2, 3}
#else
#define BLOCK 2
#define LANES {0, 1}
#endif
#define GROUP 4
typedef double block_t __attribute__((vector_size(BLOCK * 8)));
typedef long long block_mask __attribute__((vector_size(BLOCK * 8)));
/* a block loaded and stored unaligned: a piece of a packed column */
typedef double block_u __attribute__((vector_size(BLOCK * 8), aligned(8)));

/*
 * x[i] -= row[i] * scale for i in [0, n): independent subtractions, four at a time, written with GCC's vector type
 * so that they are vectorised whatever the compiler's cost model makes of such short loops (n < rank).
 */
static inline void subtract_scaled(double *restrict x, const double *restrict row, double scale, int n) {
    four_doubles s = {scale, scale, scale, scale};
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        four_doubles *xi = (four_doubles *)(x + i);
        *xi -= *(const four_doubles *)(row + i) * s;
    }
    for (; i < n; i++) x[i] -= row[i] * scale;
}

/* the row stride of the factor's copy: n rounded up to whole blocks */
static int row_stride(int n) { return (n + BLOCK - 1) / BLOCK * BLOCK; }

/* a BLOCK x BLOCK block's rows from its columns (or its columns from its rows), in registers */
static inline void transpose(block_t v[BLOCK]) {
#if BLOCK == 8
    const block_mask even = {0, 8, 2, 10, 4, 12, 6, 14}, odd = {1, 9, 3, 11, 5, 13, 7, 15};
    const block_mask low2 = {0, 1, 8, 9, 4, 5, 12, 13}, high2 = {2, 3, 10, 11, 6, 7, 14, 15};
    const block_mask low4 = {0, 1, 2, 3, 8, 9, 10, 11}, high4 = {4, 5, 6, 7, 12, 13, 14, 15};
    block_t t[8], s[8];
    for (int r = 0; r < 8; r += 2) {
        t[r] = __builtin_shuffle(v[r], v[r + 1], even);
        t[r + 1] = __builtin_shuffle(v[r], v[r + 1], odd);
    }
    for (int r = 0; r < 8; r += 4) {
        s[r] = __builtin_shuffle(t[r], t[r + 2], low2);
        s[r + 1] = __builtin_shuffle(t[r + 1], t[r + 3], low2);
        s[r + 2] = __builtin_shuffle(t[r], t[r + 2], high2);
        s[r + 3] = __builtin_shuffle(t[r + 1], t[r + 3], high2);
    }
    for (int r = 0; r < 4; r++) {
        v[r] = __builtin_shuffle(s[r], s[r + 4], low4);
        v[r + 4] = __builtin_shuffle(s[r], s[r + 4], high4);
    }
#elif BLOCK == 4
    const block_mask even = {0, 4, 2, 6}, odd = {1, 5, 3, 7}, low2 = {0, 1, 4, 5}, high2 = {2, 3, 6, 7};
    block_t t0 = __builtin_shuffle(v[0], v[1], even), t1 = __builtin_shuffle(v[0], v[1], odd);
    block_t t2 = __builtin_shuffle(v[2], v[3], even), t3 = __builtin_shuffle(v[2], v[3], odd);
    v[0] = __builtin_shuffle(t0, t2, low2);
    v[1] = __builtin_shuffle(t1, t3, low2);
    v[2] = __builtin_shuffle(t0, t2, high2);
    v[3] = __builtin_shuffle(t1, t3, high2);
#else
    const block_mask low = {0, 2}, high = {1, 3};
    block_t t0 = __builtin_shuffle(v[0], v[1], low);
    v[1] = __builtin_shuffle(v[0], v[1], high);
    v[0] = t0;
#endif
}

/*
 * Between packed storage (the upper triangle by columns) and the row copy (full[i * ld + j] = A(i, j), j >= i), in
 * blocks of BLOCK x BLOCK: a block wholly above the diagonal is moved a vector at a time and transposed in
 * registers, the others element by element. to_rows: ap -> full, else full -> ap for the columns up to `last`.
 */
static void move_upper(int n, int ld, double *ap, double *full, int to_rows, int last) {
    for (int i0 = 0; i0 < n; i0 += BLOCK)
        for (int j0 = i0; j0 <= last; j0 += BLOCK) {
            if (j0 > i0 && j0 + BLOCK <= last + 1) { /* above the diagonal (i0 + BLOCK <= j0), every element there */
                block_t v[BLOCK];
                if (to_rows) {
                    for (int m = 0; m < BLOCK; m++) v[m] = *(const block_u *)(ap + upper_at(i0, j0 + m));
                    transpose(v);
                    for (int r = 0; r < BLOCK; r++) *(block_t *)(full + (size_t)(i0 + r) * ld + j0) = v[r];
                } else {
                    for (int r = 0; r < BLOCK; r++) v[r] = *(const block_t *)(full + (size_t)(i0 + r) * ld + j0);
                    transpose(v);
                    for (int m = 0; m < BLOCK; m++) *(block_u *)(ap + upper_at(i0, j0 + m)) = v[m];
                }
                continue;
            }
            const int j_end = j0 + BLOCK <= last + 1 ? j0 + BLOCK : last + 1;
            for (int j = j0; j < j_end; j++) {
                double *column = ap + upper_at(0, j);
                const int i_end = i0 + BLOCK <= j + 1 ? i0 + BLOCK : j + 1;
                for (int i = i0; i < i_end; i++) {
                    if (to_rows) full[(size_t)i * ld + j] = column[i];
                    else column[i] = full[(size_t)i * ld + j];
                }
            }
        }
}

/*
 * acc[b] = row_i[b] - sum over k < i of U(k, i) * U(k, b), subtracted one k after the other (k ascending), for the
 * nb <= GROUP blocks from column `from` on: the blocks stay in registers while k runs, and each element gets the
 * reference's subtractions in the reference's order.
 */
_Static_assert(GROUP == 4, "row_update holds GROUP blocks in a0..a3");
static inline void row_update(const double *restrict full, int ld, int i, int from, int nb, block_t *acc) {
    const double *row_i = full + (size_t)i * ld + from;
    block_t a0 = *(const block_t *)row_i, a1 = a0, a2 = a0, a3 = a0;
    if (nb > 1) a1 = *(const block_t *)(row_i + BLOCK);
    if (nb > 2) a2 = *(const block_t *)(row_i + 2 * BLOCK);
    if (nb > 3) a3 = *(const block_t *)(row_i + 3 * BLOCK);
    for (int k = 0; k < i; k++) {
        const double *row_k = full + (size_t)k * ld;
        const double u = row_k[i];
        const block_t *b = (const block_t *)(row_k + from);
        a0 -= b[0] * u;
        if (nb > 1) a1 -= b[1] * u;
        if (nb > 2) a2 -= b[2] * u;
        if (nb > 3) a3 -= b[3] * u;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/*
 * U**T * U = A, by rows of U: row i is A's row i less the products with every earlier row, divided by U(i, i).
 * Works on a full copy of the upper triangle kept by rows (full[i * ld + j] = A(i, j), j >= i, zero elsewhere), so
 * that each row's update runs over contiguous blocks held in registers. diag_sum holds ld doubles: the sums of
 * squares that the reference subtracts from each diagonal element at once (AJJ = AP(JJ) - DDOT(...)), not one by
 * one. On a leading minor that is not positive, returns its order with the rows done so far written back, as the
 * reference's column-by-column loop leaves A: columns up to i factored, U(i, i) holding the non-positive value,
 * later columns as given.
 */
static int factor_upper(int n, double *ap, double *restrict full, double *restrict diag_sum) {
    const int ld = row_stride(n);
    memset(full, 0, (size_t)n * ld * sizeof(double));
    memset(diag_sum, 0, (size_t)ld * sizeof(double));
    move_upper(n, ld, ap, full, 1, n - 1);
    const block_mask lane = LANES;
    int info = 0;
    int i = 0;
    for (; i < n; i++) {
        double *row_i = full + (size_t)i * ld;
        const double aii = row_i[i];
        const int first = i / BLOCK * BLOCK;
        block_t acc[GROUP];
        double akk = aii - diag_sum[i];
        if (akk <= 0.0) {
            row_i[i] = akk;
            info = i + 1;
            break;
        }
        const double uii = sqrt(akk);
        for (int from = first; from < ld; from += GROUP * BLOCK) {
            int nb = (ld - from) / BLOCK;
            if (nb > GROUP) nb = GROUP;
            row_update(full, ld, i, from, nb, acc);
            for (int b = 0; b < nb; b++) {
                block_t u = acc[b] / uii;
                if (from + b * BLOCK == first) /* the columns before i are not U's: zero */
                    u = (block_t)((block_mask)u & (lane + first >= i));
                *(block_t *)(row_i + from + b * BLOCK) = u;
                block_t *d = (block_t *)(diag_sum + from + b * BLOCK);
                *d += u * u;
            }
        }
        row_i[i] = uii;
    }
    move_upper(n, ld, ap, full, 0, info ? i : n - 1); /* columns after a failed column i stay as given */
    return info;
}

/* U**T * x = b (reference DTPSV, upper, transposed), from U's rows in `full`. */
static void solve_upper_transposed(int n, const double *restrict full, double *restrict x) {
    const int ld = row_stride(n);
    for (int i = 0; i < n; i++) {
        const double *row = full + (size_t)i * ld;
        double xi = x[i] / row[i];
        x[i] = xi;
        subtract_scaled(x + i + 1, row + i + 1, xi, n - i - 1);
    }
}

/* U * x = b (reference DTPSV, upper, not transposed), from U's packed columns. */
static void solve_upper(int n, const double *ap, double *x) {
    for (int j = n - 1; j >= 0; j--) {
        if (x[j] != 0.0) {
            const double *col = ap + upper_at(0, j);
            double xj = x[j] / col[j];
            x[j] = xj;
            subtract_scaled(x, col, xj, j);
        }
    }
}

/* L * L**T = A (reference DPPTRF, lower: scale by the reciprocal, then a rank-1 update). */
static int factor_lower(int n, double *ap) {
    for (int j = 0; j < n; j++) {
        size_t jj = lower_at(j, j, n);
        double ajj = ap[jj];
        if (ajj <= 0.0) return j + 1;
        ajj = sqrt(ajj);
        ap[jj] = ajj;
        double scale = 1.0 / ajj;
        for (int i = j + 1; i < n; i++) ap[lower_at(i, j, n)] *= scale;
        for (int c = j + 1; c < n; c++) {
            double xc = ap[lower_at(c, j, n)];
            if (xc != 0.0) {
                double temp = -1.0 * xc;
                for (int i = c; i < n; i++) ap[lower_at(i, c, n)] += ap[lower_at(i, j, n)] * temp;
            }
        }
    }
    return 0;
}

/* L * x = b, then L**T * x = b (reference DTPSV, lower). */
static void solve_lower(int n, const double *ap, double *x) {
    for (int j = 0; j < n; j++) {
        if (x[j] != 0.0) {
            double xj = x[j] / ap[lower_at(j, j, n)];
            x[j] = xj;
            for (int i = j + 1; i < n; i++) x[i] -= xj * ap[lower_at(i, j, n)];
        }
    }
    for (int j = n - 1; j >= 0; j--) {
        double temp = x[j];
        for (int i = n - 1; i > j; i--) temp -= ap[lower_at(i, j, n)] * x[i];
        x[j] = temp / ap[lower_at(j, j, n)];
    }
}

void dppsv_(const char *uplo, const int *n, const int *nrhs, double *ap, double *b, const int *ldb, int *info) {
    int upper = *uplo == 'U' || *uplo == 'u';
    *info = 0;
    if (!upper && *uplo != 'L' && *uplo != 'l') *info = -1;
    else if (*n < 0) *info = -2;
    else if (*nrhs < 0) *info = -3;
    else if (*ldb < (*n > 1 ? *n : 1)) *info = -6;
    if (*info != 0 || *n == 0) return;

    if (upper) {
        double stack[64 * 64 + 64] __attribute__((aligned(64)));
        size_t ld = row_stride(*n), size = (size_t)*n * ld + ld;
        double *work = size <= sizeof(stack) / sizeof(stack[0]) ? stack : aligned_alloc(64, size * sizeof(double));
        if (work == NULL) { /* reported as an illegal N: LAPACK has no code for a lack of memory */
            *info = -2;
            return;
        }
        *info = factor_upper(*n, ap, work, work + (size_t)*n * ld);
        for (int r = 0; *info == 0 && r < *nrhs; r++) {
            double *x = b + (size_t)r * *ldb;
            solve_upper_transposed(*n, work, x);
            solve_upper(*n, ap, x);
        }
        if (work != stack) free(work);
        return;
    }
    *info = factor_lower(*n, ap);
    for (int r = 0; *info == 0 && r < *nrhs; r++) solve_lower(*n, ap, b + (size_t)r * *ldb);
}
