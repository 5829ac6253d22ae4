/*
 * LAPACK's DPPSV for Spark ALS's least-squares solves, loaded by netlib's JNI LAPACK (dev.ludovic.netlib) as its
 * native library: solves A * X = B for a symmetric positive definite A in packed storage, by A = U**T * U (or
 * L * L**T) and two triangular solves, as the reference DPPSV (DPPTRF, then DPPTRS) does.
 *
 * Spark ALS solves one such system of rank x rank per user and per item in every iteration, through netlib's Java
 * translation of the reference routines, whose inner loop is one chain of dependent multiply-subtracts. Here every
 * element gets the same floating-point operations in the same order as in the reference routines, so the result is
 * bit-identical to netlib's Java LAPACK; the upper factorisation runs right-looking on a copy kept by rows, so that
 * its inner loops are independent subtractions, four at a time.
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

/*
 * U**T * U = A, right-looking, on a full n x n copy of the upper triangle kept by rows (full[k * n + j] = A(k, j),
 * j >= k), so that a row of U and each row's update are contiguous. diag_sum holds n doubles: the sums of squares
 * that the reference subtracts from each diagonal element at once (AJJ = AP(JJ) - DDOT(...)), not one by one. On a
 * leading minor that is not positive, returns its order with the rows done so far written back, as the reference's
 * column-by-column loop leaves A: columns up to k factored, U(k, k) holding the non-positive value, later columns
 * as given.
 */
static int factor_upper(int n, double *ap, double *restrict full, double *restrict diag_sum) {
    for (int j = 0; j < n; j++) {
        for (int i = 0; i <= j; i++) full[i * n + j] = ap[upper_at(i, j)];
        diag_sum[j] = 0.0;
    }
    int info = 0;
    int k = 0;
    for (; k < n; k++) {
        double *row = full + k * n;
        double akk = row[k] - diag_sum[k];
        if (akk <= 0.0) {
            row[k] = akk;
            info = k + 1;
            break;
        }
        double ukk = sqrt(akk);
        row[k] = ukk;
        for (int j = k + 1; j < n; j++) row[j] /= ukk;
        for (int j = k + 1; j < n; j++) diag_sum[j] += row[j] * row[j];
        for (int i = k + 1; i < n - 1; i++) subtract_scaled(full + i * n + i + 1, row + i + 1, row[i], n - i - 1);
    }
    int last = info ? k : n - 1; /* columns after a failed column k stay as given */
    for (int j = 0; j <= last; j++)
        for (int i = 0; i <= j; i++) ap[upper_at(i, j)] = full[i * n + j];
    return info;
}

/* U**T * x = b (reference DTPSV, upper, transposed), from U's rows in `full`. */
static void solve_upper_transposed(int n, const double *restrict full, double *restrict x) {
    for (int i = 0; i < n; i++) {
        const double *row = full + i * n;
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
        double stack[64 * 64 + 64];
        size_t size = (size_t)*n * *n + *n;
        double *work = size <= sizeof(stack) / sizeof(stack[0]) ? stack : malloc(size * sizeof(double));
        if (work == NULL) { /* reported as an illegal N: LAPACK has no code for a lack of memory */
            *info = -2;
            return;
        }
        *info = factor_upper(*n, ap, work, work + (size_t)*n * *n);
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
