"""The project's C dppsv (python_jobs/olist_recommender/native/dppsv.c), which Spark ALS's least-squares solves use
through netlib's JNI LAPACK in the job's session: loaded by netlib in the real JVM, and bit-identical to netlib's
Java LAPACK, the one Spark uses without it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from py4j.java_gateway import get_field

from olist_recommender.spark import native_lapack_path


def _to_java(gateway, values: np.ndarray):
    """A Java double[] holding `values`, passed as bytes (one call, not one per element)."""
    jvm = gateway.jvm
    data = np.ascontiguousarray(values, dtype="<f8")
    array = gateway.new_array(jvm.double, len(data))
    little_endian = jvm.java.nio.ByteOrder.LITTLE_ENDIAN
    jvm.java.nio.ByteBuffer.wrap(data.tobytes()).order(little_endian).asDoubleBuffer().get(array)
    return array


def _from_java(gateway, array) -> np.ndarray:
    jvm = gateway.jvm
    little_endian = jvm.java.nio.ByteOrder.LITTLE_ENDIAN
    buffer = jvm.java.nio.ByteBuffer.allocate(8 * len(array)).order(little_endian)
    buffer.asDoubleBuffer().put(array)
    return np.frombuffer(bytes(buffer.array()), dtype="<f8")


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


@pytest.fixture(scope="module")
def lapacks(spark):
    path = native_lapack_path()
    if path is None:
        if shutil.which("cc") is None:
            pytest.skip("no C compiler, so `make venv` built no native dppsv: ALS uses netlib's Java LAPACK")
        pytest.fail("a C compiler is here but the native dppsv is not built: run `make venv`")
    gateway = spark.sparkContext._gateway
    jvm = gateway.jvm
    native = jvm.dev.ludovic.netlib.lapack.NativeLAPACK.getInstance()  # what Spark's ALS solves with, when it loads
    java = jvm.dev.ludovic.netlib.lapack.F2jLAPACK.getInstance()
    return gateway, native, java


def test_spark_loads_the_native_dppsv(lapacks) -> None:
    _, native, _ = lapacks
    assert native.getClass().getName() == "dev.ludovic.netlib.lapack.JNILAPACK"


@pytest.mark.parametrize("uplo", ["U", "L"])
def test_native_dppsv_is_netlibs_java_lapack_to_the_last_bit(lapacks, uplo: str) -> None:
    """Positive definite systems of ALS's sizes and odd ones (a block of four and a remainder), several right-hand
    sides with a leading dimension larger than n, zeros in them (the reference skips those columns), and matrices
    that are not positive definite (the factorisation stops at the first minor that is not positive, leaving A as
    the reference does, and reports its order)."""
    gateway, native, java = lapacks
    rng = np.random.default_rng(11)
    cases = 0
    for n in [1, 2, 3, 4, 5, 7, 16, 17, 31, 32, 33, 70]:
        for nrhs, ldb in [(1, n), (3, n + 2)]:
            for positive_definite in [True, False]:
                m = rng.normal(size=(n, n))
                matrix = m @ m.T + 0.1 * np.eye(n)
                if not positive_definite:
                    matrix[n // 2, n // 2] = -1.0  # a negative diagonal: the minor of order n // 2 + 1 is not positive
                b = rng.normal(size=ldb * nrhs)
                b[rng.random(len(b)) < 0.2] = 0.0
                ap = _packed(matrix, uplo)
                got = _solve(gateway, native, uplo, n, nrhs, ap, b, ldb)
                want = _solve(gateway, java, uplo, n, nrhs, ap, b, ldb)
                assert got[2] == want[2], (uplo, n, nrhs, positive_definite)
                assert got[2] == (0 if positive_definite else n // 2 + 1)
                assert got[0].tobytes() == want[0].tobytes(), (uplo, n, nrhs, positive_definite, "factor")
                assert got[1].tobytes() == want[1].tobytes(), (uplo, n, nrhs, positive_definite, "solution")
                cases += 1
    assert cases == 48


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
