"""The project's C library for Spark ALS's linear algebra (python_jobs/olist_recommender/native/: LAPACK's dppsv
and the BLAS routines dspr, daxpy, snrm2, sscal), which ALS's fits use through netlib's JNI LAPACK and BLAS in the
job's session: loaded by netlib in the real JVM, and bit-identical to netlib's Java code, the one Spark uses
without it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from py4j.java_gateway import get_field

from olist_recommender.spark import native_netlib_path

# little-endian numpy dtype -> the Java array's element type and the java.nio view that fills it
_JAVA_TYPES = {"<f8": ("double", "asDoubleBuffer"), "<f4": ("float", "asFloatBuffer")}


def _to_java(gateway, values: np.ndarray, dtype: str = "<f8"):
    """A Java double[] (or float[]) holding `values`, passed as bytes (one call, not one per element)."""
    jvm = gateway.jvm
    element, view = _JAVA_TYPES[dtype]
    data = np.ascontiguousarray(values, dtype=dtype)
    array = gateway.new_array(getattr(jvm, element), len(data))
    little_endian = jvm.java.nio.ByteOrder.LITTLE_ENDIAN
    getattr(jvm.java.nio.ByteBuffer.wrap(data.tobytes()).order(little_endian), view)().get(array)
    return array


def _from_java(gateway, array, dtype: str = "<f8") -> np.ndarray:
    jvm = gateway.jvm
    _, view = _JAVA_TYPES[dtype]
    size = np.dtype(dtype).itemsize
    buffer = jvm.java.nio.ByteBuffer.allocate(size * len(array)).order(jvm.java.nio.ByteOrder.LITTLE_ENDIAN)
    getattr(buffer, view)().put(array)
    return np.frombuffer(bytes(buffer.array()), dtype=dtype)


def _packed(matrix: np.ndarray, uplo: str) -> np.ndarray:
    """LAPACK's packed storage, column by column: the upper triangle (uplo U) or the lower one (L)."""
    n = len(matrix)
    if uplo == "U":
        return np.concatenate([matrix[: j + 1, j] for j in range(n)]) if n else np.empty(0)
    return np.concatenate([matrix[j:, j] for j in range(n)]) if n else np.empty(0)


def _solve(gateway, lapack, uplo: str, n: int, nrhs: int, ap: np.ndarray, b: np.ndarray, ldb: int):
    """dppsv through `lapack`: (the factor in packed storage, the solutions, info)."""
    java_ap, java_b = _to_java(gateway, ap), _to_java(gateway, b)
    info = gateway.jvm.org.netlib.util.intW(0)
    lapack.dppsv(uplo, n, nrhs, java_ap, java_b, ldb, info)
    return _from_java(gateway, java_ap), _from_java(gateway, java_b), get_field(info, "val")


def _gateway_with_the_native_library(spark):
    if native_netlib_path() is None:
        if shutil.which("cc") is None:
            pytest.skip("no C compiler, so `make venv` built no native library: ALS uses netlib's Java code")
        pytest.fail("a C compiler is here but the native library is not built: run `make venv`")
    return spark.sparkContext._gateway


@pytest.fixture(scope="module")
def lapacks(spark):
    gateway = _gateway_with_the_native_library(spark)
    jvm = gateway.jvm
    native = jvm.dev.ludovic.netlib.lapack.NativeLAPACK.getInstance()  # what Spark's ALS solves with, when it loads
    java = jvm.dev.ludovic.netlib.lapack.F2jLAPACK.getInstance()
    return gateway, native, java


@pytest.fixture(scope="module")
def blases(spark):
    """(gateway, the BLAS Spark ALS calls, the Java BLAS Spark falls back to when no native BLAS loads)."""
    gateway = _gateway_with_the_native_library(spark)
    jvm = gateway.jvm
    spark_blas = jvm.java.lang.Class.forName("org.apache.spark.ml.linalg.BLAS$").getField("MODULE$").get(None)
    return gateway, spark_blas.nativeBLAS(), spark_blas.javaBLAS()


def test_spark_loads_the_native_dppsv(lapacks) -> None:
    _, native, _ = lapacks
    assert native.getClass().getName() == "dev.ludovic.netlib.lapack.JNILAPACK"


@pytest.mark.parametrize("uplo", ["U", "L"])
def test_native_dppsv_is_netlibs_java_lapack_to_the_last_bit(lapacks, uplo: str) -> None:
    """Positive definite systems of ALS's sizes and odd ones (whole blocks of the library's vector width, 2, 4 or 8
    columns, and remainders), several right-hand sides with a leading dimension larger than n, zeros in them (the
    reference skips those columns), and matrices that are not positive definite (the factorisation stops at the
    first minor that is not positive, leaving A as the reference does, and reports its order): in the middle, at
    the start of a block of 8 and in the last column."""
    gateway, native, java = lapacks
    rng = np.random.default_rng(11)
    sizes = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 64, 65, 70]
    failing_columns = {n: sorted({n // 2, 8 * (n // 16), n - 1}) for n in sizes}
    cases = 0
    for n in sizes:
        for nrhs, ldb in [(1, n), (3, n + 2)]:
            for failing in [None, *failing_columns[n]]:
                m = rng.normal(size=(n, n))
                matrix = m @ m.T + 0.1 * np.eye(n)
                if failing is not None:
                    matrix[failing, failing] = -1.0  # the minor of order failing + 1 is not positive
                b = rng.normal(size=ldb * nrhs)
                b[rng.random(len(b)) < 0.2] = 0.0
                ap = _packed(matrix, uplo)
                got = _solve(gateway, native, uplo, n, nrhs, ap, b, ldb)
                want = _solve(gateway, java, uplo, n, nrhs, ap, b, ldb)
                assert got[2] == want[2], (uplo, n, nrhs, failing)
                assert got[2] == (0 if failing is None else failing + 1)
                assert got[0].tobytes() == want[0].tobytes(), (uplo, n, nrhs, failing, "factor")
                assert got[1].tobytes() == want[1].tobytes(), (uplo, n, nrhs, failing, "solution")
                cases += 1
    assert cases == 2 * sum(1 + len(columns) for columns in failing_columns.values())


def test_native_dppsv_solves_the_system(lapacks) -> None:
    """Beyond matching netlib: the solution solves A x = b (a rank-32 system like ALS's)."""
    gateway, native, _ = lapacks
    rng = np.random.default_rng(3)
    m = rng.normal(size=(32, 32))
    matrix = m @ m.T + np.eye(32)
    b = rng.normal(size=32)
    _, x, info = _solve(gateway, native, "U", 32, 1, _packed(matrix, "U"), b, 32)
    assert info == 0
    np.testing.assert_allclose(matrix @ x, b, rtol=0, atol=1e-9)


def test_spark_als_builds_its_equations_with_the_native_blas(blases) -> None:
    _, native, java = blases
    assert native.getClass().getName() == "dev.ludovic.netlib.blas.JNIBLAS"
    assert java.getClass().getName() != "dev.ludovic.netlib.blas.JNIBLAS"


def _strided(rng: np.random.Generator, n: int, inc: int, dtype: str) -> np.ndarray:
    """A vector of n elements at stride |inc|, a fifth of them zero (netlib's Java dspr, unlike the reference BLAS,
    does not skip a zero x(j), so neither may the C)."""
    values = rng.normal(size=max(1, 1 + (n - 1) * abs(inc))).astype(dtype)
    values[rng.random(len(values)) < 0.2] = 0.0
    return values


@pytest.mark.parametrize("uplo", ["U", "L"])
def test_native_dspr_is_netlibs_java_blas_to_the_last_bit(blases, uplo: str) -> None:
    """ap + alpha * x * x**T in packed storage: ALS's ranks and odd sizes, unit and other strides (a negative one
    starts at the far end), alpha 0 (nothing changes) and negative."""
    gateway, native, java = blases
    rng = np.random.default_rng(5)
    cases = 0
    for n in [1, 2, 3, 5, 16, 31, 32, 33, 70]:
        for incx in [1, 2, -3]:
            for alpha in [1.0, 0.37, -2.5, 0.0]:
                x = _strided(rng, n, incx, "<f8")
                ap = rng.normal(size=n * (n + 1) // 2)
                results = []
                for blas in (native, java):
                    java_ap = _to_java(gateway, ap)
                    blas.dspr(uplo, n, alpha, _to_java(gateway, x), incx, java_ap)
                    results.append(_from_java(gateway, java_ap))
                assert results[0].tobytes() == results[1].tobytes(), (uplo, n, incx, alpha)
                cases += 1
    assert cases == 108
    # and it computes ap + alpha * x * x**T
    x = rng.normal(size=32)
    ap = _to_java(gateway, np.zeros(32 * 33 // 2))
    native.dspr(uplo, 32, 0.5, _to_java(gateway, x), 1, ap)
    np.testing.assert_allclose(_from_java(gateway, ap), _packed(0.5 * np.outer(x, x), uplo), rtol=1e-15)


def test_native_daxpy_is_netlibs_java_blas_to_the_last_bit(blases) -> None:
    """y + alpha * x: the sizes ALS adds (rank and rank * (rank + 1) / 2) and sizes around the JVM's vector width,
    whose remainders the Java code adds without a fused multiply-add; strides other than one."""
    gateway, native, java = blases
    rng = np.random.default_rng(7)
    cases = 0
    for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 32, 136, 528, 529, 531]:
        for incx, incy in [(1, 1), (2, 1), (1, -2), (-1, -1)]:
            for alpha in [1.0, 0.1, -3.0]:
                x, y = _strided(rng, n, incx, "<f8"), _strided(rng, n, incy, "<f8")
                results = []
                for blas in (native, java):
                    java_y = _to_java(gateway, y)
                    blas.daxpy(n, alpha, _to_java(gateway, x), incx, java_y, incy)
                    results.append(_from_java(gateway, java_y))
                assert results[0].tobytes() == results[1].tobytes(), (n, incx, incy, alpha)
                cases += 1
    assert cases == 204


def test_native_snrm2_and_sscal_are_netlibs_java_blas_to_the_last_bit(blases) -> None:
    """ALS's initial factors: random floats scaled to unit length by snrm2 and sscal, of every rank up to 70 (whole
    vectors of the JVM's widest float vector and remainders), with strides other than one (a negative one: a norm
    of 0, and nothing scaled). Netlib's Java snrm2 is still interpreted here (ALS calls the native one): compiled
    by JDK 25's JIT, it adds its lanes in another order."""
    gateway, native, java = blases
    rng = np.random.default_rng(9)
    cases = 0
    for n in range(1, 71):
        for inc in [1, 3, -2]:
            x = _strided(rng, n, inc, "<f4")
            norms = [blas.snrm2(n, _to_java(gateway, x, "<f4"), inc) for blas in (native, java)]
            assert np.float32(norms[0]).tobytes() == np.float32(norms[1]).tobytes(), (n, inc)
            scale = float(np.float32(1.0) / np.float32(norms[1] or 1.0))
            results = []
            for blas in (native, java):
                java_x = _to_java(gateway, x, "<f4")
                blas.sscal(n, scale, java_x, inc)
                results.append(_from_java(gateway, java_x, "<f4"))
            assert results[0].tobytes() == results[1].tobytes(), (n, inc)
            cases += 1
    assert cases == 210
    x = rng.normal(size=32).astype(np.float32)
    assert native.snrm2(32, _to_java(gateway, x, "<f4"), 1) == pytest.approx(float(np.linalg.norm(x)), rel=1e-6)
