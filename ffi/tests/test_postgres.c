/* Logs kept in PostgreSQL, opened by URL through the same evidentia_log functions
 * as a folder.
 *
 * `cargo xtask test` starts a throwaway PostgreSQL 15 cluster and names it in
 * EVIDENTIA_TEST_POSTGRES (a URL ending in '/', with empty databases "receipts" and
 * "batch"); without it this test skips, unless EVIDENTIA_REQUIRE_POSTGRES is set. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "common.h"

static void a_log_in_postgres(const char *server, const char *database, uint32_t mode) {
    char url[512], log_id[64];
    snprintf(url, sizeof url, "%s%s", server, database);
    snprintf(log_id, sizeof log_id, "c.example/pg-%s", database);
    evidentia_signing_key *key = NULL;
    evidentia_log *log = NULL, *other = NULL;
    CHECK(evidentia_signing_key_generate(&key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_log_create(url, key, log_id, mode, NULL, &log) == EVIDENTIA_OK, "create %s", database);
    if (!log) {
        evidentia_signing_key_free(key);
        return;
    }
    char *first = NULL, *text = NULL;
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":0}", 7, "order-0", NULL, 0, &first) == EVIDENTIA_OK,
          "append");
    /* A second handle on the same log, as another instance of a service: both append. */
    CHECK(evidentia_log_open(url, key, 0, &other) == EVIDENTIA_OK, "open a second handle");
    const uint8_t *events[] = {(const uint8_t *)"{\"n\":1}", (const uint8_t *)"{\"n\":2}"};
    size_t lens[] = {7, 7};
    CHECK(evidentia_log_append_batch(other, events, lens, 2, NULL, &text) == EVIDENTIA_OK, "batch");
    evidentia_string_free(text);
    evidentia_log_free(other);
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":3}", 7, NULL, NULL, 0, &text) == EVIDENTIA_OK, "append");
    evidentia_string_free(text);
    uint64_t len = 0;
    CHECK(evidentia_log_len(log, &len) == EVIDENTIA_OK && len == 4, "len %llu", (unsigned long long)len);
    /* A retried request: the same acknowledgement, no second record. */
    text = NULL;
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":0}", 7, "order-0", NULL, EVIDENTIA_APPEND_IDEMPOTENT,
                               &text) == EVIDENTIA_OK &&
              first && text && strcmp(first, text) == 0,
          "idempotent retry");
    evidentia_string_free(text);
    text = NULL;
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":9}", 7, "order-0", NULL, 0, &text) ==
                  EVIDENTIA_NONCE_IN_USE &&
              text == NULL,
          "nonce in use");
    bool found = false;
    uint64_t index = 99;
    CHECK(evidentia_log_find_nonce(log, "order-0", &found, &index) == EVIDENTIA_OK && found && index == 0, "find");
    char *checkpoint = NULL;
    CHECK(evidentia_log_checkpoint(log, &checkpoint) == EVIDENTIA_OK && checkpoint, "checkpoint");
    char expected[80];
    snprintf(expected, sizeof expected, "%s\n4\n", log_id);
    CHECK(checkpoint && strncmp(checkpoint, expected, strlen(expected)) == 0, "checkpoint text");
    static char receipt[BIG], proof[BIG];
    size_t receipt_len = 0, proof_len = 0;
    evidentia_key_set *keys = NULL;
    CHECK(evidentia_log_keys(log, out, BIG, &out_len) == EVIDENTIA_OK, "keys");
    CHECK(evidentia_key_set_from_json(out, out_len, &keys) == EVIDENTIA_OK, "key set");
    for (uint64_t i = 0; i < 4 && checkpoint; i++) {
        CHECK(evidentia_log_receipt(log, i, receipt, BIG, &receipt_len) == EVIDENTIA_OK, "receipt %llu",
              (unsigned long long)i);
        CHECK(evidentia_log_inclusion_proof(log, i, 0, proof, BIG, &proof_len) == EVIDENTIA_OK, "proof");
        CHECK(evidentia_verify_inclusion(receipt, receipt_len, proof, proof_len, checkpoint, strlen(checkpoint),
                                         keys) == EVIDENTIA_OK,
              "record %llu is in the checkpoint", (unsigned long long)i);
        if (i == 0 && mode == EVIDENTIA_MODE_RECEIPTS) CHECK(first && strcmp(receipt, first) == 0, "receipt 0");
    }
    CHECK(evidentia_log_consistency_proof(log, 1, 0, proof, BIG, &proof_len) == EVIDENTIA_OK &&
              strstr(proof, "\"new_size\":4"),
          "consistency");
    evidentia_report *report = NULL;
    CHECK(evidentia_log_verify(log, keys, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report) &&
              evidentia_report_records(report) == 4,
          "verify");
    evidentia_report_free(report);
    /* What only a folder log does yet is refused, with a message that says so. */
    char message[512];
    size_t message_len = 0;
    CHECK(evidentia_log_recovery(log, &text) == EVIDENTIA_INVALID_ARGUMENT && text == NULL, "recovery");
    CHECK(evidentia_last_error(message, sizeof message, &message_len) == EVIDENTIA_OK && strstr(message, "PostgreSQL"),
          "the message: %s", message);
    /* Keys rotate as in a folder: the retired key's records keep verifying. */
    evidentia_signing_key *new_key = NULL;
    CHECK(evidentia_signing_key_generate(&new_key) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_log_rotate(log, new_key) == EVIDENTIA_OK, "rotate");
    text = NULL;
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":4}", 7, NULL, NULL, 0, &text) == EVIDENTIA_OK,
          "append after the rotation");
    evidentia_string_free(text);
    text = NULL;
    report = NULL;
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report) &&
              evidentia_report_records(report) == 6,
          "verify after the rotation");
    evidentia_report_free(report);
    CHECK(evidentia_log_rotate(log, key) == EVIDENTIA_KEY_SET_MALFORMED, "an old key does not come back");
    /* An evidence package of a record before the rotation carries the key record
     * and verifies on its own. */
    char dir[] = "/tmp/evidentia-c-pg-XXXXXX";
    if (!mkdtemp(dir)) exit(2);
    char package[300], command[400];
    snprintf(package, sizeof package, "%s/package", dir);
    char *archive = NULL, *package_report = NULL;
    CHECK(evidentia_log_export_package(log, 1, package, &archive) == EVIDENTIA_OK && archive, "export");
    CHECK(archive && evidentia_verify_package(archive, &package_report) == EVIDENTIA_OK && package_report &&
              strstr(package_report, "\"valid\":true"),
          "the package: %s", package_report ? package_report : "(none)");
    evidentia_string_free(archive);
    evidentia_string_free(package_report);
    /* Salted by default (version 2): an event is erased in one transaction, a held
     * record is not, and the log stays valid. */
    char out[4096];
    size_t out_len = 0;
    CHECK(evidentia_log_hold(log, 5, "case 2026-17") == EVIDENTIA_OK, "hold");
    CHECK(evidentia_log_holds(log, out, sizeof out, &out_len) == EVIDENTIA_OK && strstr(out, "\"case 2026-17\""),
          "holds: %s", out);
    CHECK(evidentia_log_erase(log, 5, "GDPR", out, sizeof out, &out_len) == EVIDENTIA_ERASURE_REFUSED, "held");
    bool released = false;
    CHECK(evidentia_log_release(log, 5, &released) == EVIDENTIA_OK && released, "release");
    CHECK(evidentia_log_erase(log, 5, "GDPR Art. 17 request 118", out, sizeof out, &out_len) == EVIDENTIA_OK, "erase");
    CHECK(evidentia_log_erase(log, 5, "again", out, sizeof out, &out_len) == EVIDENTIA_RECORD_ERASED, "erased already");
    report = NULL;
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "valid");
    CHECK(evidentia_report_to_json(report, out, sizeof out, &out_len) == EVIDENTIA_OK &&
              strstr(out, "\"erased\":[{\"by\":6,\"index\":5,\"reason\":\"GDPR Art. 17 request 118\",\"seq\":5}]"),
          "reported erased: %s", out);
    evidentia_report_free(report);
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) exit(2);
    evidentia_signing_key_free(new_key);
    evidentia_log_free(log);
    log = NULL;
    CHECK(evidentia_log_create(url, key, NULL, mode, NULL, &log) == EVIDENTIA_LOG_EXISTS && log == NULL, "exists");
    /* Opened without a key: it reads, proves and verifies, but does not append. */
    CHECK(evidentia_log_open(url, NULL, 0, &log) == EVIDENTIA_OK, "open to read");
    CHECK(evidentia_log_append(log, (const uint8_t *)"{}", 2, NULL, NULL, 0, &text) == EVIDENTIA_KEY_NOT_PRIVATE,
          "no key");
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "verify");
    evidentia_report_free(report);
    evidentia_log_free(log);
    evidentia_key_set_free(keys);
    evidentia_string_free(checkpoint);
    evidentia_string_free(first);
    evidentia_signing_key_free(key);
}

int main(void) {
    const char *server = getenv("EVIDENTIA_TEST_POSTGRES");
    if (!server || !*server) {
        if (getenv("EVIDENTIA_REQUIRE_POSTGRES")) {
            fprintf(stderr, "EVIDENTIA_REQUIRE_POSTGRES is set but EVIDENTIA_TEST_POSTGRES is not\n");
            return 1;
        }
        printf("test_postgres: skipped (no EVIDENTIA_TEST_POSTGRES)\n");
        return 0;
    }
    a_log_in_postgres(server, "receipts", EVIDENTIA_MODE_RECEIPTS);
    a_log_in_postgres(server, "batch", EVIDENTIA_MODE_BATCH);
    printf("test_postgres: %d checks, %d failed\n", checks_run, checks_failed);
    return checks_failed ? 1 : 0;
}
