/* The conventions of the C ABI: NULL checks, buffer sizes, last errors, garbage
   input to every parser, and concurrent appends from several threads. */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static void null_pointers_are_refused(void) {
    evidentia_signing_key *key = NULL;
    CHECK(evidentia_canonicalize(NULL, 3, out, BIG, &out_len) == EVIDENTIA_INVALID_ARGUMENT, "null input");
    CHECK(evidentia_canonicalize((const uint8_t *)"[1]", 3, out, BIG, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null len");
    CHECK(evidentia_signing_key_generate(NULL) == EVIDENTIA_INVALID_ARGUMENT, "null out");
    CHECK(evidentia_signing_key_kid(NULL, out, BIG, &out_len) == EVIDENTIA_INVALID_ARGUMENT, "null key");
    CHECK(evidentia_signing_key_from_text(NULL, 5, &key) == EVIDENTIA_INVALID_ARGUMENT && key == NULL, "null text");
    CHECK(evidentia_verify_jws("a.b.c", 5, NULL, NULL, 0, NULL, 0, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null keys");
    CHECK(evidentia_log_open(NULL, NULL, 0, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null path");
    CHECK(evidentia_log_len(NULL, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null log");
    CHECK(evidentia_log_rotate(NULL, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null log to rotate");
    CHECK(evidentia_log_revoke(NULL, NULL, NULL, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null log to revoke");
    CHECK(evidentia_log_keys(NULL, out, BIG, &out_len) == EVIDENTIA_INVALID_ARGUMENT, "null log keys");
    CHECK(evidentia_log_id(NULL, out, BIG, &out_len) == EVIDENTIA_INVALID_ARGUMENT, "null log id");
    char *text = NULL;
    CHECK(evidentia_log_append_batch(NULL, NULL, NULL, 0, NULL, &text) == EVIDENTIA_INVALID_ARGUMENT && text == NULL,
          "null log batch");
    CHECK(evidentia_log_append(NULL, (const uint8_t *)"{}", 2, NULL, NULL, 0, &text) == EVIDENTIA_INVALID_ARGUMENT &&
              text == NULL,
          "null log append");
    CHECK(evidentia_log_checkpoint(NULL, &text) == EVIDENTIA_INVALID_ARGUMENT && text == NULL, "null log checkpoint");
    CHECK(evidentia_log_recovery(NULL, &text) == EVIDENTIA_INVALID_ARGUMENT && text == NULL, "null log recovery");
    CHECK(evidentia_log_checkpoint(NULL, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null out checkpoint");
    bool found = true;
    uint64_t index = 7;
    CHECK(evidentia_log_find_nonce(NULL, "n", &found, &index) == EVIDENTIA_INVALID_ARGUMENT, "null log find");
    CHECK(!evidentia_report_is_valid(NULL), "null report");
    /* Freeing NULL is allowed. */
    evidentia_signing_key_free(NULL);
    evidentia_key_set_free(NULL);
    evidentia_log_free(NULL);
    evidentia_report_free(NULL);
    evidentia_log_verifier_free(NULL);
    evidentia_string_free(NULL);
    /* An empty input may come with a NULL pointer. */
    CHECK(evidentia_canonicalize(NULL, 0, out, BIG, &out_len) == EVIDENTIA_JSON_SYNTAX, "empty");
}

static void small_buffers_get_the_needed_size_and_stay_untouched(void) {
    const char *json = "{ \"b\":1,\"a\":2 }";
    char small[4] = {'x', 'x', 'x', 'x'};
    size_t len = 0;
    evidentia_result r = evidentia_canonicalize((const uint8_t *)json, strlen(json), small, sizeof small, &len);
    CHECK(r == EVIDENTIA_BUFFER_TOO_SMALL, "%s", evidentia_result_name(r));
    CHECK(len == 14 && memcmp(small, "xxxx", 4) == 0, "needed %zu", len);
    char exact[14];
    CHECK(evidentia_canonicalize((const uint8_t *)json, strlen(json), exact, sizeof exact, &len) ==
                  EVIDENTIA_OK &&
              len == 13 && strcmp(exact, "{\"a\":2,\"b\":1}") == 0,
          "exact fit");
    CHECK(evidentia_canonicalize((const uint8_t *)"[]", 2, NULL, 0, &len) == EVIDENTIA_BUFFER_TOO_SMALL && len == 3,
          "size query");
}

static void last_error_says_what_failed(void) {
    evidentia_canonicalize((const uint8_t *)"{\"a\":1,\"a\":2}", 13, out, BIG, &out_len);
    char message[256];
    size_t len = 0;
    CHECK(evidentia_last_error(message, sizeof message, &len) == EVIDENTIA_OK && strstr(message, "duplicate") != NULL,
          "%s", message);
    CHECK(strcmp(evidentia_result_name(EVIDENTIA_JSON_DUPLICATE_KEY), "JSON_DUPLICATE_KEY") == 0, "name");
    CHECK(strcmp(evidentia_result_name(0), "OK") == 0 && strcmp(evidentia_result_name(12345), "UNKNOWN") == 0, "names");
    CHECK(strstr(evidentia_result_explanation(EVIDENTIA_EVENT_MISMATCH), "not the one that was signed") != NULL,
          "explanation");
    CHECK(strcmp(evidentia_result_explanation(12345), "Unknown result code.") == 0, "unknown explanation");
    CHECK(strlen(evidentia_version()) > 0, "version");
}

static void garbage_never_crashes(void) {
    const char *garbage[] = {"", "{", "\xff\xfe", "null", "[[[[[[[[", "a.b.c", "-----BEGIN PRIVATE KEY-----\nxx\n", "{\"kty\":1}",
                             "{\"keys\":[1]}", "\xe2\x80\x94 x y\n"};
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
        const char *g = garbage[i];
        size_t n = strlen(g);
        evidentia_signing_key *key = NULL;
        evidentia_key_set *set = NULL;
        evidentia_report *report = NULL;
        CHECK(evidentia_signing_key_from_text(g, n, &key) != EVIDENTIA_OK && key == NULL, "key %zu", i);
        CHECK(evidentia_key_set_from_json(g, n, &set) != EVIDENTIA_OK && set == NULL, "set %zu", i);
        evidentia_canonicalize((const uint8_t *)g, n, out, BIG, &out_len);
        evidentia_jwk_thumbprint(g, n, out, BIG, &out_len);
        const char *jwks = "{\"keys\":[]}";
        evidentia_key_set_from_json(jwks, strlen(jwks), &set);
        CHECK(evidentia_verify_jws(g, n, set, NULL, 0, NULL, 0, NULL) != EVIDENTIA_OK, "jws %zu", i);
        CHECK(evidentia_verify_receipt(g, n, set, NULL, 0, &report) != EVIDENTIA_OK && report == NULL, "receipt %zu", i);
        CHECK(evidentia_verify_checkpoint(g, n, set, NULL) != EVIDENTIA_OK, "checkpoint %zu", i);
        CHECK(evidentia_verify_inclusion(g, n, g, n, g, n, set) != EVIDENTIA_OK, "inclusion %zu", i);
        CHECK(evidentia_verify_consistency(g, n, g, n, g, n, set) != EVIDENTIA_OK, "consistency %zu", i);
        evidentia_key_set_free(set);
    }
    /* Invalid UTF-8 where text is expected is an argument error, not undefined behaviour. */
    evidentia_key_set *set = NULL;
    CHECK(evidentia_key_set_from_json("\xff", 1, &set) == EVIDENTIA_INVALID_ARGUMENT, "utf8");
}

struct appender {
    evidentia_log *log;
    int thread;
    int failures;
};

static void *append_many(void *arg) {
    struct appender *a = arg;
    char event[64];
    for (int i = 0; i < 20; i++) {
        int n = snprintf(event, sizeof event, "{\"thread\":%d,\"i\":%d}", a->thread, i);
        char *receipt = NULL;
        if (evidentia_log_append(a->log, (const uint8_t *)event, (size_t)n, NULL, NULL, 0, &receipt) != EVIDENTIA_OK ||
            receipt == NULL)
            a->failures++;
        evidentia_string_free(receipt);
    }
    return NULL;
}

static void threads_share_a_log(void) {
    char dir[] = "/tmp/evidentia-c-api-XXXXXX";
    if (!mkdtemp(dir)) exit(2);
    char path[256];
    snprintf(path, sizeof path, "%s/log", dir);
    evidentia_signing_key *key = NULL;
    evidentia_log *log = NULL;
    CHECK(evidentia_signing_key_generate(&key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_log_create(path, key, "c.example/threads", EVIDENTIA_MODE_RECEIPTS, NULL, &log) == EVIDENTIA_OK, "create");
    /* A second writer of the same log is refused. */
    evidentia_log *second = NULL;
    CHECK(evidentia_log_open(path, key, 0, &second) == EVIDENTIA_LOG_LOCKED && second == NULL, "lock");
    /* Waiting a little does not help while the writer keeps it; the message says how long it waited. */
    CHECK(evidentia_log_open(path, key, 0.2, &second) == EVIDENTIA_LOG_LOCKED && second == NULL, "lock after a wait");
    char message[512];
    size_t message_len = 0;
    CHECK(evidentia_last_error(message, sizeof message, &message_len) == EVIDENTIA_OK && strstr(message, "waited"),
          "the message mentions the wait: %s", message);
    CHECK(evidentia_log_open(path, key, -1, &second) == EVIDENTIA_INVALID_ARGUMENT && second == NULL, "negative wait");
    pthread_t threads[4];
    struct appender appenders[4];
    for (int t = 0; t < 4; t++) {
        appenders[t] = (struct appender){log, t, 0};
        pthread_create(&threads[t], NULL, append_many, &appenders[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK(appenders[t].failures == 0, "thread %d", t);
    }
    uint64_t len = 0;
    CHECK(evidentia_log_len(log, &len) == EVIDENTIA_OK && len == 80, "len %llu", (unsigned long long)len);
    evidentia_report *report = NULL;
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "verify");
    CHECK(evidentia_report_records(report) == 80 && evidentia_report_records(NULL) == 0, "records");
    CHECK(evidentia_report_summary(report, out, BIG, &out_len) == EVIDENTIA_OK && strncmp(out, "VALID: log of 80", 16) == 0,
          "summary: %s", out);
    evidentia_report_free(report);
    char *checkpoint = NULL;
    CHECK(evidentia_log_checkpoint(log, &checkpoint) == EVIDENTIA_OK && checkpoint &&
              strstr(checkpoint, "c.example/threads\n80\n"),
          "checkpoint");
    char trusted[1024] = "";
    if (checkpoint && strlen(checkpoint) < sizeof trusted) strcpy(trusted, checkpoint);
    evidentia_string_free(checkpoint);
    evidentia_log_free(log);
    /* Opened again without a key: it reads, proves and verifies, but does not append. */
    CHECK(evidentia_log_open(path, NULL, 0, &log) == EVIDENTIA_OK, "reopen");
    char *text = NULL;
    CHECK(evidentia_log_append(log, (const uint8_t *)"{}", 2, NULL, NULL, 0, &text) == EVIDENTIA_KEY_NOT_PRIVATE &&
              text == NULL,
          "no key");
    CHECK(evidentia_log_inclusion_proof(log, 3, 0, out, BIG, &out_len) == EVIDENTIA_OK, "prove");
    char package[300];
    snprintf(package, sizeof package, "%s/package", dir);
    char *archive = NULL;
    CHECK(evidentia_log_export_package(log, 3, package, &archive) == EVIDENTIA_OK && archive, "export");
    CHECK(archive && strlen(archive) == strlen(package) + 7 && strncmp(archive, package, strlen(package)) == 0 &&
              strcmp(archive + strlen(package), ".tar.gz") == 0,
          "archive path: %s", archive ? archive : "(null)");
    evidentia_string_free(archive);
    CHECK(evidentia_log_export_package(log, 3, package, &text) == EVIDENTIA_INVALID_ARGUMENT && text == NULL, "exists");
    CHECK(evidentia_log_export_package(log, 80, "/tmp/evidentia-c-never", &text) == EVIDENTIA_INVALID_ARGUMENT,
          "beyond the log");
    CHECK(evidentia_log_export_package(log, 3, NULL, &text) == EVIDENTIA_INVALID_ARGUMENT, "no path");
    CHECK(evidentia_log_export_package(NULL, 3, package, &text) == EVIDENTIA_INVALID_ARGUMENT, "no log");
    CHECK(evidentia_log_export_package(log, 3, "/tmp/evidentia-c-never", NULL) == EVIDENTIA_INVALID_ARGUMENT,
          "no out");
    /* Record 3's C2SP tlog-proof, to the newest checkpoint, and its entry: the record's bytes. */
    char *tlog = NULL, *entry = NULL;
    CHECK(evidentia_log_tlog_proof(log, 3, 0, &tlog, &entry) == EVIDENTIA_OK && tlog && entry, "tlog-proof");
    CHECK(tlog && strncmp(tlog, "c2sp.org/tlog-proof@v1\nindex 3\n", 31) == 0 &&
              strstr(tlog, "\n\nc.example/threads\n80\n"),
          "tlog-proof text: %s", tlog ? tlog : "(null)");
    CHECK(entry && strstr(entry, "\"seq\":3"), "entry: %s", entry ? entry : "(null)");
    evidentia_string_free(tlog);
    evidentia_string_free(entry);
    tlog = entry = NULL;
    CHECK(evidentia_log_tlog_proof(log, 80, 0, &tlog, &entry) == EVIDENTIA_INVALID_ARGUMENT && !tlog && !entry,
          "tlog-proof beyond the checkpoint");
    CHECK(evidentia_log_tlog_proof(log, 3, 0, NULL, &entry) == EVIDENTIA_INVALID_ARGUMENT && !entry, "no proof out");
    CHECK(evidentia_log_append(log, (const uint8_t *)"{}", 2, NULL, "not a time", 0, &text) == EVIDENTIA_TIME_INVALID &&
              text == NULL,
          "bad time");
    /* From a trusted checkpoint: only the records after it (none here), the log unchanged since. */
    CHECK(evidentia_log_verify_from(log, NULL, trusted, strlen(trusted), &report) == EVIDENTIA_OK &&
              evidentia_report_is_valid(report) && evidentia_report_first_record(report) == 80 &&
              evidentia_report_records(report) == 0,
          "verify from a checkpoint");
    evidentia_report_free(report);
    evidentia_log_free(log);
    CHECK(evidentia_verify_log_dir(path, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "dir");
    evidentia_report_free(report);
    CHECK(evidentia_verify_log_dir_from(path, NULL, NULL, 0, &report) == EVIDENTIA_OK &&
              evidentia_report_is_valid(report) && evidentia_report_first_record(report) == 0 &&
              evidentia_report_records(report) == 80 && evidentia_report_first_record(NULL) == 0,
          "dir, whole");
    evidentia_report_free(report);
    report = NULL;
    CHECK(evidentia_verify_log_dir_from(path, NULL, "garbage", 7, &report) == EVIDENTIA_CHECKPOINT_MALFORMED &&
              report == NULL,
          "garbage for a checkpoint");
    CHECK(evidentia_verify_log_dir_from(path, NULL, NULL, 3, &report) == EVIDENTIA_INVALID_ARGUMENT && report == NULL,
          "NULL checkpoint with a length");
    evidentia_signing_key_free(key);
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static void batches_rotation_and_key_history(void) {
    char dir[] = "/tmp/evidentia-c-api-XXXXXX";
    if (!mkdtemp(dir)) exit(2);
    char path[256];
    snprintf(path, sizeof path, "%s/log", dir);
    evidentia_signing_key *old_key = NULL, *new_key = NULL;
    evidentia_log *log = NULL;
    CHECK(evidentia_signing_key_generate(&old_key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_signing_key_generate(&new_key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_log_create(path, old_key, "c.example/batches", EVIDENTIA_MODE_BATCH, NULL, &log) == EVIDENTIA_OK, "create");
    CHECK(evidentia_log_id(log, out, BIG, &out_len) == EVIDENTIA_OK && strcmp(out, "c.example/batches") == 0, "id");
    const char *texts[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
    const uint8_t *events[] = {(const uint8_t *)texts[0], (const uint8_t *)texts[1], (const uint8_t *)texts[2]};
    size_t lens[] = {7, 7, 7};
    char *acks = NULL;
    CHECK(evidentia_log_append_batch(log, events, lens, 3, NULL, &acks) == EVIDENTIA_OK && acks, "batch");
    size_t lines = 1;
    for (const char *c = acks ? acks : ""; *c; c++) lines += *c == '\n';
    CHECK(lines == 3 && acks && strstr(acks, "\"seq\":2"), "one line per event: %s", acks ? acks : "(null)");
    evidentia_string_free(acks);
    /* All or none: an invalid event in a batch appends nothing. */
    const uint8_t *bad[] = {(const uint8_t *)texts[0], (const uint8_t *)"{\"n\":"};
    size_t bad_lens[] = {7, 5};
    CHECK(evidentia_log_append_batch(log, bad, bad_lens, 2, NULL, &acks) == EVIDENTIA_JSON_SYNTAX && acks == NULL, "bad");
    CHECK(evidentia_log_append_batch(log, NULL, lens, 2, NULL, &acks) == EVIDENTIA_INVALID_ARGUMENT, "null");
    CHECK(evidentia_log_append_batch(log, events, lens, 3, NULL, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null out");
    CHECK(evidentia_log_append_batch(log, NULL, NULL, 0, NULL, &acks) == EVIDENTIA_OK && acks && acks[0] == 0, "empty");
    evidentia_string_free(acks);
    uint64_t len = 0;
    CHECK(evidentia_log_len(log, &len) == EVIDENTIA_OK && len == 3, "len %llu", (unsigned long long)len);
    /* After a rotation, appends are signed with the new key and the history keeps both. */
    CHECK(evidentia_log_rotate(log, new_key) == EVIDENTIA_OK, "rotate");
    CHECK(evidentia_log_rotate(log, old_key) == EVIDENTIA_KEY_SET_MALFORMED, "an old key does not come back");
    CHECK(evidentia_log_append_batch(log, events, lens, 1, NULL, &acks) == EVIDENTIA_OK, "after rotation");
    evidentia_string_free(acks);
    CHECK(evidentia_log_keys(log, out, BIG, &out_len) == EVIDENTIA_OK && strstr(out, "\"exp\"") != NULL, "history");
    char kid[64];
    size_t kid_len = 0;
    CHECK(evidentia_signing_key_kid(new_key, kid, sizeof kid, &kid_len) == EVIDENTIA_OK && strstr(out, kid), "new kid");
    /* Three events, the rotation's key record and one more event. */
    char *checkpoint = NULL;
    CHECK(evidentia_log_checkpoint(log, &checkpoint) == EVIDENTIA_OK && checkpoint &&
              strstr(checkpoint, "c.example/batches\n5\n"),
          "checkpoint signed by the new key");
    evidentia_string_free(checkpoint);
    evidentia_report *report = NULL;
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "verify");
    evidentia_report_free(report);
    evidentia_log_free(log);
    evidentia_signing_key_free(old_key);
    evidentia_signing_key_free(new_key);
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static uint64_t length_of(const evidentia_log *log) {
    uint64_t len = UINT64_MAX;
    if (evidentia_log_len(log, &len) != EVIDENTIA_OK) return UINT64_MAX;
    return len;
}

/* Whether a report of the log in `path` has the failure `code`. */
static int log_fails_with(const char *path, evidentia_result code) {
    evidentia_report *report = NULL;
    uint32_t codes[16];
    size_t n = 0;
    int found = 0;
    if (evidentia_verify_log_dir(path, NULL, &report) != EVIDENTIA_OK) return 0;
    if (evidentia_report_failure_codes(report, codes, 16, &n) == EVIDENTIA_OK) {
        for (size_t i = 0; i < n; i++) found |= codes[i] == (uint32_t)code;
    }
    evidentia_report_free(report);
    return found;
}

/* A revocation of a retired key is a key record the log proves: after the key's
   last record the log stays valid, before it its records are no longer evidence. */
static void revocation(void) {
    char dir[] = "/tmp/evidentia-c-api-XXXXXX";
    if (!mkdtemp(dir)) exit(2);
    char path[256], early[256];
    snprintf(path, sizeof path, "%s/log", dir);
    snprintf(early, sizeof early, "%s/early", dir);
    evidentia_signing_key *old_key = NULL, *new_key = NULL, *other = NULL;
    evidentia_log *log = NULL;
    CHECK(evidentia_signing_key_generate(&old_key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_signing_key_generate(&new_key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_signing_key_generate(&other) == EVIDENTIA_OK, "generate");
    char old_kid[64], other_kid[64];
    size_t kid_len = 0;
    CHECK(evidentia_signing_key_kid(old_key, old_kid, sizeof old_kid, &kid_len) == EVIDENTIA_OK, "kid");
    CHECK(evidentia_signing_key_kid(other, other_kid, sizeof other_kid, &kid_len) == EVIDENTIA_OK, "kid");
    CHECK(evidentia_log_create(path, old_key, "c.example/revoke", EVIDENTIA_MODE_RECEIPTS, NULL, &log) == EVIDENTIA_OK,
          "create");
    char *ack = NULL;
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":1}", 7, NULL, NULL, 0, &ack) == EVIDENTIA_OK, "append");
    evidentia_string_free(ack);
    const char *at = "2026-01-01T00:00:00Z";
    /* The current key cannot revoke itself: rotate first. */
    CHECK(evidentia_log_revoke(log, old_kid, at, NULL) == EVIDENTIA_INVALID_ARGUMENT, "the current key");
    char message[512];
    size_t message_len = 0;
    CHECK(evidentia_last_error(message, sizeof message, &message_len) == EVIDENTIA_OK && strstr(message, "rotate"),
          "the message says to rotate: %s", message);
    CHECK(evidentia_log_rotate(log, new_key) == EVIDENTIA_OK, "rotate");
    CHECK(evidentia_log_revoke(log, other_kid, at, NULL) == EVIDENTIA_KEY_NOT_FOUND, "a kid the log never had");
    CHECK(evidentia_log_revoke(log, old_kid, "not a time", NULL) == EVIDENTIA_TIME_INVALID, "not a time");
    CHECK(evidentia_log_revoke(log, old_kid, at, "") == EVIDENTIA_INVALID_ARGUMENT, "an empty reason");
    CHECK(evidentia_log_revoke(log, "\xff", at, NULL) == EVIDENTIA_INVALID_ARGUMENT, "a kid that is not UTF-8");
    CHECK(evidentia_log_revoke(log, old_kid, at, "\xff") == EVIDENTIA_INVALID_ARGUMENT, "a reason not UTF-8");
    CHECK(evidentia_log_revoke(NULL, old_kid, at, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null log");
    CHECK(evidentia_log_revoke(log, NULL, at, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null kid");
    CHECK(evidentia_log_revoke(log, old_kid, NULL, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null at");
    CHECK(length_of(log) == 2, "nothing recorded by the refusals");
    /* Revoked from when it was retired on (its "exp", rounded up to the second). */
    CHECK(evidentia_log_keys(log, out, BIG, &out_len) == EVIDENTIA_OK, "keys");
    cJSON *jwks = cJSON_Parse(out);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(jwks, "keys"), 0);
    const cJSON *exp = cJSON_GetObjectItem(first, "exp");
    CHECK(cJSON_IsNumber(exp), "the retired key expires");
    time_t retired = (time_t)(cJSON_IsNumber(exp) ? exp->valuedouble : 0) + 1;
    cJSON_Delete(jwks);
    struct tm tm;
    char handed_over[32];
    gmtime_r(&retired, &tm);
    strftime(handed_over, sizeof handed_over, "%Y-%m-%dT%H:%M:%SZ", &tm);
    CHECK(evidentia_log_revoke(log, old_kid, handed_over, "keyCompromise") == EVIDENTIA_OK, "revoke");
    CHECK(length_of(log) == 3, "the revocation is a record");
    CHECK(evidentia_log_revoke(log, old_kid, handed_over, NULL) == EVIDENTIA_INVALID_ARGUMENT, "revoked already");
    CHECK(evidentia_log_keys(log, out, BIG, &out_len) == EVIDENTIA_OK && strstr(out, "\"revoked\"") &&
              strstr(out, "\"keyCompromise\""),
          "the key history shows the revocation: %s", out);
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":2}", 7, NULL, NULL, 0, &ack) == EVIDENTIA_OK, "append");
    evidentia_string_free(ack);
    evidentia_report *report = NULL;
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "valid");
    evidentia_report_free(report);
    evidentia_log_free(log);
    /* Opened without a key, the log cannot sign a revocation. */
    log = NULL;
    CHECK(evidentia_log_open(path, NULL, 0, &log) == EVIDENTIA_OK, "open to read");
    CHECK(evidentia_log_revoke(log, old_kid, handed_over, NULL) == EVIDENTIA_KEY_NOT_PRIVATE, "no key");
    evidentia_log_free(log);
    /* Revoked before the key's records: they are no longer evidence. */
    log = NULL;
    CHECK(evidentia_log_create(early, old_key, "c.example/early", EVIDENTIA_MODE_RECEIPTS, NULL, &log) == EVIDENTIA_OK,
          "create");
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":1}", 7, NULL, NULL, 0, &ack) == EVIDENTIA_OK, "append");
    evidentia_string_free(ack);
    CHECK(evidentia_log_rotate(log, new_key) == EVIDENTIA_OK, "rotate");
    CHECK(evidentia_log_revoke(log, old_kid, "2000-01-01T00:00:00Z", NULL) == EVIDENTIA_OK, "revoke early");
    evidentia_log_free(log);
    CHECK(log_fails_with(early, EVIDENTIA_KEY_REVOKED), "KEY_REVOKED");
    CHECK(!log_fails_with(early, EVIDENTIA_KEY_HISTORY_MISMATCH), "the history itself is sound");
    evidentia_signing_key_free(old_key);
    evidentia_signing_key_free(new_key);
    evidentia_signing_key_free(other);
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Nonces are unique in a log, an idempotent retry gets the original receipt, times
   are checked, and calls that change the log give library-allocated strings that
   are checked before anything is done. */
static void nonces_times_and_strings(void) {
    char dir[] = "/tmp/evidentia-c-api-XXXXXX";
    if (!mkdtemp(dir)) exit(2);
    char path[256];
    snprintf(path, sizeof path, "%s/log", dir);
    evidentia_signing_key *key = NULL;
    evidentia_log *log = NULL;
    CHECK(evidentia_signing_key_generate(&key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_log_create(path, key, "c.example/nonces", EVIDENTIA_MODE_RECEIPTS, "not a time", &log) ==
                  EVIDENTIA_TIME_INVALID &&
              log == NULL,
          "bad valid_from");
    CHECK(evidentia_log_create(path, key, "c.example/nonces", EVIDENTIA_MODE_RECEIPTS, NULL, &log) == EVIDENTIA_OK,
          "create");
    const char *event = "{\"order\":1}";
    const uint8_t *bytes = (const uint8_t *)event;
    char *first = NULL, *again = NULL;
    CHECK(evidentia_log_append(log, bytes, strlen(event), "order-1", NULL, 0, &first) == EVIDENTIA_OK && first,
          "append");
    /* The same nonce again is refused, and appends nothing. */
    CHECK(evidentia_log_append(log, bytes, strlen(event), "order-1", NULL, 0, &again) == EVIDENTIA_NONCE_IN_USE &&
              again == NULL,
          "nonce in use");
    CHECK(length_of(log) == 1, "len after the refusal");
    /* An idempotent retry with the same event gives the original receipt. */
    CHECK(evidentia_log_append(log, bytes, strlen(event), "order-1", NULL, EVIDENTIA_APPEND_IDEMPOTENT, &again) ==
                  EVIDENTIA_OK &&
              again && first && strcmp(again, first) == 0,
          "idempotent retry");
    evidentia_string_free(again);
    again = NULL;
    CHECK(length_of(log) == 1, "len after the retry");
    /* ... but not with another event under the same nonce. */
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"order\":2}", 11, "order-1", NULL, EVIDENTIA_APPEND_IDEMPOTENT,
                               &again) == EVIDENTIA_NONCE_IN_USE &&
              again == NULL,
          "idempotent with another event");
    /* Unknown flags are refused and append nothing. */
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"order\":3}", 11, "order-3", NULL, 2, &again) ==
                  EVIDENTIA_INVALID_ARGUMENT &&
              again == NULL,
          "unknown flags");
    CHECK(length_of(log) == 1, "len after unknown flags");
    /* Without a place for the receipt nothing is appended (a retry would append twice). */
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"order\":4}", 11, "order-4", NULL, 0, NULL) ==
              EVIDENTIA_INVALID_ARGUMENT,
          "null out");
    CHECK(length_of(log) == 1, "len after a null out");
    bool found = false;
    uint64_t index = 99;
    CHECK(evidentia_log_find_nonce(log, "order-4", &found, &index) == EVIDENTIA_OK && !found, "order-4 not stored");
    CHECK(evidentia_log_find_nonce(log, "order-1", &found, &index) == EVIDENTIA_OK && found && index == 0,
          "find the nonce");
    CHECK(evidentia_log_find_nonce(log, "unknown", &found, &index) == EVIDENTIA_OK && !found, "unknown nonce");
    CHECK(evidentia_log_find_nonce(log, NULL, &found, &index) == EVIDENTIA_INVALID_ARGUMENT, "null nonce");
    CHECK(evidentia_log_find_nonce(log, "order-1", NULL, &index) == EVIDENTIA_INVALID_ARGUMENT, "null found");
    CHECK(evidentia_log_find_nonce(log, "order-1", &found, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null index");
    /* A time before the key became valid (the log's creation) is refused. */
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"order\":5}", 11, NULL, "2000-01-01T00:00:00Z", 0, &again) ==
                  EVIDENTIA_TIME_REFUSED &&
              again == NULL,
          "time before the key");
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"order\":5}", 11, NULL, "2999-01-01T00:00:00Z", 0, &again) ==
                  EVIDENTIA_TIME_REFUSED &&
              again == NULL,
          "time far ahead of the clock");
    CHECK(length_of(log) == 1, "len after refused times");
    /* A clean log: opening repaired nothing. */
    char *recovery = NULL;
    CHECK(evidentia_log_recovery(log, &recovery) == EVIDENTIA_OK && recovery && strstr(recovery, "\"repaired\":false") &&
              strstr(recovery, "\"messages\":[]"),
          "recovery: %s", recovery ? recovery : "(null)");
    evidentia_string_free(recovery);
    CHECK(evidentia_log_recovery(log, NULL) == EVIDENTIA_INVALID_ARGUMENT, "recovery without out");
    /* Receipts and proofs served by the open log equal those of a fresh reader. */
    const uint8_t *more[] = {(const uint8_t *)"{\"order\":6}", (const uint8_t *)"{\"order\":7}"};
    size_t more_lens[] = {11, 11};
    const char *more_nonces[] = {"order-6", NULL};
    char *acks = NULL, *retry = NULL;
    CHECK(evidentia_log_append_events(log, more, more_lens, 2, more_nonces, NULL, 0, &acks) == EVIDENTIA_OK && acks,
          "batch");
    /* A batch retried: refused without the flag, the original receipt with it. */
    CHECK(evidentia_log_append_events(log, more, more_lens, 1, more_nonces, NULL, 0, &retry) == EVIDENTIA_NONCE_IN_USE &&
              retry == NULL,
          "a batch nonce in use");
    CHECK(evidentia_log_append_events(log, more, more_lens, 1, more_nonces, NULL, EVIDENTIA_APPEND_IDEMPOTENT, &retry) ==
                  EVIDENTIA_OK &&
              retry && acks && strncmp(acks, retry, strlen(retry)) == 0 && acks[strlen(retry)] == '\n',
          "an idempotent batch retry gives the first receipt: %s", retry ? retry : "(null)");
    evidentia_string_free(retry);
    retry = NULL;
    evidentia_string_free(acks);
    const char *twice[] = {"order-8", "order-8"};
    CHECK(evidentia_log_append_events(log, more, more_lens, 2, twice, NULL, 0, &retry) == EVIDENTIA_NONCE_IN_USE &&
              retry == NULL,
          "one nonce twice in a batch");
    const char *not_utf8[] = {"\xff", NULL};
    CHECK(evidentia_log_append_events(log, more, more_lens, 2, not_utf8, NULL, 0, &retry) == EVIDENTIA_INVALID_ARGUMENT &&
              retry == NULL,
          "a nonce that is not UTF-8");
    CHECK(evidentia_log_append_events(log, more, more_lens, 2, NULL, NULL, 4, &retry) == EVIDENTIA_INVALID_ARGUMENT &&
              retry == NULL,
          "unknown batch flags");
    CHECK(length_of(log) == 3, "len after the batch retries");
    char *checkpoint = NULL;
    CHECK(evidentia_log_checkpoint(log, &checkpoint) == EVIDENTIA_OK && checkpoint, "checkpoint");
    static char receipts[3][4096], proofs[3][4096];
    size_t len = 0;
    for (uint64_t i = 0; i < 3; i++) {
        CHECK(evidentia_log_receipt(log, i, receipts[i], sizeof receipts[i], &len) == EVIDENTIA_OK, "receipt %d", (int)i);
        CHECK(evidentia_log_inclusion_proof(log, i, 0, proofs[i], sizeof proofs[i], &len) == EVIDENTIA_OK, "proof %d",
              (int)i);
    }
    CHECK(first && strcmp(receipts[0], first) == 0, "the stored receipt is the one appending gave");
    evidentia_string_free(first);
    evidentia_log_free(log);
    log = NULL;
    CHECK(evidentia_log_open(path, key, 0, &log) == EVIDENTIA_OK, "reopen");
    for (uint64_t i = 0; i < 3; i++) {
        CHECK(evidentia_log_receipt(log, i, out, BIG, &out_len) == EVIDENTIA_OK && strcmp(out, receipts[i]) == 0,
              "same receipt %d", (int)i);
        CHECK(evidentia_log_inclusion_proof(log, i, 0, out, BIG, &out_len) == EVIDENTIA_OK && strcmp(out, proofs[i]) == 0,
              "same proof %d", (int)i);
    }
    char *latest = NULL;
    CHECK(evidentia_log_checkpoint(log, &latest) == EVIDENTIA_OK && latest && checkpoint &&
              strcmp(latest, checkpoint) == 0,
          "the same checkpoint");
    evidentia_string_free(latest);
    evidentia_string_free(checkpoint);
    CHECK(evidentia_log_find_nonce(log, "order-1", &found, &index) == EVIDENTIA_OK && found && index == 0,
          "find after reopening");
    evidentia_report *report = NULL;
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "verify");
    evidentia_report_free(report);
    evidentia_log_free(log);
    evidentia_signing_key_free(key);
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* A randomized key signs the same payload differently each time, and every
   signature verifies under the same public key; the deterministic key it came
   from keeps giving the same signature. */
static void randomized_signing_is_opt_in(void) {
    evidentia_signing_key *key = NULL, *fast = NULL;
    CHECK(evidentia_signing_key_generate(&key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_signing_key_with_randomized_signatures(key, &fast) == EVIDENTIA_OK, "randomized");
    CHECK(evidentia_signing_key_with_randomized_signatures(NULL, &fast) == EVIDENTIA_INVALID_ARGUMENT, "null key");
    CHECK(evidentia_signing_key_with_randomized_signatures(key, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null out");
    const uint8_t payload[] = "{\"amount\":\"1250.00\"}";
    char jws[4][512];
    size_t len[4];
    for (int i = 0; i < 4; i++)
        CHECK(evidentia_signing_key_sign_jws(i < 2 ? key : fast, payload, sizeof payload - 1, 0, jws[i], sizeof jws[i],
                                             &len[i]) == EVIDENTIA_OK,
              "sign %d", i);
    CHECK(strcmp(jws[0], jws[1]) == 0, "deterministic signatures are equal");
    CHECK(strcmp(jws[2], jws[3]) != 0, "randomized signatures differ");
    char jwk[512], jwks[600];
    CHECK(evidentia_signing_key_public_jwk(fast, jwk, sizeof jwk, &out_len) == EVIDENTIA_OK, "public jwk");
    snprintf(jwks, sizeof jwks, "{\"keys\":[%s]}", jwk);
    evidentia_key_set *keys = NULL;
    CHECK(evidentia_key_set_from_json(jwks, strlen(jwks), &keys) == EVIDENTIA_OK, "key set");
    for (int i = 0; i < 4; i++)
        CHECK(evidentia_verify_jws(jws[i], len[i], keys, NULL, 0, (uint8_t *)out, BIG, &out_len) == EVIDENTIA_OK &&
                  out_len == sizeof payload - 1,
              "verify %d", i);
    evidentia_key_set_free(keys);
    evidentia_signing_key_free(fast);
    evidentia_signing_key_free(key);
}

/* An evidence file (SPEC.md §18) verifies with the key set it holds, or with the
   keys the caller trusts instead; what is not one is refused with its code. */
static void evidence_files(void) {
    cJSON *corpus = read_vectors("hostile.json");
    const cJSON *ctx = cJSON_GetObjectItem(corpus, "context");
    const char *receipt = str(ctx, "receipt"), *jwks = str(ctx, "jwks");
    size_t event_len = 0;
    unsigned char *event = unbase64(str(ctx, "event"), &event_len);
    char evidence[4096], foreign_keys[4096];
    snprintf(evidence, sizeof evidence, "{\"receipt\":\"%s\",\"jwks\":%s,\"event\":%.*s}", receipt, jwks,
             (int)event_len, (const char *)event);
    snprintf(foreign_keys, sizeof foreign_keys, "{\"receipt\":\"%s\",\"jwks\":\"{}\"}", receipt);
    evidentia_key_set *trusted = NULL, *stranger = NULL;
    evidentia_signing_key *other = NULL;
    char jwk[512], other_jwks[600];
    CHECK(evidentia_key_set_from_json(jwks, strlen(jwks), &trusted) == EVIDENTIA_OK, "key set");
    CHECK(evidentia_signing_key_generate(&other) == EVIDENTIA_OK &&
              evidentia_signing_key_public_jwk(other, jwk, sizeof jwk, &out_len) == EVIDENTIA_OK,
          "another key");
    snprintf(other_jwks, sizeof other_jwks, "{\"keys\":[%s]}", jwk);
    CHECK(evidentia_key_set_from_json(other_jwks, strlen(other_jwks), &stranger) == EVIDENTIA_OK, "another key set");

    const uint8_t *text = (const uint8_t *)evidence;
    evidentia_report *report = NULL;
    CHECK(evidentia_verify_evidence_file(text, strlen(evidence), NULL, &report) == EVIDENTIA_OK &&
              evidentia_report_is_valid(report),
          "with the file's keys");
    CHECK(evidentia_report_summary(report, out, BIG, &out_len) == EVIDENTIA_OK && strncmp(out, "VALID", 5) == 0, "%s",
          out);
    evidentia_report_free(report);
    /* Trusted keys replace the file's: another key set did not sign it. */
    report = NULL;
    uint32_t codes[8];
    size_t n = 0;
    CHECK(evidentia_verify_evidence_file(text, strlen(evidence), stranger, &report) == EVIDENTIA_OK &&
              !evidentia_report_is_valid(report),
          "with another key set");
    CHECK(evidentia_report_failure_codes(report, codes, 8, &n) == EVIDENTIA_OK && n == 1 &&
              codes[0] == EVIDENTIA_KEY_NOT_FOUND,
          "KEY_NOT_FOUND");
    evidentia_report_free(report);
    /* A file whose own key set is no key set verifies with trusted keys only. */
    report = NULL;
    text = (const uint8_t *)foreign_keys;
    CHECK(evidentia_verify_evidence_file(text, strlen(foreign_keys), NULL, &report) == EVIDENTIA_KEY_SET_MALFORMED &&
              report == NULL,
          "the file's key set is malformed");
    CHECK(evidentia_verify_evidence_file(text, strlen(foreign_keys), trusted, &report) == EVIDENTIA_OK &&
              evidentia_report_is_valid(report),
          "trusted keys instead");
    evidentia_report_free(report);
    /* What is not an evidence file. */
    const struct {
        const char *text;
        evidentia_result code;
    } refused[] = {
        {"{\"receipt\":", EVIDENTIA_JSON_SYNTAX},
        {"[]", EVIDENTIA_INVALID_ARGUMENT},
        {"{\"receipt\":\"a.b.c\",\"batch_receipt\":\"{}\",\"jwks\":{}}", EVIDENTIA_INVALID_ARGUMENT},
        {"{\"receipt\":\"a.b.c\",\"jwks\":{\"keys\":[]}}", EVIDENTIA_JWS_MALFORMED},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        report = NULL;
        evidentia_result r =
            evidentia_verify_evidence_file((const uint8_t *)refused[i].text, strlen(refused[i].text), trusted, &report);
        CHECK(r == refused[i].code && report == NULL, "%s gave %s", refused[i].text, evidentia_result_name(r));
    }
    CHECK(evidentia_verify_evidence_file((const uint8_t *)"[]", 2, NULL, &report) == EVIDENTIA_INVALID_ARGUMENT &&
              evidentia_last_error(out, BIG, &out_len) == EVIDENTIA_OK && strstr(out, "evidence file"),
          "the message says what is wrong: %s", out);
    evidentia_key_set_free(trusted);
    evidentia_key_set_free(stranger);
    evidentia_signing_key_free(other);
    free(event);
    cJSON_Delete(corpus);
}

/* Signed messages of other parties: verified, recorded, found, shown, checked again. */
static void signed_messages(void) {
    char dir[] = "/tmp/evidentia-c-api-XXXXXX";
    if (!mkdtemp(dir)) exit(2);
    char path[256];
    snprintf(path, sizeof path, "%s/log", dir);
    evidentia_signing_key *key = NULL, *partner = NULL;
    evidentia_log *log = NULL;
    CHECK(evidentia_signing_key_generate(&key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_signing_key_generate(&partner) == EVIDENTIA_OK, "generate the partner's key");
    CHECK(evidentia_log_create(path, key, "c.example/messages", EVIDENTIA_MODE_RECEIPTS, NULL, &log) == EVIDENTIA_OK,
          "create");
    CHECK(evidentia_log_add_index_field(log, "instruction_id") == EVIDENTIA_OK, "add an index field");
    CHECK(evidentia_log_add_index_field(log, "instruction_id") == EVIDENTIA_INVALID_ARGUMENT, "the same field again");

    /* The partner signs an authorization (ES256 here; any partner algorithm goes the same way). */
    char jwk[512], jws[2048];
    size_t len = 0;
    CHECK(evidentia_signing_key_public_jwk(partner, jwk, sizeof jwk, &len) == EVIDENTIA_OK, "public jwk");
    const char *payload = "{\"amount\":100,\"instruction_id\":\"INS-1\"}";
    CHECK(evidentia_signing_key_sign_jws(partner, (const uint8_t *)payload, strlen(payload), 0, jws, sizeof jws,
                                         &len) == EVIDENTIA_OK,
          "partner signs");
    unsigned char verified[256];
    size_t verified_len = 0;
    CHECK(evidentia_verify_partner_jws(jws, strlen(jws), jwk, strlen(jwk), NULL, 0, verified, sizeof verified,
                                       &verified_len) == EVIDENTIA_OK &&
              verified_len == strlen(payload) && memcmp(verified, payload, verified_len) == 0,
          "verify the partner's JWS");

    const char *provenance = "{\"jwks_url\":\"https://issuer.example/jwks\",\"partner_id\":\"issuer\"}";
    char *ack = NULL;
    CHECK(evidentia_log_record_message(log, jws, strlen(jws), NULL, 0, jwk, strlen(jwk), (const uint8_t *)provenance,
                                       strlen(provenance), "inbound", -1, 0, "INS-1", NULL, &ack) == EVIDENTIA_OK &&
              ack && strncmp(ack, "eyJ", 3) == 0,
          "record the message");
    evidentia_string_free(ack);
    ack = NULL;
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"instruction_id\":\"INS-1\",\"note\":\"paid\"}", 40, NULL, NULL,
                               0, &ack) == EVIDENTIA_OK,
          "an ordinary event");
    evidentia_string_free(ack);
    ack = NULL;

    /* The response, sent by the operator and linked to the request; a link to no record is refused. */
    CHECK(evidentia_log_record_message(log, jws, strlen(jws), NULL, 0, jwk, strlen(jwk), NULL, 0, "outbound", 0, 0,
                                       NULL, NULL, &ack) == EVIDENTIA_OK &&
              ack,
          "record a linked message");
    evidentia_string_free(ack);
    ack = NULL;
    CHECK(evidentia_log_record_message(log, jws, strlen(jws), NULL, 0, jwk, strlen(jwk), NULL, 0, "outbound", 99, 0,
                                       NULL, NULL, &ack) != EVIDENTIA_OK &&
              ack == NULL,
          "a link to no record");
    CHECK(evidentia_log_record_message(log, jws, strlen(jws), NULL, 0, jwk, strlen(jwk), NULL, 0, "sideways", -1, 0,
                                       NULL, NULL, &ack) == EVIDENTIA_INVALID_ARGUMENT,
          "a direction that is not one");
    CHECK(evidentia_log_record_message(log, jws, strlen(jws), NULL, 0, jwk, strlen(jwk), NULL, 0, "inbound", -1, 4,
                                       NULL, NULL, &ack) == EVIDENTIA_INVALID_ARGUMENT,
          "unknown flags");

    /* A tampered signature is refused, or recorded as failed when asked. */
    char tampered[2048];
    strcpy(tampered, jws);
    size_t last = strlen(tampered) - 2;
    tampered[last] = tampered[last] == 'A' ? 'B' : 'A';
    CHECK(evidentia_log_record_message(log, tampered, strlen(tampered), NULL, 0, jwk, strlen(jwk), NULL, 0, "inbound",
                                       -1, 0, NULL, NULL, &ack) == EVIDENTIA_SIGNATURE_INVALID &&
              ack == NULL,
          "a tampered JWS is refused");
    CHECK(evidentia_log_record_message(log, tampered, strlen(tampered), NULL, 0, jwk, strlen(jwk), NULL, 0, "inbound",
                                       -1, EVIDENTIA_RECORD_FAILURE, NULL, NULL, &ack) == EVIDENTIA_OK &&
              ack,
          "a tampered JWS recorded as failed");
    evidentia_string_free(ack);
    ack = NULL;
    CHECK(length_of(log) == 4, "four records");

    CHECK(evidentia_log_find(log, "instruction_id", "INS-1", out, BIG, &out_len) == EVIDENTIA_OK &&
              strcmp(out, "[0,1,2,3]") == 0,
          "find: %s", out);
    CHECK(evidentia_log_find(log, "instruction_id", "INS-2", out, BIG, &out_len) == EVIDENTIA_OK &&
              strcmp(out, "[]") == 0,
          "find nothing");
    CHECK(evidentia_log_find(log, "amount", "100", out, BIG, &out_len) == EVIDENTIA_FIELD_NOT_INDEXED, "not indexed");

    CHECK(evidentia_log_message(log, 0, out, BIG, &out_len) == EVIDENTIA_OK &&
              strstr(out, "\"direction\":\"inbound\"") && strstr(out, "\"partner_id\":\"issuer\"") &&
              strstr(out, "\"payload\":{\"amount\":100"),
          "message: %s", out);
    CHECK(evidentia_log_message(log, 1, out, BIG, &out_len) == EVIDENTIA_OK && out_len == 0 && out[0] == 0,
          "an ordinary event holds no message");
    CHECK(evidentia_log_message(log, 2, out, BIG, &out_len) == EVIDENTIA_OK && strstr(out, "\"link\":{"),
          "the linked message");
    CHECK(evidentia_log_message(log, 9, out, BIG, &out_len) == EVIDENTIA_INVALID_ARGUMENT, "beyond the log");

    CHECK(evidentia_log_verify_message(log, 0, out, BIG, &out_len) == EVIDENTIA_OK &&
              strstr(out, "\"status\":\"VALID\"") && strstr(out, "\"valid\":true"),
          "verify message: %s", out);
    CHECK(evidentia_log_verify_message(log, 3, out, BIG, &out_len) == EVIDENTIA_OK &&
              strstr(out, "\"status\":\"INVALID (as recorded)\"") && strstr(out, "\"valid\":false"),
          "the failed one: %s", out);
    CHECK(evidentia_log_verify_message(log, 1, out, BIG, &out_len) == EVIDENTIA_INVALID_ARGUMENT, "not a message");

    evidentia_report *report = NULL;
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "log valid");
    evidentia_report_free(report);

    const char *plain = "{\"a\":1}";
    CHECK(evidentia_read_signed_message((const uint8_t *)plain, strlen(plain), out, BIG, &out_len) == EVIDENTIA_OK &&
              out_len == 0,
          "an ordinary event");
    const char *broken = "{\"evidentia_signed_message\":{}}";
    CHECK(evidentia_read_signed_message((const uint8_t *)broken, strlen(broken), out, BIG, &out_len) ==
              EVIDENTIA_MESSAGE_MALFORMED,
          "a malformed message");

    const char *message = "abc";
    uint8_t signature[64] = {0};
    CHECK(evidentia_verify_partner_signature("none", jwk, strlen(jwk), (const uint8_t *)message, 3, signature, 64) ==
              EVIDENTIA_JWS_UNSUPPORTED_ALGORITHM,
          "alg none");
    CHECK(evidentia_verify_partner_signature("ES256", jwk, strlen(jwk), (const uint8_t *)message, 3, signature, 64) ==
              EVIDENTIA_SIGNATURE_INVALID,
          "a zero signature");
    CHECK(evidentia_verify_partner_signature("RS256", jwk, strlen(jwk), (const uint8_t *)message, 3, signature, 64) ==
              EVIDENTIA_KEY_ALGORITHM_MISMATCH,
          "an EC key for RS256");

    evidentia_log_free(log);
    evidentia_signing_key_free(partner);
    evidentia_signing_key_free(key);
    char command[400];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    if (system(command) != 0) exit(2);
}

/* A log's checkpoint stamped by a local OpenSSL time-stamping authority: the
 * request, the authority's answer, the response attached (and carried by the
 * package); another request's answer and another authority's root refused. */
static void timestamps(void) {
    char dir[] = "/tmp/evidentia-c-tsa-XXXXXX";
    if (!mkdtemp(dir)) exit(2);
    char command[2048];
    snprintf(command, sizeof command,
             "cd '%s' && printf 'basicConstraints=critical,CA:FALSE\\nkeyUsage=critical,digitalSignature\\n"
             "extendedKeyUsage=critical,timeStamping\\n' > tsa.ext && "
             "openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem "
             "-days 3650 -subj '/CN=Evidentia test TSA root' -addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa.key -out tsa.csr "
             "-subj '/CN=Evidentia test TSA' 2>/dev/null && "
             "openssl x509 -req -in tsa.csr -CA root.pem -CAkey root.key -CAcreateserial -days 3000 -out tsa.pem "
             "-extfile tsa.ext 2>/dev/null && echo 01 > serial && "
             "printf '[ tsa ]\\ndefault_tsa = c\\n[ c ]\\nserial = %s/serial\\nsigner_cert = %s/tsa.pem\\n"
             "signer_key = %s/tsa.key\\nsigner_digest = sha256\\ndefault_policy = 1.2.3.4.1\\n"
             "digests = sha256\\ness_cert_id_alg = sha256\\n' > tsa.cnf",
             dir, dir, dir, dir);
    CHECK(system(command) == 0, "a local TSA");
    char path[300], file[300];
    snprintf(path, sizeof path, "%s/log", dir);
    evidentia_signing_key *key = NULL;
    evidentia_log *log = NULL;
    char *note = NULL, *text = NULL;
    CHECK(evidentia_signing_key_generate(&key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_log_create(path, key, "c.example/stamped", EVIDENTIA_MODE_RECEIPTS, NULL, &log) == EVIDENTIA_OK,
          "create");
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":1}", 7, NULL, NULL, 0, &text) == EVIDENTIA_OK, "append");
    evidentia_string_free(text);
    CHECK(evidentia_log_checkpoint(log, &note) == EVIDENTIA_OK && note, "checkpoint");
    unsigned char request[256];
    size_t request_len = 0;
    CHECK(evidentia_timestamp_request((const uint8_t *)note, strlen(note), "sha256", request, sizeof request,
                                      &request_len) == EVIDENTIA_OK,
          "request");
    snprintf(file, sizeof file, "%s/request.tsq", dir);
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(request, 1, request_len, f) != request_len) exit(2);
    fclose(f);
    snprintf(command, sizeof command,
             "cd '%s' && openssl ts -reply -config tsa.cnf -queryfile request.tsq -out response.tsr 2>/dev/null", dir);
    CHECK(system(command) == 0, "the TSA answers");
    size_t response_len = 0, root_len = 0;
    snprintf(file, sizeof file, "%s/response.tsr", dir);
    char *response = read_file(file, &response_len);
    snprintf(file, sizeof file, "%s/root.pem", dir);
    char *root = read_file(file, &root_len);
    size_t out_len = 0;
    CHECK(evidentia_verify_timestamp((const uint8_t *)response, response_len, (const uint8_t *)note, strlen(note),
                                     (const uint8_t *)root, root_len, NULL, 0, NULL, 0, request, request_len, out, BIG,
                                     &out_len) == EVIDENTIA_OK &&
              strstr(out, "\"tsa\":\"CN=Evidentia test TSA\""),
          "verify: %s", out);
    CHECK(evidentia_log_attach_timestamp(log, (const uint8_t *)response, response_len, (const uint8_t *)root, root_len,
                                         NULL, 0, NULL, 0, request, request_len, &text) == EVIDENTIA_OK &&
              text && strstr(text, "\"size\":1"),
          "attach: %s", text ? text : "(null)");
    evidentia_string_free(text);
    text = NULL;
    CHECK(evidentia_log_attach_timestamp(log, (const uint8_t *)response, response_len, (const uint8_t *)root, root_len,
                                         NULL, 0, NULL, 0, (const uint8_t *)"\x30\x00", 2, &text) ==
                  EVIDENTIA_TIMESTAMP_MALFORMED &&
              text == NULL,
          "a request that is not one");
    CHECK(evidentia_log_attach_timestamp(log, (const uint8_t *)response, response_len, (const uint8_t *)"-", 1, NULL,
                                         0, NULL, 0, NULL, 0, &text) == EVIDENTIA_TIMESTAMP_MALFORMED,
          "roots that are not certificates");
    CHECK(evidentia_log_attach_timestamp(NULL, (const uint8_t *)response, response_len, (const uint8_t *)root, root_len,
                                         NULL, 0, NULL, 0, NULL, 0, &text) == EVIDENTIA_INVALID_ARGUMENT,
          "no log");
    /* An optional input whose pointer is NULL but whose length is not: refused, not dropped. */
    CHECK(evidentia_log_attach_timestamp(log, (const uint8_t *)response, response_len, (const uint8_t *)root, root_len,
                                         NULL, 0, NULL, 5, NULL, 0, &text) == EVIDENTIA_INVALID_ARGUMENT,
          "a pinned certificate lost on the way");
    CHECK(evidentia_verify_timestamp((const uint8_t *)response, response_len, (const uint8_t *)note, strlen(note),
                                     (const uint8_t *)root, root_len, NULL, 0, NULL, 0, NULL, 3, out, BIG,
                                     &out_len) == EVIDENTIA_INVALID_ARGUMENT,
          "a request lost on the way");
    /* Requests for the same data and hash have one length: the size asked first fits. */
    size_t first_len = 0, again_len = 0;
    unsigned char again[256];
    CHECK(evidentia_timestamp_request((const uint8_t *)note, strlen(note), "sha256", NULL, 0, &first_len) ==
              EVIDENTIA_BUFFER_TOO_SMALL,
          "the size first");
    for (int i = 0; i < 64; i++) {
        CHECK(evidentia_timestamp_request((const uint8_t *)note, strlen(note), "sha256", again, first_len, &again_len) ==
                      EVIDENTIA_OK &&
                  again_len == first_len,
              "a request of the size asked");
    }
    /* After another append, record 0's package proves it in the stamped checkpoint. */
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":2}", 7, NULL, NULL, 0, &text) == EVIDENTIA_OK, "append");
    evidentia_string_free(text);
    char package[400];
    snprintf(package, sizeof package, "%s/package", dir);
    CHECK(evidentia_log_export_package(log, 0, package, &text) == EVIDENTIA_OK, "export");
    evidentia_string_free(text);
    snprintf(file, sizeof file, "%s/package/timestamp.tst", dir);
    FILE *stamp = fopen(file, "rb");
    CHECK(stamp != NULL, "the package carries the timestamp");
    if (stamp) fclose(stamp);
    free(response);
    free(root);
    evidentia_string_free(note);
    evidentia_log_free(log);
    evidentia_signing_key_free(key);
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Whether a file under `dir` (one level of folders deep, as a log has) holds `needle`. */
static int any_file_holds(const char *dir, const char *needle) {
    char command[600];
    snprintf(command, sizeof command, "grep -rqF '%s' '%s'", needle, dir);
    return system(command) == 0;
}

/* Erasure (SPEC.md §27): a version-2 log erases an event, which is then in no
   file of the log, keeps verifying, and refuses what may not be erased. */
static void erasure(void) {
    char dir[] = "/tmp/evidentia-c-erase-XXXXXX";
    if (!mkdtemp(dir)) exit(2);
    char path[256];
    snprintf(path, sizeof path, "%s/log", dir);
    evidentia_signing_key *key = NULL;
    evidentia_log *log = NULL;
    CHECK(evidentia_signing_key_generate(&key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_log_create_versioned(path, key, NULL, EVIDENTIA_MODE_RECEIPTS, NULL, 3, &log) ==
              EVIDENTIA_INVALID_ARGUMENT && log == NULL,
          "record version 3");
    CHECK(evidentia_log_create_versioned(path, key, NULL, EVIDENTIA_MODE_RECEIPTS, NULL, 2, &log) == EVIDENTIA_OK,
          "create a version-2 log");
    const char *events[] = {"{\"name\":\"Bob\"}", "{\"name\":\"Dorothy-Vaughan-3e7a\"}", "{\"name\":\"Carol\"}"};
    for (int i = 0; i < 3; i++) {
        char *ack = NULL;
        CHECK(evidentia_log_append(log, (const uint8_t *)events[i], strlen(events[i]), NULL, NULL, 0, &ack) ==
                  EVIDENTIA_OK,
              "append");
        evidentia_string_free(ack);
    }
    CHECK(any_file_holds(dir, "Dorothy-Vaughan-3e7a"), "the event is stored");
    CHECK(evidentia_log_hold(log, 1, "case 2026-17") == EVIDENTIA_OK, "hold");
    CHECK(evidentia_log_holds(log, out, BIG, &out_len) == EVIDENTIA_OK && strstr(out, "\"case 2026-17\""),
          "holds: %s", out);
    CHECK(evidentia_log_erase(log, 1, "GDPR", out, BIG, &out_len) == EVIDENTIA_ERASURE_REFUSED, "held");
    bool released = false;
    CHECK(evidentia_log_release(log, 1, &released) == EVIDENTIA_OK && released, "release");
    CHECK(evidentia_log_release(log, 1, &released) == EVIDENTIA_OK && !released, "released already");
    char *checkpoint = NULL;
    CHECK(evidentia_log_checkpoint(log, &checkpoint) == EVIDENTIA_OK, "checkpoint");
    evidentia_string_free(checkpoint);
    char package[300];
    snprintf(package, sizeof package, "%s/package", dir);
    char *archive = NULL;
    const char *names = "[\"name\"]";
    CHECK(evidentia_log_export_package_disclosing(log, 2, package, names, strlen(names), &archive) == EVIDENTIA_OK,
          "export disclosing");
    evidentia_string_free(archive);
    CHECK(!any_file_holds(package, "Dorothy"), "only record 2 is in its package");
    CHECK(evidentia_log_export_package_disclosing(log, 2, package, "{}", 2, &archive) == EVIDENTIA_INVALID_ARGUMENT,
          "not a list");
    CHECK(evidentia_log_erase(log, 1, "GDPR Art. 17 request 118", out, BIG, &out_len) == EVIDENTIA_OK, "erase");
    CHECK(!any_file_holds(dir, "Dorothy-Vaughan-3e7a"), "the event is in no file");
    evidentia_report *report = NULL;
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "valid");
    CHECK(evidentia_report_to_json(report, out, BIG, &out_len) == EVIDENTIA_OK &&
              strstr(out, "\"erased\":[{\"by\":3,\"index\":1,\"reason\":\"GDPR Art. 17 request 118\",\"seq\":1}]"),
          "reported erased: %s", out);
    evidentia_report_free(report);
    CHECK(evidentia_log_erase(log, 1, "again", out, BIG, &out_len) == EVIDENTIA_RECORD_ERASED, "erased already");
    CHECK(evidentia_log_erase(log, 3, "own", out, BIG, &out_len) == EVIDENTIA_ERASURE_REFUSED, "the erasure record");
    CHECK(evidentia_log_erase(log, 9, "beyond", out, BIG, &out_len) == EVIDENTIA_INVALID_ARGUMENT, "beyond");
    CHECK(evidentia_log_erase(log, 0, NULL, out, BIG, &out_len) == EVIDENTIA_INVALID_ARGUMENT, "null reason");
    CHECK(evidentia_log_hold(log, 0, "\x01") == EVIDENTIA_INVALID_ARGUMENT, "a control character");
    CHECK(evidentia_log_release(log, 0, NULL) == EVIDENTIA_INVALID_ARGUMENT, "null released");
    CHECK(evidentia_log_erase(NULL, 0, "x", out, BIG, &out_len) == EVIDENTIA_INVALID_ARGUMENT, "null log");
    evidentia_log_free(log);
    evidentia_signing_key_free(key);
}

int main(void) {
    null_pointers_are_refused();
    small_buffers_get_the_needed_size_and_stay_untouched();
    last_error_says_what_failed();
    garbage_never_crashes();
    randomized_signing_is_opt_in();
    threads_share_a_log();
    nonces_times_and_strings();
    batches_rotation_and_key_history();
    revocation();
    erasure();
    evidence_files();
    signed_messages();
    timestamps();
    printf("test_api: %d checks, %d failed\n", checks_run, checks_failed);
    return checks_failed ? 1 : 0;
}
