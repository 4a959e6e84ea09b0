/* Sign, append, verify: the whole cycle through libevidentia.
 *
 *   make run          (with evidentia.pc on PKG_CONFIG_PATH)
 */
#define _DEFAULT_SOURCE
#include <evidentia.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buffer[16384];
static size_t length;

/* Prints the failed call with the library's message and stops. */
static void check(evidentia_result result, const char *what) {
    if (result == EVIDENTIA_OK) return;
    char message[512];
    size_t n;
    evidentia_last_error(message, sizeof message, &n);
    fprintf(stderr, "%s failed: %s (%s)\n", what, evidentia_result_name(result), message);
    exit(2);
}

int main(void) {
    char dir[] = "/tmp/evidentia-example-XXXXXX";
    if (!mkdtemp(dir)) return 2;
    char path[256];
    snprintf(path, sizeof path, "%s/payments", dir);

    /* A signing key and a log of payment approvals on the local disk. */
    evidentia_signing_key *key;
    check(evidentia_signing_key_generate(&key), "generate a key");
    evidentia_log *log;
    check(evidentia_log_create(path, key, "example.com/payments", EVIDENTIA_MODE_RECEIPTS, NULL, &log), "create the log");

    const char *events[] = {
        "{\"type\": \"payment.approved\", \"amount\": \"1250.00\", \"currency\": \"EUR\"}",
        "{\"type\": \"payment.approved\", \"amount\": \"89.90\", \"currency\": \"EUR\"}",
    };
    /* Each receipt is a new string, freed with evidentia_string_free; keep the last. */
    char *receipt = NULL;
    for (size_t i = 0; i < 2; i++) {
        evidentia_string_free(receipt);
        check(evidentia_log_append(log, (const uint8_t *)events[i], strlen(events[i]), NULL, NULL, 0, &receipt),
              "append");
    }
    printf("receipt: %.60s...\n", receipt);
    /* The record commits to its event under a salt (a log's records are of version
     * 2): whoever checks the event later needs it, so it goes with the receipt. */
    uint8_t salt[64];
    size_t salt_len;
    check(evidentia_log_salt(log, 1, salt, sizeof salt, &salt_len), "the event's salt");

    /* A counterparty holds the public key and checks the receipt offline. */
    check(evidentia_signing_key_public_jwk(key, buffer, sizeof buffer, &length), "public key");
    evidentia_key_set *keys;
    check(evidentia_key_set_from_json(buffer, length, &keys), "key set");
    evidentia_report *report;
    check(evidentia_verify_receipt_salted(receipt, strlen(receipt), keys, (const uint8_t *)events[1],
                                          strlen(events[1]), salt, salt_len, &report),
          "verify the receipt");
    check(evidentia_report_to_text(report, buffer, sizeof buffer, &length), "report");
    printf("%s", buffer);
    int valid = evidentia_report_is_valid(report);
    evidentia_report_free(report);

    /* The whole log: every signature and link. */
    check(evidentia_log_verify(log, keys, &report), "verify the log");
    valid = valid && evidentia_report_is_valid(report);
    check(evidentia_report_to_text(report, buffer, sizeof buffer, &length), "report");
    printf("%.*s\n", (int)strcspn(buffer, "\n"), buffer);
    evidentia_report_free(report);

    evidentia_string_free(receipt);
    evidentia_key_set_free(keys);
    evidentia_log_free(log);
    evidentia_signing_key_free(key);
    snprintf(buffer, sizeof buffer, "rm -rf '%s'", dir);
    if (system(buffer) != 0) return 2;
    return valid ? 0 : 1;
}
