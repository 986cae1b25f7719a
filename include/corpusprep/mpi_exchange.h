/* mpi_exchange: how cluster-mode ranks trade data (only corpusprep-mpi links it; see mpi_cluster.c). All
 * functions are collective over x->comm and called from the main thread only (MPI_THREAD_FUNNELED). */
#ifndef CORPUSPREP_MPI_EXCHANGE_H
#define CORPUSPREP_MPI_EXCHANGE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* The exchange's communicator and its running figures (plain data; zero the figures to start). */
typedef struct {
    MPI_Comm comm;
    int rank, size;
    size_t round_bytes;                   /* payload per rank per round */
    uint64_t sent, sent_remote, received; /* payload bytes; remote = to other ranks (the network's share) */
    uint64_t rounds;
    double seconds;
} cp_net;

/* All-to-all of variable parts: part[p] (count[p] elements of elem bytes) goes to rank p. Returns what the
 * ranks sent here, rank after rank, rcount[p] elements from rank p (malloc'd, never NULL; the caller frees
 * it). *buf_peak is raised to the bytes this call held at once, when more. */
void *cp_exchange(cp_net *x, char *const *part, const size_t *count, size_t elem, size_t *rcount,
                  size_t *buf_peak);

/* Waits for a non-blocking request without polling a core away; a barrier that waits the same way. */
void cp_idle_wait(MPI_Request *req);
void cp_idle_barrier(MPI_Comm comm);

#endif
