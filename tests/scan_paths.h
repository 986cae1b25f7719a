/* json_scan's fast paths (AVX-512, AVX2, where the CPU has them) against its portable path, for
 * tests/test_json_scan.c and the fuzz_json harness: the same verdict, members and error, byte for byte.
 * On a CPU or build without them every run takes the portable path and they agree trivially. */
#ifndef TESTS_SCAN_PATHS_H
#define TESTS_SCAN_PATHS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpusprep/json_scan.h"

/* Scans s[0..n) on each path; 0 when all agree, else 1 with what differs written to why. */
static int scan_paths_differ(const char *s, size_t n, char *why, size_t cap)
{
    static const cp_json_path paths[3] = {CP_JSON_PATH_PORTABLE, CP_JSON_PATH_AUTO, CP_JSON_PATH_AVX2};
    cp_json_member *m[3] = {NULL, NULL, NULL};
    uint32_t nm[3], mcap[3] = {0, 0, 0};
    cp_json_error e[3];
    cp_json_type t[3];
    const char *name[3];
    for (int k = 0; k < 3; k++) {
        name[k] = cp_json_set_path(paths[k]);
        memset(&e[k], 0, sizeof e[k]);
        t[k] = cp_json_scan(s, n, &m[k], &nm[k], &mcap[k], &e[k]);
    }
    cp_json_set_path(CP_JSON_PATH_AUTO);
    int differ = 0;
    for (int k = 1; k < 3 && !differ; k++) {
        int same = t[0] == t[k] && nm[0] == nm[k];
        for (uint32_t i = 0; same && i < nm[0]; i++) /* field by field: the struct has padding */
            same = m[0][i].key_off == m[k][i].key_off && m[0][i].key_len == m[k][i].key_len &&
                   m[0][i].val_off == m[k][i].val_off && m[0][i].val_len == m[k][i].val_len &&
                   m[0][i].type == m[k][i].type && m[0][i].key_escaped == m[k][i].key_escaped &&
                   m[0][i].val_escaped == m[k][i].val_escaped;
        if (same && !t[0])
            same = e[0].offset == e[k].offset && !strcmp(e[0].reason, e[k].reason);
        if (!same) {
            snprintf(why, cap, "%s: type %d, error at %zu (%s); %s: type %d, error at %zu (%s)", name[k], t[k],
                     e[k].offset, t[k] ? "-" : e[k].reason, name[0], t[0], e[0].offset, t[0] ? "-" : e[0].reason);
            differ = 1;
        }
    }
    for (int k = 0; k < 3; k++)
        free(m[k]);
    return differ;
}

#endif
