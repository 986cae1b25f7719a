/* Tests for rank_state: figures and arrays come back as saved; no file is "nothing" (1), not an error; a cut,
 * flipped, foreign or other-version file is refused with a message and returns nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corpusprep/rank_state.h"

static char root[256], file[512];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/cp-test-rank-state.XXXXXX");
    if (!mkdtemp(root))
        return -1;
    snprintf(file, sizeof file, "%s/rank-3.state", root);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(file);
    rmdir(root);
    return 0;
}

static uint64_t big[1000];

static void save(uint64_t fp)
{
    for (int i = 0; i < 1000; i++)
        big[i] = (uint64_t)i * 0x9e3779b97f4a7c15ull;
    json_t *j = json_pack("{sIsfs[ii]}", "sent", (json_int_t)123456789012LL, "seconds", 1.5, "hist", 2, 3);
    char text[] = "id-1\0id-22";
    cp_rank_array a[3] = {{big, sizeof big}, {NULL, 0}, {text, sizeof text}};
    char err[256];
    assert_int_equal(cp_rank_state_save(file, fp, j, a, 3, err, sizeof err), 0);
    json_decref(j);
    struct stat st;
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    assert_int_not_equal(stat(tmp, &st), 0); /* renamed, nothing half-written left */
}

static void test_roundtrip(void **state)
{
    (void)state;
    save(77);
    json_t *j = NULL;
    cp_rank_array a[3];
    char err[256];
    assert_int_equal(cp_rank_state_load(file, 77, &j, a, 3, err, sizeof err), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "sent")), 123456789012LL);
    assert_true(json_real_value(json_object_get(j, "seconds")) == 1.5);
    assert_int_equal(json_array_size(json_object_get(j, "hist")), 2);
    assert_int_equal(a[0].bytes, sizeof big);
    assert_memory_equal(a[0].data, big, sizeof big);
    assert_int_equal(a[1].bytes, 0);
    assert_non_null(a[1].data);
    assert_int_equal(a[2].bytes, 11);
    assert_memory_equal(a[2].data, "id-1\0id-22", 11);
    for (int i = 0; i < 3; i++)
        free(a[i].data);
    json_decref(j);
}

static void test_missing_and_refused(void **state)
{
    (void)state;
    json_t *j = NULL;
    cp_rank_array a[3];
    char err[256];
    assert_int_equal(cp_rank_state_load(file, 77, &j, a, 3, err, sizeof err), 1);
    save(77);
    err[0] = 0;
    assert_int_equal(cp_rank_state_load(file, 78, &j, a, 3, err, sizeof err), -1);
    assert_non_null(strstr(err, "another run"));
    assert_null(j);
    assert_int_equal(cp_rank_state_load(file, 77, &j, a, 2, err, sizeof err), -1); /* another layout */
    assert_null(j);
    /* every single flipped byte and every cut is noticed */
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    long n = (long)st.st_size;
    for (long at = 0; at < n; at += 97) {
        save(77);
        FILE *f = fopen(file, "r+b");
        fseek(f, at, SEEK_SET);
        int c = fgetc(f);
        fseek(f, at, SEEK_SET);
        fputc(c ^ 1, f);
        fclose(f);
        err[0] = 0;
        assert_int_equal(cp_rank_state_load(file, 77, &j, a, 3, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
        assert_null(j);
    }
    for (long cut = 1; cut < n; cut += 331) {
        save(77);
        assert_int_equal(truncate(file, n - cut), 0);
        assert_int_equal(cp_rank_state_load(file, 77, &j, a, 3, err, sizeof err), -1);
        assert_null(j);
    }
}

static void test_unwritable(void **state)
{
    (void)state;
    char bad[600], err[256];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.state", root);
    json_t *j = json_object();
    assert_int_equal(cp_rank_state_save(bad, 1, j, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot write"));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
