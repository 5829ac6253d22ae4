/*
 * The four BLAS routines Spark ALS calls through netlib's native BLAS (dev.ludovic.netlib), loaded by its JNI BLAS
 * as its native library: DSPR, which adds each rating's rank-one term to a user's or an item's normal equations,
 * DAXPY, which adds them up, and SNRM2 and SSCAL, which scale the random initial factors to unit length.
 *
 * Without a native BLAS, Spark runs netlib's Java BLAS (VectorBLAS, which takes most routines from Java8BLAS). Its
 * DSPR, one call per rating and per user or item in every iteration, is the largest part of a fit's Java time (44%
 * of its samples at 10x): its inner loop steps through x by a variable stride, which the JIT does not vectorise. Here every element gets the same
 * floating-point operations in the same order as in netlib's Java BLAS, so the results are bit-identical:
 * - DSPR as Java8BLAS: ap += alpha * x * x**T, each element as ap + (alpha * x(j)) * x(i), multiply then add;
 * - DAXPY as VectorBLAS: with unit strides, y + alpha * x fused (one rounding) in whole vectors of the JVM's widest
 *   double vector, the remainder multiplied then added; other strides fused throughout (Java11BLAS);
 * - SNRM2 as VectorBLAS: with a unit stride, a fused sum of squares per lane of the widest float vector, the lanes
 *   added in order, the remainder multiplied then added, the square root taken in double; other strides as
 *   Java11BLAS, four fused running sums. (Once JDK 25's JIT compiles VectorBLAS's snrm2 it adds the lanes in
 *   another order, which changes some norms in the last bit, and so ALS's factors from one fit to the next with
 *   the same seed; the order here is the one before, and JDK 17's throughout, in every call);
 * - SSCAL: each element times alpha.
 * The JVM's widest vector is JVM_VECTOR_BYTES when the build gives it (the Makefile reads HotSpot's MaxVectorSize,
 * which can be narrower than the CPU's), else the one this file is compiled for (-march=native: AVX-512 64 bytes,
 * AVX 32, else 16); tests/python/test_native_netlib.py checks it against the JVM.
 * Compile without floating-point contraction (-ffp-contract=off): the fused operations above are explicit fma()s.
 *
 * These are the only BLAS routines the library has: netlib answers any other with an error, so load it only in a
 * JVM whose native BLAS calls are ALS's (olist_recommender.spark.spark_session(native_netlib=True)).
 */
#include <math.h>

#if defined(JVM_VECTOR_BYTES) && JVM_VECTOR_BYTES >= 16
#define VECTOR_BYTES JVM_VECTOR_BYTES
#elif defined(__AVX512F__)
#define VECTOR_BYTES 64
#elif defined(__AVX__)
#define VECTOR_BYTES 32
#else
#define VECTOR_BYTES 16
#endif
#define DOUBLE_LANES (VECTOR_BYTES / 8)
#define FLOAT_LANES (VECTOR_BYTES / 4)

/* Fortran's start of a strided vector of n elements: at the far end when the stride is negative */
static int first_index(int n, int inc) { return inc < 0 ? (n - 1) * -inc : 0; }

/* ap[i] += x[i] * temp for i in [0, n): independent, so vectorised (multiply, then add: no contraction) */
static inline void add_scaled(double *restrict ap, const double *restrict x, double temp, int n) {
    for (int i = 0; i < n; i++) ap[i] += temp * x[i];
}

void dspr_(const char *uplo, const int *n_, const double *alpha_, const double *x, const int *incx_, double *ap) {
    const int n = *n_, incx = *incx_;
    const double alpha = *alpha_;
    if (alpha == 0.0) return;
    const int kx = first_index(n, incx);
    if (*uplo == 'U' || *uplo == 'u') {
        for (int j = 0, jx = kx; j < n; j++, jx += incx) {
            const double temp = alpha * x[jx];
            double *column = ap + (long)j * (j + 1) / 2;
            if (incx == 1) {
                add_scaled(column, x, temp, j + 1);
            } else {
                for (int i = 0, ix = kx; i <= j; i++, ix += incx) column[i] += temp * x[ix];
            }
        }
    } else if (*uplo == 'L' || *uplo == 'l') {
        for (int j = 0, jx = kx; j < n; j++, jx += incx) {
            const double temp = alpha * x[jx];
            double *column = ap + (long)j * (2 * n - j - 1) / 2;
            if (incx == 1) {
                add_scaled(column + j, x + j, temp, n - j);
            } else {
                for (int i = j, ix = jx; i < n; i++, ix += incx) column[i] += temp * x[ix];
            }
        }
    }
}

void daxpy_(const int *n_, const double *alpha_, const double *x, const int *incx_, double *y, const int *incy_) {
    const int n = *n_, incx = *incx_, incy = *incy_;
    const double alpha = *alpha_;
    if (incx == 1 && incy == 1) {
        const int whole = n - n % DOUBLE_LANES;
        int i = 0;
        for (; i < whole; i++) y[i] = fma(alpha, x[i], y[i]);
        for (; i < n; i++) y[i] += alpha * x[i];
        return;
    }
    for (int i = 0, ix = first_index(n, incx), iy = first_index(n, incy); i < n; i++, ix += incx, iy += incy) {
        y[iy] = fma(alpha, x[ix], y[iy]);
    }
}

float snrm2_(const int *n_, const float *x, const int *incx_) {
    const int n = *n_, incx = *incx_;
    float sum = 0.0f;
    if (incx == 1) {
        float lanes[FLOAT_LANES] = {0.0f};
        const int whole = n - n % FLOAT_LANES;
        int i = 0;
        for (; i < whole; i += FLOAT_LANES) {
            for (int l = 0; l < FLOAT_LANES; l++) lanes[l] = fmaf(x[i + l], x[i + l], lanes[l]);
        }
        for (int l = 0; l < FLOAT_LANES; l++) sum += lanes[l];
        for (; i < n; i++) sum += x[i] * x[i];
    } else if (incx > 0) { /* Java11BLAS's loops run while ix < n * incx: nothing for a stride below one */
        float sums[4] = {0.0f};
        int i = 0, ix = 0;
        for (; i + 4 <= n; i += 4, ix += 4 * incx) {
            for (int l = 0; l < 4; l++) sums[l] = fmaf(x[ix + l * incx], x[ix + l * incx], sums[l]);
        }
        sum = sums[0] + sums[1] + sums[2] + sums[3];
        for (; i < n; i++, ix += incx) sum = fmaf(x[ix], x[ix], sum);
    }
    return (float)sqrt((double)sum);
}

void sscal_(const int *n_, const float *alpha_, float *x, const int *incx_) {
    const int n = *n_, incx = *incx_;
    const float alpha = *alpha_;
    if (incx <= 0) return; /* as Java11BLAS's loop, which runs while ix < n * incx */
    for (int i = 0, ix = 0; i < n; i++, ix += incx) x[ix] *= alpha;
}
