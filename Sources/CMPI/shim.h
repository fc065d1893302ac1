// Open MPI behind functions Swift can call: MPI_COMM_WORLD, MPI_FLOAT and the other handles are
// macros over casts, which Swift does not import. Each returns MPI's error code.
#include <mpi.h>

static inline int netc_mpi_init(void) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return MPI_SUCCESS;
    int provided = 0;
    // Only the thread that trains calls MPI; the kernels' worker threads never do.
    return MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
}

static inline int netc_mpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
static inline int netc_mpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }

/// Starts an in-place sum of `count` floats over every rank; `netc_mpi_test` or `netc_mpi_wait`
/// on `request` to finish it.
static inline int netc_mpi_start_sum_floats(float *values, int count, MPI_Request *request) {
    return MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request);
}

/// Whether a started operation is done (`*done`); also lets MPI move the others along.
static inline int netc_mpi_test(MPI_Request *request, int *done) { return MPI_Test(request, done, MPI_STATUS_IGNORE); }

static inline int netc_mpi_wait(MPI_Request *request) { return MPI_Wait(request, MPI_STATUS_IGNORE); }

/// In-place sum of `count` doubles over every rank.
static inline int netc_mpi_sum_doubles(double *values, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

/// Rank `root`'s `count` floats to every rank.
static inline int netc_mpi_broadcast_floats(float *values, int count, int root) {
    return MPI_Bcast(values, count, MPI_FLOAT, root, MPI_COMM_WORLD);
}

/// Rank `root`'s `count` bytes to every rank.
static inline int netc_mpi_broadcast_bytes(void *bytes, int count, int root) {
    return MPI_Bcast(bytes, count, MPI_BYTE, root, MPI_COMM_WORLD);
}

static inline int netc_mpi_finalize(void) { return MPI_Finalize(); }

/// Ends every rank of the job with `code`.
static inline int netc_mpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
