/* Tests for stats: named counters (adding, totals) and the stats.json object built from a cp_stats.
 * That docs_in equals kept plus rejected is the pipeline's invariant, checked by the CLI tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "corpusprep/stats.h"

static void test_counters(void **state)
{
    (void)state;
    cp_counters c = {0};
    assert_int_equal(cp_counters_total(&c), 0);
    cp_counters_add(&c, "too_short", 1, 10);
    cp_counters_add(&c, "dup_exact", 2, 200);
    cp_counters_add(&c, "too_short", 3, 30);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.items[0].name, "too_short");
    assert_int_equal(c.items[0].docs, 4);
    assert_int_equal(c.items[0].chars, 40);
    assert_int_equal(c.items[1].docs, 2);
    assert_int_equal(c.items[1].chars, 200);
    assert_int_equal(cp_counters_total(&c), 6);
    /* the name is copied, not borrowed */
    char name[] = "lang_score";
    cp_counters_add(&c, name, 1, 0);
    name[0] = 'X';
    assert_string_equal(c.items[2].name, "lang_score");
    /* zero adds create the entry without counting */
    cp_counters_add(&c, "empty", 0, 0);
    assert_int_equal(c.n, 4);
    assert_int_equal(cp_counters_total(&c), 7);
    /* many names: growth keeps every one */
    for (int i = 0; i < 200; i++) {
        char n[32];
        snprintf(n, sizeof n, "rule_%d", i);
        cp_counters_add(&c, n, (uint64_t)i, 1);
    }
    for (int i = 0; i < 200; i++) {
        char n[32];
        snprintf(n, sizeof n, "rule_%d", i);
        cp_counters_add(&c, n, 1, 1);
    }
    assert_int_equal(c.n, 204);
    assert_int_equal(cp_counters_total(&c), 7 + 199 * 200 / 2 + 200);
    assert_int_equal(c.items[4 + 17].docs, 18);
    assert_int_equal(c.items[4 + 17].chars, 2);

    cp_stats s = {0};
    s.rejected = c;
    cp_stats_free(&s);
    assert_int_equal(s.rejected.n, 0);
    assert_null(s.rejected.items);
}

static uint64_t int_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("%s missing or not an integer", key);
    return (uint64_t)json_integer_value(v);
}

static void test_to_json(void **state)
{
    (void)state;
    cp_stats s = {0};
    s.docs_in = 10;
    s.docs_kept = 6;
    s.files = 2;
    s.bytes_in = 5000000;
    s.shards = 3;
    cp_counters_add(&s.rejected, "dup_exact", 3, 300);
    cp_counters_add(&s.rejected, "parse_error", 1, 0);
    cp_counters_add(&s.langs, "nl", 4, 4000);
    cp_counters_add(&s.langs, "en", 2, 1500);
    cp_counters_add(&s.rules, "c4_lines.javascript", 5, 120);
    s.stage_seconds[CP_T_PARSE] = 1.25;
    s.stage_seconds[CP_T_WRITE] = 0.5;
    s.wall_seconds = 2.0;
    s.extra = json_pack("{s{sI}}", "near_dedup", "bytes", (json_int_t)1234);

    json_t *j = cp_stats_to_json(&s);
    assert_non_null(j);
    assert_int_equal(int_at(j, "docs_in"), 10);
    assert_int_equal(int_at(j, "docs_kept"), 6);
    assert_int_equal(int_at(j, "files"), 2);
    assert_int_equal(int_at(j, "shards"), 3);
    json_t *rej = json_object_get(j, "docs_rejected");
    assert_true(json_is_object(rej));
    assert_int_equal(json_object_size(rej), 2);
    assert_int_equal(int_at(rej, "dup_exact"), 3);
    assert_int_equal(int_at(rej, "parse_error"), 1);
    json_t *rc = json_object_get(json_object_get(j, "rejected_chars"), "dup_exact");
    assert_int_equal(int_at(rc, "text_bytes"), 300);
    json_t *langs = json_object_get(j, "langs");
    assert_int_equal(json_object_size(langs), 2);
    assert_int_equal(int_at(langs, "nl"), 4);
    assert_int_equal(int_at(langs, "en"), 2);
    json_t *rule = json_object_get(json_object_get(j, "clean_rules"), "c4_lines.javascript");
    assert_int_equal(int_at(rule, "lines"), 5);
    assert_int_equal(int_at(rule, "bytes"), 120);
    /* one entry per stage, by name */
    json_t *t = json_object_get(j, "stage_cpu_seconds");
    assert_true(json_is_object(t));
    assert_int_equal(json_object_size(t), CP_T_N);
    for (int i = 0; i < CP_T_N; i++)
        assert_true(json_is_number(json_object_get(t, cp_stage_names[i])));
    assert_true(json_number_value(json_object_get(t, "parse")) == 1.25);
    assert_true(json_number_value(json_object_get(t, "write")) == 0.5);
    assert_true(json_number_value(json_object_get(j, "mb_per_s")) == 2.5);
    assert_true(json_number_value(json_object_get(j, "docs_per_s")) == 5.0);
    /* extra figures are copied in at the top level */
    assert_int_equal(int_at(json_object_get(j, "near_dedup"), "bytes"), 1234);
    /* it serialises (sorted keys, as stats.json is written) */
    char *text = json_dumps(j, JSON_SORT_KEYS);
    assert_non_null(text);
    free(text);
    json_decref(j);

    /* an empty run: zero counts, no division by zero */
    cp_stats z = {0};
    j = cp_stats_to_json(&z);
    assert_int_equal(int_at(j, "docs_in"), 0);
    assert_int_equal(json_object_size(json_object_get(j, "docs_rejected")), 0);
    assert_int_equal(json_object_size(json_object_get(j, "langs")), 0);
    assert_true(json_number_value(json_object_get(j, "mb_per_s")) == 0.0);
    assert_null(json_object_get(j, "near_dedup"));
    json_decref(j);

    cp_stats_finish(&s, 3.0);
    assert_true(s.wall_seconds == 3.0);
    assert_true(s.peak_rss_kb > 0);
    cp_stats_free(&s);
    assert_null(s.extra);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_to_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
