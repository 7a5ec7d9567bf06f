using System.Runtime.InteropServices;

namespace EmDsl.Numerics;

/// <summary>
/// Dense linear algebra through the system's OpenBLAS, bound at run time with <see cref="NativeLibrary"/>
/// (no build-time dependency): cblas_dgemm for products, LAPACK dpotrf_ for Cholesky and cblas_dtrsm for
/// triangular solves. EmDsl parallelises over chunks itself and calls OpenBLAS on small blocks, so by default it
/// sets OpenBLAS to one thread when it loads the library; OpenBLAS (0.3.21, Debian 12) has only a process-wide
/// setting, so a user who sets <c>OPENBLAS_NUM_THREADS</c>, <c>GOTO_NUM_THREADS</c> or <c>OMP_NUM_THREADS</c> keeps
/// that choice: EmDsl then leaves the count alone (<see cref="ThreadsChosenBy"/> says which happened).
/// </summary>
internal sealed unsafe class OpenBlasBackend : IDenseBackend
{
    /// <summary>File names tried, in order, on each platform.</summary>
    internal static readonly string[] CandidateNames = OperatingSystem.IsWindows()
        ? ["libopenblas.dll", "openblas.dll"]
        : OperatingSystem.IsMacOS()
            ? ["libopenblas.0.dylib", "libopenblas.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", "/usr/local/opt/openblas/lib/libopenblas.dylib"]
            : ["libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"];

    private const int RowMajor = 101, NoTrans = 111, Trans = 112, Lower = 122, Left = 141, NonUnit = 131;

    private readonly delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void> _dgemm;
    private readonly delegate* unmanaged<int, int, int, int, int, int, int, double, double*, int, double*, int, void> _dtrsm;
    private readonly delegate* unmanaged<byte*, int*, double*, int*, int*, nuint, void> _dpotrf;

    public string Name => "openblas";

    /// <summary>The library file that was loaded.</summary>
    public string LibraryName { get; }

    private OpenBlasBackend(nint handle, string name)
    {
        LibraryName = name;
        _dgemm = (delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void>)
            NativeLibrary.GetExport(handle, "cblas_dgemm");
        _dtrsm = (delegate* unmanaged<int, int, int, int, int, int, int, double, double*, int, double*, int, void>)
            NativeLibrary.GetExport(handle, "cblas_dtrsm");
        _dpotrf = (delegate* unmanaged<byte*, int*, double*, int*, int*, nuint, void>)NativeLibrary.GetExport(handle, "dpotrf_");
        var userChoice = ThreadVariables.FirstOrDefault(v => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(v)));
        if (userChoice is null && NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var setThreads))
        {
            ((delegate* unmanaged<int, void>)setThreads)(1);
            ThreadsChosenBy = "EmDsl (1 thread; set OPENBLAS_NUM_THREADS to choose)";
        }
        else ThreadsChosenBy = userChoice is null ? "OpenBLAS's default" : $"the environment ({userChoice}={Environment.GetEnvironmentVariable(userChoice)})";
        if (NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out var getThreads))
            _getThreads = (delegate* unmanaged<int>)getThreads;
    }

    /// <summary>The environment variables through which a user sets OpenBLAS's thread count (EmDsl then leaves it alone).</summary>
    internal static readonly string[] ThreadVariables = ["OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"];

    private readonly delegate* unmanaged<int> _getThreads;

    /// <summary>OpenBLAS's current thread count (0 when the library cannot say).</summary>
    public int Threads => _getThreads == null ? 0 : _getThreads();

    /// <summary>Who chose OpenBLAS's thread count: EmDsl (one thread), the environment, or OpenBLAS's default.</summary>
    public string ThreadsChosenBy { get; }

    /// <summary>Loads OpenBLAS if the system has it; null (with the reason) otherwise.</summary>
    public static OpenBlasBackend? TryLoad(out string reason)
    {
        var tried = new List<string>();
        foreach (var name in CandidateNames)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) { tried.Add(name); continue; }
            if (!NativeLibrary.TryGetExport(handle, "cblas_dgemm", out _) ||
                !NativeLibrary.TryGetExport(handle, "cblas_dtrsm", out _) ||
                !NativeLibrary.TryGetExport(handle, "dpotrf_", out _))
            {
                tried.Add(name + " (loaded, but lacks cblas_dgemm, cblas_dtrsm or dpotrf_)");
                continue;
            }
            reason = "";
            return new OpenBlasBackend(handle, name);
        }
        reason = "OpenBLAS was not found; tried " + string.Join(", ", tried) +
                 ". On Debian/Ubuntu install it with: apt-get install libopenblas0-pthread";
        return null;
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
        double beta, Span<double> c, int ldc)
    {
        BackendChecks.Gemm(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            // BLAS would scale C by β; do the same without a native call.
            ManagedBackend.Instance.Gemm(transA, transB, m, n, 0, 0, a, Math.Max(lda, 1), b, Math.Max(ldb, 1), beta, c, ldc);
            return;
        }
        if (TiledGemm.Suits(m, n, k))
        {
            // Tall, narrow products (the E-step's): BLAS's packing costs about as much as the arithmetic there.
            ManagedBackend.Instance.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        fixed (double* pa = a, pb = b, pc = c)
            _dgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    public bool CholeskyInPlace(Span<double> a, int n)
    {
        if (a.Length < n * n) throw new ArgumentException("Matrix buffer is smaller than n×n.", nameof(a));
        if (n == 0) return true;
        // A row-major lower triangle is the column-major upper triangle, and Aᵀ = A: ask LAPACK for
        // the upper factor U (column-major) with A = UᵀU; read row-major, U's storage is L = Uᵀ.
        byte uplo = (byte)'U';
        int nn = n, lda = n, info = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) a[i * n + j] = a[j * n + i];
        fixed (double* pa = a) _dpotrf(&uplo, &nn, pa, &lda, &info, 1); // the Fortran ABI's hidden length of the character argument UPLO
        if (info != 0) return false;
        for (int i = 0; i < n; i++)
        {
            if (!double.IsFinite(a[i * n + i])) return false;
            a.Slice(i * n + i + 1, n - i - 1).Clear();
        }
        return true;
    }

    public void SolveLowerInPlace(ReadOnlySpan<double> l, int n, Span<double> b, int nrhs, bool transpose)
    {
        if (l.Length < n * n || b.Length < n * nrhs) throw new ArgumentException("Buffer too small for the solve.");
        if (n == 0 || nrhs == 0) return;
        fixed (double* pl = l, pb = b)
            _dtrsm(RowMajor, Left, Lower, transpose ? Trans : NoTrans, NonUnit, n, nrhs, 1.0, pl, n, pb, nrhs);
    }
}
