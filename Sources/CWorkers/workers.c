// The compute-thread pool behind `cw_run`: one job at a time, its iterations claimed one by one
// from a ticket that carries the job's generation and iteration count as well as the next
// iteration, so a worker still leaving an old job (holding an old ticket value) can never claim an
// iteration of the next one: its compare-and-swap fails, or its own count says the job is done.
#define _GNU_SOURCE
#include "CWorkers.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define RELAX() _mm_pause()
#else
#define RELAX() ((void)0)
#endif

enum {
    MAX_WORKERS = 255,
    MAX_COUNT = (1 << 20) - 1,   // iterations a ticket can count; larger jobs run inline
    SPIN_NS = 200000,   // 200 µs: longer than any serial stretch between two parallel passes of a step
};

static struct {
    pthread_mutex_t caller;        // held by the thread whose job runs
    pthread_mutex_t start;         // guards starting workers
    _Atomic uint32_t generation;   // bumped per job; the futex workers sleep on
    _Atomic uint64_t ticket;       // generation (24 bits) << 40 | count << 20 | next iteration to claim
    _Atomic int done;              // iterations of this job finished
    _Atomic int sleepers;          // workers asleep on `generation`
    cw_body body;                  // read only after a claim of this job's ticket succeeds
    void *context;
    int workers;                   // started so far
    _Atomic long spin;             // SPIN_NS, or 0 when oversubscribed
} pool = {.caller = PTHREAD_MUTEX_INITIALIZER, .start = PTHREAD_MUTEX_INITIALIZER, .spin = SPIN_NS};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

// Claims and runs iterations of job `generation` until none is left or a newer job started.
static void claim(uint32_t generation) {
    for (;;) {
        uint64_t ticket = atomic_load_explicit(&pool.ticket, memory_order_acquire);
        uint32_t count = (uint32_t)(ticket >> 20) & MAX_COUNT, next = (uint32_t)ticket & MAX_COUNT;
        if ((uint32_t)(ticket >> 40) != (generation & 0xFFFFFF) || next >= count) return;
        if (!atomic_compare_exchange_weak_explicit(&pool.ticket, &ticket, ticket + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        pool.body(pool.context, (int)next);   // the job cannot end, nor the next begin, before this iteration does
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    }
}

static void *worker(void *unused) {
    (void)unused;
    uint32_t seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
    for (;;) {
        uint64_t since = now_ns();
        unsigned spins = 0;
        uint32_t now;
        while ((now = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            RELAX();
            if (++spins % 64 == 0 && (long)(now_ns() - since) >= pool.spin) {
                atomic_fetch_add(&pool.sleepers, 1);
                syscall(SYS_futex, &pool.generation, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
                atomic_fetch_sub(&pool.sleepers, 1);
                since = now_ns();
            }
        }
        seen = now;
        claim(seen);
    }
    return NULL;
}

// Starts workers until `wanted` exist (at most MAX_WORKERS; fewer if the system refuses threads).
static void ensure_workers(int wanted) {
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    if (pool.workers >= wanted) return;
    pthread_mutex_lock(&pool.start);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    while (pool.workers < wanted) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, worker, NULL) != 0) break;   // fewer workers: the caller does more
        pthread_detach(thread);
        pool.workers++;
    }
    pool.spin = cpus > 0 && pool.workers + 1 > cpus ? 0 : SPIN_NS;
    pthread_mutex_unlock(&pool.start);
}

long cw_spin_nanoseconds(void) { return pool.spin; }

void cw_run(int count, cw_body body, void *context) {
    if (count <= 0) return;
    if (count == 1 || count > MAX_COUNT || pthread_mutex_trylock(&pool.caller) != 0) {
        for (int i = 0; i < count; i++) body(context, i);
        return;
    }
    ensure_workers(count - 1);
    pool.body = body;
    pool.context = context;
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    uint32_t generation = atomic_load_explicit(&pool.generation, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool.ticket, (uint64_t)(generation & 0xFFFFFF) << 40 | (uint64_t)count << 20,
                          memory_order_release);
    atomic_store(&pool.generation, generation);   // sequentially consistent: ordered before the sleepers check
    if (atomic_load(&pool.sleepers) > 0) syscall(SYS_futex, &pool.generation, FUTEX_WAKE_PRIVATE, MAX_WORKERS, NULL, NULL, 0);
    claim(generation);
    while (atomic_load_explicit(&pool.done, memory_order_acquire) < count) RELAX();
    pthread_mutex_unlock(&pool.caller);
}
