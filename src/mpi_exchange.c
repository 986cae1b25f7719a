/* mpi_exchange: the all-to-all rounds of cluster mode and its waits (header: mpi_exchange.h). Counts and
 * displacements stay ints whatever the data: each exchange is cut into rounds of at most round_bytes per rank,
 * the same number of rounds on every rank (agreed with an allreduce). Every wait is a non-blocking collective
 * tested with short sleeps, so that ranks that share cores do not take CPU from each other while they wait. */
#include "corpusprep/mpi_exchange.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corpusprep/util.h"

/* Waits for a non-blocking collective without burning a core. MPI implementations poll while they wait, so a
 * rank that arrives early at a collective (it finished its share first, or its peers wait for a core)
 * would spin and take CPU from the ranks that still work when ranks share cores. A few quick tests, then a
 * test every 200 us: the latency is nothing beside the work between collectives. */
void cp_idle_wait(MPI_Request *req)
{
    int done = 0;
    for (int i = 0; i < 64 && !done; i++)
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
    while (!done) {
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
    }
}

void cp_idle_barrier(MPI_Comm comm)
{
    MPI_Request req;
    MPI_Ibarrier(comm, &req);
    cp_idle_wait(&req);
}

/* All-to-all of variable parts: part[p] (count[p] elements of elem bytes) goes to rank p. Returns what the
 * ranks sent here, rank after rank, rcount[p] elements from rank p (malloc'd, never NULL). Collective. */
void *cp_exchange(cp_net *x, char *const *part, const size_t *count, size_t elem, size_t *rcount,
                      size_t *buf_peak)
{
    double t0 = cp_now();
    int K = x->size;
    uint64_t *sc = cp_xmalloc((size_t)K * sizeof *sc), *rc = cp_xmalloc((size_t)K * sizeof *rc);
    for (int p = 0; p < K; p++)
        sc[p] = count[p];
    MPI_Request req;
    MPI_Ialltoall(sc, 1, MPI_UINT64_T, rc, 1, MPI_UINT64_T, x->comm, &req);
    cp_idle_wait(&req);
    size_t cap = x->round_bytes / elem / (size_t)K; /* elements per peer per round */
    if (cap < 1)
        cap = 1;
    if (cap > (size_t)(INT_MAX / K))
        cap = (size_t)(INT_MAX / K);
    size_t total = 0, stotal = 0;
    uint64_t mine = 0, rounds = 0;
    size_t *roff = cp_xmalloc((size_t)K * sizeof *roff);
    for (int p = 0; p < K; p++) {
        roff[p] = total;
        rcount[p] = rc[p];
        total += rc[p];
        stotal += sc[p];
        uint64_t n = sc[p] > rc[p] ? sc[p] : rc[p];
        uint64_t r = (n + cap - 1) / cap;
        if (r > mine)
            mine = r;
        x->sent += sc[p] * elem;
        if (p != x->rank)
            x->sent_remote += sc[p] * elem;
    }
    x->received += total * elem;
    MPI_Iallreduce(&mine, &rounds, 1, MPI_UINT64_T, MPI_MAX, x->comm, &req);
    cp_idle_wait(&req);
    x->rounds += rounds;
    char *recv = cp_xmalloc(total * elem + 1);
    size_t sb_n = stotal < cap * (size_t)K ? stotal : cap * (size_t)K;
    size_t rb_n = total < cap * (size_t)K ? total : cap * (size_t)K;
    char *sbuf = cp_xmalloc(sb_n * elem + 1), *rbuf = cp_xmalloc(rb_n * elem + 1);
    if ((stotal + total + sb_n + rb_n) * elem > *buf_peak)
        *buf_peak = (stotal + total + sb_n + rb_n) * elem;
    int *scnt = cp_xmalloc(4 * (size_t)K * sizeof(int)), *sdis = scnt + K, *rcnt = scnt + 2 * K,
        *rdis = scnt + 3 * K;
    MPI_Datatype t;
    MPI_Type_contiguous((int)elem, MPI_BYTE, &t);
    MPI_Type_commit(&t);
    for (uint64_t r = 0; r < rounds; r++) {
        size_t so = 0, ro = 0, base = (size_t)r * cap;
        for (int p = 0; p < K; p++) {
            size_t n = sc[p] > base ? sc[p] - base : 0, m = rc[p] > base ? rc[p] - base : 0;
            if (n > cap)
                n = cap;
            if (m > cap)
                m = cap;
            if (n)
                memcpy(sbuf + so * elem, part[p] + base * elem, n * elem);
            scnt[p] = (int)n;
            sdis[p] = (int)so;
            rcnt[p] = (int)m;
            rdis[p] = (int)ro;
            so += n;
            ro += m;
        }
        MPI_Ialltoallv(sbuf, scnt, sdis, t, rbuf, rcnt, rdis, t, x->comm, &req);
        cp_idle_wait(&req);
        for (int p = 0; p < K; p++)
            if (rcnt[p])
                memcpy(recv + (roff[p] + base) * elem, rbuf + (size_t)rdis[p] * elem, (size_t)rcnt[p] * elem);
    }
    MPI_Type_free(&t);
    free(scnt);
    free(sbuf);
    free(rbuf);
    free(roff);
    free(sc);
    free(rc);
    x->seconds += cp_now() - t0;
    return recv;
}
