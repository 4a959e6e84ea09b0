/* Sign an event into a log, hand out its receipt, verify it offline (README example). */
#include <evidentia.h>
#include <stdio.h>
#include <string.h>
#define TRY(call) do { evidentia_result r = (call); if (r) { puts(evidentia_result_name(r)); return 2; } } while (0)

int main(void) {
    const char *event = "{\"type\": \"payment.approved\", \"amount\": \"1250.00\", \"currency\": \"EUR\"}";
    char *receipt, jwk[512], summary[256];
    uint8_t salt[64]; /* the record commits to its event under it: keep it with the receipt */
    size_t len, salt_len;
    evidentia_signing_key *key; evidentia_log *log; evidentia_key_set *keys; evidentia_report *report;
    TRY(evidentia_signing_key_generate(&key));
    TRY(evidentia_log_create("payments", key, "example.com/payments", EVIDENTIA_MODE_RECEIPTS, NULL, &log));
    TRY(evidentia_log_append(log, (const uint8_t *)event, strlen(event), NULL, NULL, 0, &receipt));
    TRY(evidentia_log_salt(log, 0, salt, sizeof salt, &salt_len));
    TRY(evidentia_signing_key_public_jwk(key, jwk, sizeof jwk, &len));
    TRY(evidentia_key_set_from_json(jwk, len, &keys));
    TRY(evidentia_verify_receipt_salted(receipt, strlen(receipt), keys, (const uint8_t *)event, strlen(event), salt,
                                        salt_len, &report));
    TRY(evidentia_report_summary(report, summary, sizeof summary, &len));
    puts(summary); /* VALID: receipt, all 4 checks passed */
    int valid = evidentia_report_is_valid(report);
    evidentia_string_free(receipt), evidentia_report_free(report), evidentia_key_set_free(keys);
    evidentia_log_free(log), evidentia_signing_key_free(key);
    return valid ? 0 : 1;
}
