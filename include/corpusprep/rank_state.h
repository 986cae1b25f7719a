/* rank_state: what a cluster rank knows after the exchange (its decisions and the figures of its collect
 * pass), saved beside its spill so that a job stopped in its deciding pass can go on from there (--resume).
 * The content is the caller's: a JSON object of figures and a list of byte arrays. The file is written whole
 * (name.tmp, fsync, rename) with a versioned header, the caller's fingerprint and a checksum over all of it;
 * a load refuses anything else. Plain functions, no shared state. */
#ifndef CORPUSPREP_RANK_STATE_H
#define CORPUSPREP_RANK_STATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    void *data;  /* save: borrowed; load: malloc'd (never NULL), the caller frees it */
    size_t bytes;
} cp_rank_array;

/* Writes path atomically. Returns 0, or -1 with a message. */
int cp_rank_state_save(const char *path, uint64_t fingerprint, const json_t *figures, const cp_rank_array *arrays,
                       size_t narrays, char *err, size_t errlen);

/* Reads path: *figures (new reference) and exactly narrays arrays. Returns 0; 1 when there is no such file;
 * -1 with a message when it is not a sound state of this fingerprint (nothing is returned then). */
int cp_rank_state_load(const char *path, uint64_t fingerprint, json_t **figures, cp_rank_array *arrays,
                       size_t narrays, char *err, size_t errlen);

#endif
