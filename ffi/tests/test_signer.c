/* Keys held elsewhere: a key that signs through a C callback. The stand-in for an
   HSM library or a cloud KMS client is OpenSSL, holding the private key and
   answering in ASN.1 DER, as they do. */
#define _DEFAULT_SOURCE
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <unistd.h>

#include "common.h"

/* The last error's message, for failure reports. */
static const char *last_error(void) {
    static char message[1024];
    size_t len = 0;
    if (evidentia_last_error(message, sizeof message, &len) != EVIDENTIA_OK) message[0] = 0;
    return message;
}

/* What the callback is given: the key OpenSSL holds, and how to misbehave. */
typedef struct {
    EVP_PKEY *pkey;
    int calls;
    int status;       /* returned instead of 0 when not 0 */
    int tamper;       /* sign another message */
    int overflow;     /* claim more bytes than the room given */
} hsm;

static int hsm_sign(void *context, const uint8_t *message, size_t message_len, uint8_t *signature,
                    size_t signature_cap, size_t *signature_len) {
    hsm *h = context;
    h->calls++;
    if (h->status) return h->status;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t len = signature_cap;
    uint8_t changed = (uint8_t)'!';
    int ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, h->pkey) == 1 &&
             EVP_DigestSign(md, signature, &len, h->tamper ? &changed : message, h->tamper ? 1 : message_len) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) return -1;
    *signature_len = h->overflow ? signature_cap + 1 : len;
    return 0;
}

/* An OpenSSL key made from an Evidentia key's PEM, and the public JWK. */
static EVP_PKEY *openssl_key(evidentia_signing_key *key, char *jwk, size_t jwk_cap) {
    char pem[1024];
    size_t len = 0;
    CHECK(evidentia_signing_key_to_pem(key, pem, sizeof pem, &len) == EVIDENTIA_OK, "pem");
    CHECK(evidentia_signing_key_public_jwk(key, jwk, jwk_cap, &len) == EVIDENTIA_OK, "public jwk");
    BIO *bio = BIO_new_mem_buf(pem, (int)strlen(pem));
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    CHECK(pkey != NULL, "OpenSSL reads the PEM");
    return pkey;
}

static uint64_t length(evidentia_log *log) {
    uint64_t n = 0;
    CHECK(evidentia_log_len(log, &n) == EVIDENTIA_OK, "len");
    return n;
}

static int log_is_valid(const char *dir) {
    evidentia_report *report = NULL;
    CHECK(evidentia_verify_log_dir(dir, NULL, &report) == EVIDENTIA_OK, "verify %s", dir);
    int valid = evidentia_report_is_valid(report);
    evidentia_report_free(report);
    return valid;
}

static void a_log_signs_through_the_callback(uint32_t mode) {
    evidentia_signing_key *software = NULL, *other = NULL, *key = NULL;
    CHECK(evidentia_signing_key_generate(&software) == EVIDENTIA_OK, "generate");
    CHECK(evidentia_signing_key_generate(&other) == EVIDENTIA_OK, "generate");
    char jwk[512], other_jwk[512];
    hsm h = {openssl_key(software, jwk, sizeof jwk), 0, 0, 0, 0};
    hsm wrong_key = {openssl_key(other, other_jwk, sizeof other_jwk), 0, 0, 0, 0};
    CHECK(evidentia_signing_key_from_callback(jwk, strlen(jwk), hsm_sign, &h, &key) == EVIDENTIA_OK, "from callback");

    char dir[] = "/tmp/evidentia-c-signer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    char path[600];
    snprintf(path, sizeof path, "%s/log", dir);
    evidentia_log *log = NULL;
    CHECK(evidentia_log_create(path, key, NULL, mode, NULL, &log) == EVIDENTIA_OK, "create: %s", last_error());
    for (int i = 0; i < 3; i++) {
        char event[32], *out = NULL;
        snprintf(event, sizeof event, "{\"n\":%d}", i);
        CHECK(evidentia_log_append(log, (const uint8_t *)event, strlen(event), NULL, NULL, 0, &out) == EVIDENTIA_OK,
              "append %d: %s", i, last_error());
        evidentia_string_free(out);
    }
    char *note = NULL;
    CHECK(evidentia_log_checkpoint(log, &note) == EVIDENTIA_OK, "checkpoint: %s", last_error());
    evidentia_string_free(note);
    CHECK(h.calls >= (mode == EVIDENTIA_MODE_RECEIPTS ? 3 : 1), "the key held elsewhere signed (%d calls)", h.calls);

    /* Each way of failing is SIGNER_FAILED, and writes nothing. */
    hsm *bad[] = {&h, &h, &h, &wrong_key};
    const char *why[] = {"status", "tampered", "overflow", "another key"};
    evidentia_log_free(log);
    CHECK(log_is_valid(path), "the log verifies");

    for (int i = 0; i < 4; i++) {
        hsm *target = bad[i];
        target->status = i == 0 ? 7 : 0;
        target->tamper = i == 1;
        target->overflow = i == 2;
        evidentia_signing_key *failing = NULL;
        CHECK(evidentia_signing_key_from_callback(jwk, strlen(jwk), hsm_sign, target, &failing) == EVIDENTIA_OK,
              "failing key");
        CHECK(evidentia_log_open(path, failing, 0, &log) == EVIDENTIA_OK, "open: %s", last_error());
        uint64_t before = length(log);
        char *out = NULL;
        evidentia_result r = evidentia_log_append(log, (const uint8_t *)"{\"n\":9}", 7, NULL, NULL, 0, &out);
        if (mode == EVIDENTIA_MODE_RECEIPTS) {
            CHECK(r == EVIDENTIA_SIGNER_FAILED, "%s: %d %s", why[i], r, last_error());
            CHECK(length(log) == before, "%s: nothing written", why[i]);
        } else {
            /* Batch mode stores the events, then signs the checkpoint that seals them:
               they wait, unsealed, for the next checkpoint a working key signs. */
            CHECK(r == EVIDENTIA_RECORDS_UNSEALED, "%s: %d %s", why[i], r, last_error());
            r = evidentia_log_checkpoint(log, &out);
            CHECK(r == EVIDENTIA_SIGNER_FAILED, "%s: checkpoint %d %s", why[i], r, last_error());
        }
        target->status = target->tamper = target->overflow = 0;
        evidentia_log_free(log);
        evidentia_signing_key_free(failing);
    }
    /* The good key continues the log, which still verifies. */
    CHECK(evidentia_log_open(path, key, 0, &log) == EVIDENTIA_OK, "reopen");
    char *out = NULL;
    CHECK(evidentia_log_append(log, (const uint8_t *)"{\"n\":10}", 8, NULL, NULL, 0, &out) == EVIDENTIA_OK, "append");
    evidentia_string_free(out);
    CHECK(evidentia_log_checkpoint(log, &out) == EVIDENTIA_OK, "checkpoint");
    evidentia_string_free(out);
    evidentia_log_free(log);
    CHECK(log_is_valid(path), "the log verifies after the failures");

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
    evidentia_signing_key_free(key);
    evidentia_signing_key_free(other);
    evidentia_signing_key_free(software);
    EVP_PKEY_free(h.pkey);
    EVP_PKEY_free(wrong_key.pkey);
}

static void a_callback_key_is_not_exportable(void) {
    evidentia_signing_key *software = NULL, *key = NULL, *fast = NULL;
    CHECK(evidentia_signing_key_generate(&software) == EVIDENTIA_OK, "generate");
    char jwk[512];
    size_t len = 0;
    hsm h = {openssl_key(software, jwk, sizeof jwk), 0, 0, 0, 0};
    CHECK(evidentia_signing_key_from_callback(jwk, strlen(jwk), NULL, &h, &key) == EVIDENTIA_INVALID_ARGUMENT,
          "no function");
    evidentia_result r = evidentia_signing_key_from_callback("{}", 2, hsm_sign, &h, &key);
    CHECK(r >= 300 && r < 400, "a JWK that is no key: %d", r);
    CHECK(key == NULL, "nothing made");
    CHECK(evidentia_signing_key_from_callback(jwk, strlen(jwk), hsm_sign, &h, &key) == EVIDENTIA_OK, "made");
    CHECK(evidentia_signing_key_to_jwk(key, out, sizeof out, &out_len) == EVIDENTIA_KEY_NOT_PRIVATE, "to_jwk");
    CHECK(evidentia_signing_key_to_pem(key, out, sizeof out, &out_len) == EVIDENTIA_KEY_NOT_PRIVATE, "to_pem");
    CHECK(evidentia_signing_key_with_randomized_signatures(key, &fast) == EVIDENTIA_KEY_NOT_PRIVATE, "randomized");
    char kid[128], software_kid[128];
    CHECK(evidentia_signing_key_kid(key, kid, sizeof kid, &len) == EVIDENTIA_OK, "kid");
    CHECK(evidentia_signing_key_kid(software, software_kid, sizeof software_kid, &len) == EVIDENTIA_OK, "kid");
    CHECK(strcmp(kid, software_kid) == 0, "the same kid");
    /* A JWS signed through the callback verifies with the public key. */
    char jws[512], jwks[600];
    CHECK(evidentia_signing_key_sign_jws(key, (const uint8_t *)"{}", 2, 0, jws, sizeof jws, &len) == EVIDENTIA_OK,
          "sign jws");
    snprintf(jwks, sizeof jwks, "{\"keys\":[%s]}", jwk);
    evidentia_key_set *keys = NULL;
    CHECK(evidentia_key_set_from_json(jwks, strlen(jwks), &keys) == EVIDENTIA_OK, "key set");
    uint8_t payload[16];
    CHECK(evidentia_verify_jws(jws, strlen(jws), keys, NULL, 0, payload, sizeof payload, &len) == EVIDENTIA_OK,
          "verify jws");
    evidentia_key_set_free(keys);
    evidentia_signing_key_free(key);
    evidentia_signing_key_free(software);
    EVP_PKEY_free(h.pkey);
}

int main(void) {
    a_log_signs_through_the_callback(EVIDENTIA_MODE_RECEIPTS);
    a_log_signs_through_the_callback(EVIDENTIA_MODE_BATCH);
    a_callback_key_is_not_exportable();
    printf("test_signer: %d checks, %d failed\n", checks_run, checks_failed);
    return checks_failed ? 1 : 0;
}
