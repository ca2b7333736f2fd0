// CWorkers: the process's compute threads. `cw_run` runs `count` iterations of a job on the
// calling thread and the pool's workers, and returns when every iteration has finished.
// Between jobs a worker spins for a short while (the next product or elementwise pass of a step
// follows within microseconds), then sleeps on a futex: no thread spins while the process is
// idle, and a wake-up from sleep is paid at most once per idle period, not once per call.
#ifndef CWORKERS_H
#define CWORKERS_H

#ifdef __cplusplus
extern "C" {
#endif

/// One iteration of a job: `body(context, index)`, index in `0 ..< count`.
typedef void (*cw_body)(void *context, int index);

/// Runs `body(context, i)` for every i in 0 ..< count on the caller and the pool's workers (at
/// least count − 1 of them, started on first use and kept for the process; at most 255), each
/// iteration claimed by the next thread to come free: an iteration must not depend on which
/// thread runs it. Called while another job runs (from inside an iteration, or from another
/// thread), or with more than 2²⁰ − 1 iterations, it runs them inline, in order, on the calling thread.
void cw_run(int count, cw_body body, void *context);

/// Nanoseconds a worker spins for the next job before it sleeps: 200 µs, or 0 once there are more
/// threads than online CPUs (spinning would take a CPU from a thread with work).
long cw_spin_nanoseconds(void);

#ifdef __cplusplus
}
#endif
#endif
