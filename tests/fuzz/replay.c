/* Replays inputs through a fuzz harness without libFuzzer, so that every crash the fuzzer found stays
 * fixed in `make test` (built with gcc too). Arguments are files or folders (every regular file in a
 * folder, in sorted order); with none, the folder REPLAY_DIR compiled in (tests/fuzz/regress/<harness>).
 * A harness reports a violated invariant by aborting, which fails this program. The last lines follow
 * cmocka's summary format so that tests/run.sh counts the inputs. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static size_t n_run;

static void run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        exit(1);
    }
    size_t cap = 1 << 16, n = 0, k;
    uint8_t *buf = malloc(cap);
    while (buf && (k = fread(buf + n, 1, cap - n, fp)) > 0)
        if ((n += k) == cap)
            buf = realloc(buf, cap *= 2);
    if (!buf || ferror(fp)) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(1);
    }
    fclose(fp);
    /* an exact-size copy, as libFuzzer gives it, so that a read past the end is caught by ASan */
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    n_run++;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        exit(1);
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        perror(path);
        exit(1);
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        snprintf(names[n++], len, "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        run_path(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2)
        run_path(REPLAY_DIR);
    for (int i = 1; i < argc; i++)
        run_path(argv[i]);
    printf("[==========] %s: %zu inputs replayed\n", argc < 2 ? REPLAY_DIR : "arguments", n_run);
    printf("[  PASSED  ] %zu test(s).\n", n_run);
    return 0;
}
