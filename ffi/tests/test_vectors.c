/* Runs every file of testvectors/ through the C ABI, as every binding does. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <unistd.h>

#include "common.h"

static evidentia_signing_key *key_named(const cJSON *keys, const char *name) {
    const cJSON *entry;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItem(keys, "keys")) {
        if (strcmp(str(entry, "name"), name) == 0) {
            const char *jwk = str(entry, "private_jwk");
            evidentia_signing_key *key = NULL;
            if (evidentia_signing_key_from_text(jwk, strlen(jwk), &key) == EVIDENTIA_OK) return key;
        }
    }
    fprintf(stderr, "no key %s\n", name);
    exit(2);
}

static evidentia_key_set *key_set(const char *jwks) {
    evidentia_key_set *keys = NULL;
    evidentia_result r = evidentia_key_set_from_json(jwks, strlen(jwks), &keys);
    if (r != EVIDENTIA_OK) {
        fprintf(stderr, "bad key set: %s\n", name_of(r));
        exit(2);
    }
    return keys;
}

static void canonicalization(void) {
    cJSON *doc = read_vectors("canonicalization.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
        size_t len;
        unsigned char *input = unhex(str(c, "input_hex"), &len);
        evidentia_result r = evidentia_canonicalize(input, len, out, BIG, &out_len);
        if (str(c, "canonical")) {
            CHECK(r == EVIDENTIA_OK && strcmp(out, str(c, "canonical")) == 0, "%s", str(c, "name"));
        } else {
            CHECK(strcmp(name_of(r), str(c, "error")) == 0, "%s: %s", str(c, "name"), name_of(r));
        }
        free(input);
    }
    cJSON_Delete(doc);
}

static void digests(void) {
    cJSON *doc = read_vectors("digests.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "json")) {
        const char *input = str(c, "input");
        CHECK(evidentia_canonicalize((const uint8_t *)input, strlen(input), out, BIG, &out_len) == EVIDENTIA_OK &&
                  strcmp(out, str(c, "canonical")) == 0,
              "%s", input);
        CHECK(evidentia_digest((const uint8_t *)input, strlen(input), out, BIG, &out_len) == EVIDENTIA_OK &&
                  strcmp(out, str(c, "digest")) == 0,
              "%s", input);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "raw")) {
        size_t len;
        unsigned char *input = unhex(str(c, "input_hex"), &len);
        CHECK(evidentia_sha256(input, len, out, BIG, &out_len) == EVIDENTIA_OK && strcmp(out, str(c, "digest")) == 0,
              "%s", str(c, "input_hex"));
        free(input);
    }
    cJSON_Delete(doc);
}

static void keys(void) {
    cJSON *doc = read_vectors("keys.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "keys")) {
        const char *jwk = str(c, "private_jwk");
        evidentia_signing_key *key = NULL;
        CHECK(evidentia_signing_key_from_text(jwk, strlen(jwk), &key) == EVIDENTIA_OK, "%s", str(c, "name"));
        CHECK(evidentia_signing_key_to_jwk(key, out, BIG, &out_len) == EVIDENTIA_OK && strcmp(out, jwk) == 0, "jwk");
        CHECK(evidentia_signing_key_public_jwk(key, out, BIG, &out_len) == EVIDENTIA_OK &&
                  strcmp(out, str(c, "public_jwk")) == 0,
              "public jwk");
        CHECK(evidentia_signing_key_to_pem(key, out, BIG, &out_len) == EVIDENTIA_OK &&
                  strcmp(out, str(c, "private_pem")) == 0,
              "pem");
        CHECK(evidentia_signing_key_public_pem(key, out, BIG, &out_len) == EVIDENTIA_OK &&
                  strcmp(out, str(c, "public_pem")) == 0,
              "public pem");
        CHECK(evidentia_signing_key_kid(key, out, BIG, &out_len) == EVIDENTIA_OK && strcmp(out, str(c, "kid")) == 0,
              "kid");
        CHECK(evidentia_jwk_thumbprint(jwk, strlen(jwk), out, BIG, &out_len) == EVIDENTIA_OK &&
                  strcmp(out, str(c, "kid")) == 0,
              "thumbprint");
        evidentia_signing_key_free(key);
        const char *pem = str(c, "private_pem");
        CHECK(evidentia_signing_key_from_text(pem, strlen(pem), &key) == EVIDENTIA_OK, "from pem");
        CHECK(evidentia_signing_key_kid(key, out, BIG, &out_len) == EVIDENTIA_OK && strcmp(out, str(c, "kid")) == 0,
              "pem kid");
        evidentia_signing_key_free(key);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "invalid_private_keys")) {
        const char *input = str(c, "input");
        evidentia_signing_key *key = NULL;
        evidentia_result r = evidentia_signing_key_from_text(input, strlen(input), &key);
        CHECK(strcmp(name_of(r), str(c, "error")) == 0 && key == NULL, "%s: %s", str(c, "name"), name_of(r));
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "invalid_key_sets")) {
        const char *input = str(c, "input");
        evidentia_key_set *set = NULL;
        evidentia_result r = evidentia_key_set_from_json(input, strlen(input), &set);
        CHECK(strcmp(name_of(r), str(c, "error")) == 0 && set == NULL, "%s: %s", str(c, "name"), name_of(r));
    }
    cJSON_Delete(doc);
}

static void jws(void) {
    cJSON *keys_doc = read_vectors("keys.json");
    cJSON *doc = read_vectors("jws.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "sign")) {
        evidentia_signing_key *key = key_named(keys_doc, str(c, "key"));
        size_t len;
        unsigned char *payload = unhex(str(c, "payload_hex"), &len);
        uint32_t flags = (boolean(c, "detached") ? EVIDENTIA_JWS_DETACHED : 0) |
                         (boolean(c, "unencoded") ? EVIDENTIA_JWS_UNENCODED : 0);
        CHECK(evidentia_signing_key_sign_jws(key, payload, len, flags, out, BIG, &out_len) == EVIDENTIA_OK &&
                  strcmp(out, str(c, "jws")) == 0,
              "sign %s", str(c, "payload_hex"));
        free(payload);
        evidentia_signing_key_free(key);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "verify")) {
        evidentia_key_set *set = key_set(str(c, "jwks"));
        const char *token = str(c, "jws");
        size_t payload_len = 0;
        unsigned char *payload = str(c, "payload_hex") ? unhex(str(c, "payload_hex"), &payload_len) : NULL;
        unsigned char verified[4096];
        size_t verified_len = 0;
        evidentia_result r = evidentia_verify_jws(token, strlen(token), set, payload, payload_len, verified,
                                                  sizeof verified, &verified_len);
        if (boolean(c, "valid")) {
            size_t expected_len;
            unsigned char *expected = unhex(str(c, "verified_payload_hex"), &expected_len);
            CHECK(r == EVIDENTIA_OK && verified_len == expected_len && memcmp(verified, expected, expected_len) == 0,
                  "%s: %s", str(c, "name"), name_of(r));
            free(expected);
        } else {
            CHECK(strcmp(name_of(r), str(c, "error")) == 0, "%s: %s", str(c, "name"), name_of(r));
        }
        free(payload);
        evidentia_key_set_free(set);
    }
    cJSON_Delete(doc);
    cJSON_Delete(keys_doc);
}

/* The failure code names of a report, comma-separated, into buf. */
static void failure_names(const evidentia_report *report, char *buf, size_t cap) {
    uint32_t codes[64];
    size_t n = 0;
    buf[0] = 0;
    if (evidentia_report_failure_codes(report, codes, 64, &n) != EVIDENTIA_OK) return;
    for (size_t i = 0; i < n; i++) {
        if (i) strncat(buf, ",", cap - strlen(buf) - 1);
        strncat(buf, evidentia_result_name(codes[i]), cap - strlen(buf) - 1);
    }
}

static void expected_names(const cJSON *array, char *buf, size_t cap) {
    const cJSON *item;
    buf[0] = 0;
    int first = 1;
    cJSON_ArrayForEach(item, array) {
        if (!first) strncat(buf, ",", cap - strlen(buf) - 1);
        strncat(buf, item->valuestring, cap - strlen(buf) - 1);
        first = 0;
    }
}

static char *temp_dir(void) {
    char *dir = strdup("/tmp/evidentia-c-test-XXXXXX");
    if (!mkdtemp(dir)) exit(2);
    return dir;
}

static void remove_dir(const char *dir) {
    char command[1200];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Runs a "verify" case against a report: either an error or valid + failures. */
static void check_report_case(const cJSON *c, evidentia_result r, evidentia_report *report) {
    if (str(c, "error")) {
        CHECK(strcmp(name_of(r), str(c, "error")) == 0, "%s: %s", str(c, "name"), name_of(r));
        return;
    }
    char got[1024], want[1024];
    CHECK(r == EVIDENTIA_OK, "%s: %s", str(c, "name"), name_of(r));
    if (r != EVIDENTIA_OK) return;
    failure_names(report, got, sizeof got);
    expected_names(cJSON_GetObjectItem(c, "failures"), want, sizeof want);
    CHECK(evidentia_report_is_valid(report) == boolean(c, "valid") && strcmp(got, want) == 0, "%s: [%s] vs [%s]",
          str(c, "name"), got, want);
}

static void verify_cases(const cJSON *cases, const char *receipt_member) {
    const cJSON *c;
    cJSON_ArrayForEach(c, cases) {
        evidentia_key_set *set = key_set(str(c, "jwks"));
        const char *receipt = str(c, receipt_member);
        const char *event = str(c, "event");
        evidentia_report *report = NULL;
        evidentia_result r = evidentia_verify_receipt(receipt, strlen(receipt), set, (const uint8_t *)event,
                                                      event ? strlen(event) : 0, &report);
        check_report_case(c, r, report);
        evidentia_report_free(report);
        evidentia_key_set_free(set);
    }
}

static void receipts(void) {
    cJSON *keys_doc = read_vectors("keys.json");
    cJSON *doc = read_vectors("receipts.json");
    evidentia_signing_key *key = key_named(keys_doc, str(doc, "key"));
    char *dir = temp_dir();
    char path[1200];
    snprintf(path, sizeof path, "%s/log", dir);
    evidentia_log *log = NULL;
    /* The records carry fixed past times: the key is made valid from the first. The
     * vectors are of version-1 records, whose events are not salted. */
    const cJSON *issue = cJSON_GetObjectItem(doc, "issue");
    const char *valid_from = str(cJSON_GetArrayItem(issue, 0), "time");
    CHECK(evidentia_log_create_versioned(path, key, str(doc, "log_id"), EVIDENTIA_MODE_RECEIPTS, valid_from, 1, &log) ==
              EVIDENTIA_OK,
          "create");
    const cJSON *c;
    cJSON_ArrayForEach(c, issue) {
        const char *event = str(c, "event");
        char *receipt = NULL;
        CHECK(evidentia_log_append(log, (const uint8_t *)event, strlen(event), str(c, "nonce"), str(c, "time"), 0,
                                   &receipt) == EVIDENTIA_OK &&
                  receipt && strcmp(receipt, str(c, "receipt")) == 0,
              "append %s", str(c, "time"));
        evidentia_string_free(receipt);
    }
    /* The log verifies with the key itself and with its own key history. */
    CHECK(evidentia_signing_key_public_jwk(key, out, BIG, &out_len) == EVIDENTIA_OK, "public jwk");
    evidentia_key_set *own_key = key_set(out);
    evidentia_report *report = NULL;
    CHECK(evidentia_log_verify(log, own_key, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "log verify");
    evidentia_report_free(report);
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report), "history");
    evidentia_report_free(report);
    evidentia_key_set_free(own_key);
    evidentia_log_free(log);
    remove_dir(dir);
    free(dir);
    evidentia_signing_key_free(key);
    verify_cases(cJSON_GetObjectItem(doc, "verify"), "receipt");
    cJSON_Delete(doc);
    cJSON_Delete(keys_doc);
}

static void logs(void) {
    cJSON *doc = read_vectors("logs.json");
    evidentia_key_set *set = key_set(str(doc, "jwks"));
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
        evidentia_log_verifier *verifier = NULL;
        CHECK(evidentia_log_verifier_new(set, &verifier) == EVIDENTIA_OK, "new");
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "entries")) {
            const char *receipt = str(e, "receipt"), *event = str(e, "event");
            evidentia_log_verifier_push(verifier, (const uint8_t *)receipt, strlen(receipt), (const uint8_t *)event,
                                        strlen(event));
        }
        evidentia_report *report = NULL;
        CHECK(evidentia_log_verifier_finish(verifier, &report) == EVIDENTIA_OK, "finish");
        CHECK(evidentia_log_verifier_finish(verifier, &report) == EVIDENTIA_INVALID_HANDLE, "finish twice");
        evidentia_log_verifier_free(verifier);
        CHECK(evidentia_report_is_valid(report) == boolean(c, "valid"), "%s", str(c, "name"));
        /* The findings, code and index, in order, from the report's JSON. */
        CHECK(evidentia_report_to_json(report, out, BIG, &out_len) == EVIDENTIA_OK, "json");
        cJSON *json = cJSON_Parse(out);
        const cJSON *findings = cJSON_GetObjectItem(json, "findings");
        const cJSON *expected = cJSON_GetObjectItem(c, "findings");
        CHECK(cJSON_GetArraySize(findings) == cJSON_GetArraySize(expected), "%s: finding count", str(c, "name"));
        for (int i = 0; i < cJSON_GetArraySize(expected) && i < cJSON_GetArraySize(findings); i++) {
            const cJSON *f = cJSON_GetArrayItem(findings, i), *x = cJSON_GetArrayItem(expected, i);
            CHECK(strcmp(str(f, "name"), str(x, "code")) == 0 &&
                      cJSON_GetObjectItem(f, "index")->valuedouble == cJSON_GetObjectItem(x, "index")->valuedouble,
                  "%s: finding %d", str(c, "name"), i);
        }
        cJSON_Delete(json);
        evidentia_report_free(report);
    }
    evidentia_key_set_free(set);
    cJSON_Delete(doc);
}

static void merkle(void) {
    cJSON *doc = read_vectors("merkle.json");
    const cJSON *leaves = cJSON_GetObjectItem(doc, "leaves"), *roots = cJSON_GetObjectItem(doc, "roots");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "inclusion")) {
        cJSON *proof = cJSON_Parse(str(c, "proof"));
        int index = cJSON_GetObjectItem(proof, "leaf_index")->valueint;
        int size = cJSON_GetObjectItem(proof, "tree_size")->valueint;
        size_t leaf_len, root_len;
        unsigned char *leaf = unhex(str(cJSON_GetArrayItem(leaves, index), "data_hex"), &leaf_len);
        unsigned char *root = unbase64(cJSON_GetArrayItem(roots, size)->valuestring, &root_len);
        const char *text = str(c, "proof");
        CHECK(evidentia_verify_inclusion_proof(text, strlen(text), leaf, leaf_len, root) == EVIDENTIA_OK, "%s", text);
        free(leaf);
        free(root);
        cJSON_Delete(proof);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "consistency")) {
        cJSON *proof = cJSON_Parse(str(c, "proof"));
        size_t old_len, new_len;
        unsigned char *old_root =
            unbase64(cJSON_GetArrayItem(roots, cJSON_GetObjectItem(proof, "old_size")->valueint)->valuestring, &old_len);
        unsigned char *new_root =
            unbase64(cJSON_GetArrayItem(roots, cJSON_GetObjectItem(proof, "new_size")->valueint)->valuestring, &new_len);
        const char *text = str(c, "proof");
        CHECK(evidentia_verify_consistency_proof(text, strlen(text), old_root, new_root) == EVIDENTIA_OK, "%s", text);
        free(old_root);
        free(new_root);
        cJSON_Delete(proof);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "invalid_inclusion")) {
        size_t leaf_len, root_len;
        unsigned char *leaf = unhex(str(cJSON_GetArrayItem(leaves, 5), "data_hex"), &leaf_len);
        unsigned char *root = unbase64(cJSON_GetArrayItem(roots, 13)->valuestring, &root_len);
        const char *text = str(c, "proof");
        evidentia_result r = evidentia_verify_inclusion_proof(text, strlen(text), leaf, leaf_len, root);
        CHECK(strcmp(name_of(r), str(c, "error")) == 0, "%s: %s", str(c, "name"), name_of(r));
        free(leaf);
        free(root);
    }
    cJSON_Delete(doc);
}

static void checkpoints(void) {
    cJSON *doc = read_vectors("checkpoints.json");
    evidentia_key_set *set = key_set(str(doc, "jwks"));
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "verify")) {
        const char *note = str(c, "note");
        uint64_t size = 0;
        evidentia_result r = evidentia_verify_checkpoint(note, strlen(note), set, &size);
        if (boolean(c, "valid")) {
            CHECK(r == EVIDENTIA_OK && size == (uint64_t)cJSON_GetObjectItem(c, "size")->valuedouble, "%s",
                  str(c, "name"));
        } else {
            CHECK(strcmp(name_of(r), str(c, "error")) == 0, "%s: %s", str(c, "name"), name_of(r));
        }
    }
    evidentia_key_set_free(set);
    cJSON_Delete(doc);
}

static void batch_receipts(void) {
    cJSON *keys_doc = read_vectors("keys.json");
    cJSON *doc = read_vectors("batch_receipts.json");
    evidentia_signing_key *key = key_named(keys_doc, str(doc, "key"));
    char *dir = temp_dir();
    char path[1200];
    snprintf(path, sizeof path, "%s/log", dir);
    evidentia_log *log = NULL;
    CHECK(evidentia_log_create_versioned(path, key, str(doc, "log_id"), EVIDENTIA_MODE_BATCH, str(doc, "time"), 1,
                                         &log) == EVIDENTIA_OK,
          "create");
    /* One batch, as the vectors were made. */
    const cJSON *issue = cJSON_GetObjectItem(doc, "issue"), *c;
    const uint8_t *events[16];
    size_t lens[16], count = 0;
    cJSON_ArrayForEach(c, issue) {
        if (count == 16) break;
        events[count] = (const uint8_t *)str(c, "canonical_event");
        lens[count] = strlen((const char *)events[count]);
        count++;
    }
    char *acks = NULL;
    CHECK(evidentia_log_append_batch(log, events, lens, count, str(doc, "time"), &acks) == EVIDENTIA_OK, "append batch");
    evidentia_string_free(acks);
    for (int i = 0; i < cJSON_GetArraySize(issue); i++) {
        CHECK(evidentia_log_receipt(log, (uint64_t)i, out, BIG, &out_len) == EVIDENTIA_OK &&
                  strcmp(out, str(cJSON_GetArrayItem(issue, i), "batch_receipt")) == 0,
              "batch receipt %d", i);
    }
    char *checkpoint = NULL;
    CHECK(evidentia_log_checkpoint(log, &checkpoint) == EVIDENTIA_OK && checkpoint &&
              strcmp(checkpoint, str(doc, "checkpoint")) == 0,
          "checkpoint");
    evidentia_string_free(checkpoint);
    evidentia_report *report = NULL;
    CHECK(evidentia_log_verify(log, NULL, &report) == EVIDENTIA_OK && evidentia_report_is_valid(report),
          "the batch log verifies with its key history");
    evidentia_report_free(report);
    evidentia_log_free(log);
    remove_dir(dir);
    free(dir);
    evidentia_signing_key_free(key);
    verify_cases(cJSON_GetObjectItem(doc, "verify"), "batch_receipt");
    cJSON_Delete(doc);
    cJSON_Delete(keys_doc);
}

static void errors(void) {
    cJSON *doc = read_vectors("errors.json");
    const cJSON *c;
    int count = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "codes")) {
        uint32_t code = (uint32_t)cJSON_GetObjectItem(c, "code")->valueint;
        CHECK(strcmp(evidentia_result_name(code), str(c, "name")) == 0, "%u", code);
        count++;
    }
    CHECK(count > 60, "only %d codes", count);
    cJSON_Delete(doc);
}

static void external_jcs_documents(void) {
    const char *names[] = {"arrays", "french", "structures", "unicode", "values", "weird"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[1024];
        size_t input_len, expected_len;
        snprintf(path, sizeof path, "%s/external/jcs/input/%s.json", vectors_dir(), names[i]);
        char *input = read_file(path, &input_len);
        snprintf(path, sizeof path, "%s/external/jcs/output/%s.json", vectors_dir(), names[i]);
        char *expected = read_file(path, &expected_len);
        CHECK(evidentia_canonicalize((const uint8_t *)input, input_len, out, BIG, &out_len) == EVIDENTIA_OK &&
                  out_len == expected_len && memcmp(out, expected, expected_len) == 0,
              "%s", names[i]);
        free(input);
        free(expected);
    }
}

/* Base64url (unpadded) into a new buffer; *len gets its size. */
static unsigned char *unbase64url(const char *text, size_t *len) {
    char *standard = strdup(text);
    for (char *p = standard; *p; p++) {
        if (*p == '-') *p = '+';
        if (*p == '_') *p = '/';
    }
    unsigned char *bytes = unbase64(standard, len);
    free(standard);
    return bytes;
}

/* partner.json: every raw signature and every JWS of other parties. */
static void partner(void) {
    cJSON *doc = read_vectors("partner.json");
    const cJSON *keys = cJSON_GetObjectItem(doc, "keys");
    const cJSON *c;
    int signatures = 0, jws_cases = 0, signatures_run = 0, jws_run = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "signatures")) {
        signatures++;
        char *jwk = cJSON_PrintUnformatted(cJSON_GetArrayItem(keys, cJSON_GetObjectItem(c, "key")->valueint));
        size_t message_len, signature_len;
        unsigned char *message = unhex(str(c, "message"), &message_len);
        unsigned char *signature = unhex(str(c, "signature"), &signature_len);
        evidentia_result r = evidentia_verify_partner_signature(str(c, "alg"), jwk, strlen(jwk), message, message_len,
                                                                signature, signature_len);
        const char *expected = str(c, "code") ? str(c, "code") : "OK";
        CHECK(strcmp(name_of(r), expected) == 0, "%s: %s, expected %s", str(c, "source"), name_of(r), expected);
        signatures_run++;
        free(message);
        free(signature);
        cJSON_free(jwk);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "jws")) {
        jws_cases++;
        char *set = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "keys"));
        const char *token = str(c, "jws");
        size_t payload_len = 0;
        unsigned char *payload = str(c, "payload") ? unbase64url(str(c, "payload"), &payload_len) : NULL;
        unsigned char verified[65536];
        size_t verified_len = 0;
        evidentia_result r = evidentia_verify_partner_jws(token, strlen(token), set, strlen(set), payload, payload_len,
                                                          verified, sizeof verified, &verified_len);
        const char *expected = str(c, "code") ? str(c, "code") : "OK";
        CHECK(strcmp(name_of(r), expected) == 0, "%s: %s, expected %s", str(c, "source"), name_of(r), expected);
        if (r == EVIDENTIA_OK && payload) {
            CHECK(verified_len == payload_len && memcmp(verified, payload, payload_len) == 0, "%s: payload",
                  str(c, "source"));
        }
        jws_run++;
        free(payload);
        cJSON_free(set);
    }
    CHECK(signatures > 0 && signatures_run == signatures, "partner signatures: %d of %d", signatures_run, signatures);
    CHECK(jws_cases > 0 && jws_run == jws_cases, "partner JWS: %d of %d", jws_run, jws_cases);
    printf("partner.json: %d signature cases, %d JWS cases\n", signatures_run, jws_run);
    cJSON_Delete(doc);
}

/* witness.json: checkpoints cosigned by witnesses against tlog-policies (2 of 3
 * satisfied, 1 of 3 refused with POLICY_NOT_SATISFIED, a tampered cosignature, a
 * malformed policy), and tlog-proofs; the result JSON equals the vector's. */
static void witness(void) {
    cJSON *doc = read_vectors("witness.json");
    const cJSON *c;
    int policies = 0, proofs = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "policies")) {
        const char *note = str(c, "note"), *policy = str(c, "policy");
        size_t out_len = 0;
        evidentia_result r = evidentia_policy_check(note, strlen(note), policy, strlen(policy), out, BIG, &out_len);
        const char *expected = str(c, "code") ? str(c, "code") : "OK";
        CHECK(strcmp(name_of(r), expected) == 0, "%s: %s, expected %s", str(c, "name"), name_of(r), expected);
        if (r == EVIDENTIA_OK) {
            cJSON *got = cJSON_Parse(out);
            CHECK(got && cJSON_Compare(got, cJSON_GetObjectItem(c, "result"), 1), "%s: %s", str(c, "name"), out);
            CHECK(out_len == strlen(out), "%s: out_len", str(c, "name"));
            cJSON_Delete(got);
            /* Too small a buffer: the size needed. */
            size_t needed = 0;
            char small[8];
            CHECK(evidentia_policy_check(note, strlen(note), policy, strlen(policy), small, sizeof small, &needed) ==
                          EVIDENTIA_BUFFER_TOO_SMALL &&
                      needed == out_len + 1,
                  "%s: buffer too small", str(c, "name"));
        }
        policies++;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "proofs")) {
        const char *proof = str(c, "proof"), *entry = str(c, "entry"), *policy = str(c, "policy");
        size_t out_len = 0;
        evidentia_result r = evidentia_tlog_proof_verify(proof, strlen(proof), (const uint8_t *)entry, strlen(entry),
                                                         policy, strlen(policy), out, BIG, &out_len);
        const char *expected = str(c, "code") ? str(c, "code") : "OK";
        CHECK(strcmp(name_of(r), expected) == 0, "%s: %s, expected %s", str(c, "name"), name_of(r), expected);
        if (r == EVIDENTIA_OK) {
            cJSON *got = cJSON_Parse(out);
            CHECK(got && cJSON_Compare(got, cJSON_GetObjectItem(c, "result"), 1), "%s: %s", str(c, "name"), out);
            cJSON_Delete(got);
        }
        proofs++;
    }
    CHECK(policies >= 9 && proofs >= 6, "witness.json: %d policy cases, %d proof cases", policies, proofs);
    CHECK(evidentia_policy_check(NULL, 1, "", 0, out, BIG, NULL) == EVIDENTIA_INVALID_ARGUMENT, "NULL note");
    printf("witness.json: %d policy cases, %d proof cases\n", policies, proofs);
    cJSON_Delete(doc);
}

/* timestamps.json: RFC 3161 responses of real authorities, each verified through
 * its root (with intermediates, and the request it answers when there is one); the
 * result JSON equals the vector's. Requests hold the data's digest, each its own
 * nonce. */
static void timestamps(void) {
    cJSON *doc = read_vectors("timestamps.json");
    const cJSON *c;
    int responses = 0, requests = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
        size_t response_len, data_len, request_len = 0, out_len = 0;
        unsigned char *response = unhex(str(c, "response_hex"), &response_len);
        unsigned char *data = unhex(str(c, "data_hex"), &data_len);
        unsigned char *request = str(c, "request_hex") ? unhex(str(c, "request_hex"), &request_len) : NULL;
        const char *roots = str(c, "roots"), *intermediates = str(c, "intermediates");
        evidentia_result r = evidentia_verify_timestamp(
            response, response_len, data, data_len, (const uint8_t *)roots, strlen(roots),
            (const uint8_t *)intermediates, intermediates ? strlen(intermediates) : 0, NULL, 0, request, request_len,
            out, BIG, &out_len);
        const char *expected = str(c, "code") ? str(c, "code") : "OK";
        CHECK(strcmp(name_of(r), expected) == 0, "%s: %s, expected %s", str(c, "name"), name_of(r), expected);
        if (r == EVIDENTIA_OK) {
            cJSON *got = cJSON_Parse(out);
            CHECK(got && cJSON_Compare(got, cJSON_GetObjectItem(c, "result"), 1), "%s: %s", str(c, "name"), out);
            cJSON_Delete(got);
            size_t needed = 0;
            char small[8];
            CHECK(evidentia_verify_timestamp(response, response_len, data, data_len, (const uint8_t *)roots,
                                             strlen(roots), (const uint8_t *)intermediates,
                                             intermediates ? strlen(intermediates) : 0, NULL, 0, request, request_len,
                                             small, sizeof small, &needed) == EVIDENTIA_BUFFER_TOO_SMALL &&
                      needed == out_len + 1,
                  "%s: buffer too small", str(c, "name"));
        }
        free(response);
        free(data);
        free(request);
        responses++;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "requests")) {
        size_t data_len, first_len = 0, second_len = 0;
        unsigned char *data = unhex(str(c, "data_hex"), &data_len);
        unsigned char first[256], second[256];
        evidentia_result r = evidentia_timestamp_request(data, data_len, str(c, "hash"), first, sizeof first, &first_len);
        const char *expected = str(c, "code") ? str(c, "code") : "OK";
        CHECK(strcmp(name_of(r), expected) == 0, "request %s: %s, expected %s", str(c, "hash"), name_of(r), expected);
        if (r == EVIDENTIA_OK) {
            size_t imprint_len;
            unsigned char *imprint = unhex(str(c, "imprint_hex"), &imprint_len);
            int found = 0;
            for (size_t i = 0; i + imprint_len <= first_len; i++) found |= memcmp(first + i, imprint, imprint_len) == 0;
            CHECK(first[0] == 0x30 && found, "request %s holds the digest", str(c, "hash"));
            CHECK(evidentia_timestamp_request(data, data_len, str(c, "hash"), second, sizeof second, &second_len) ==
                          EVIDENTIA_OK &&
                      (first_len != second_len || memcmp(first, second, first_len) != 0),
                  "request %s: each has its own nonce", str(c, "hash"));
            free(imprint);
        }
        free(data);
        requests++;
    }
    size_t len = 0;
    unsigned char request[256];
    CHECK(evidentia_timestamp_request((const uint8_t *)"x", 1, NULL, request, sizeof request, &len) == EVIDENTIA_OK,
          "NULL hash is sha256");
    CHECK(evidentia_timestamp_request(NULL, 1, NULL, request, sizeof request, &len) == EVIDENTIA_INVALID_ARGUMENT,
          "NULL data");
    CHECK(evidentia_verify_timestamp((const uint8_t *)"\x30\x00", 2, (const uint8_t *)"x", 1, (const uint8_t *)"-", 1,
                                     NULL, 0, NULL, 0, NULL, 0, out, BIG, &len) == EVIDENTIA_TIMESTAMP_MALFORMED,
          "garbage");
    CHECK(responses >= 10 && requests == 4, "timestamps.json: %d responses, %d requests", responses, requests);
    printf("timestamps.json: %d responses, %d requests\n", responses, requests);
    cJSON_Delete(doc);
}

/* commitments.json: salted commitments reproduced byte for byte from an event and
 * its salt; disclosures checked against a commitment; keyed hashes. */
static void commitments(void) {
    cJSON *doc = read_vectors("commitments.json");
    const cJSON *c;
    int made = 0, checked = 0, hashed = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "commitments")) {
        const char *event = str(c, "event");
        size_t salt_len = 0, out_len = 0;
        unsigned char *salt = unhex(str(c, "salt_hex"), &salt_len);
        evidentia_result r = evidentia_commit_event(event, strlen(event), salt, salt_len, out, BIG, &out_len);
        CHECK(r == EVIDENTIA_OK, "%s: %s", str(c, "name"), name_of(r));
        cJSON *got = cJSON_Parse(out);
        const char *fields[] = {"commitment", "event_digest", "disclosures"};
        for (size_t i = 0; i < 3; i++) {
            CHECK(got && cJSON_Compare(cJSON_GetObjectItem(got, fields[i]), cJSON_GetObjectItem(c, fields[i]), 1),
                  "%s: %s differs: %s", str(c, "name"), fields[i], out);
        }
        cJSON_Delete(got);
        CHECK(evidentia_commit_event(event, strlen(event), salt, 15, out, BIG, &out_len) == EVIDENTIA_INVALID_ARGUMENT,
              "%s: a 15-byte salt", str(c, "name"));
        free(salt);
        made++;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "checks")) {
        const char *commitment = str(c, "commitment");
        char *disclosures = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "disclosures"));
        size_t out_len = 0;
        evidentia_result r = evidentia_check_disclosures(str(c, "event_digest"), commitment, strlen(commitment),
                                                         disclosures, strlen(disclosures), out, BIG, &out_len);
        const char *expected = str(c, "error") ? str(c, "error") : "OK";
        CHECK(strcmp(name_of(r), expected) == 0, "%s: %s, expected %s", str(c, "name"), name_of(r), expected);
        if (r == EVIDENTIA_OK) {
            cJSON *got = cJSON_Parse(out);
            CHECK(got && cJSON_Compare(cJSON_GetObjectItem(got, "disclosed"), cJSON_GetObjectItem(c, "disclosed"), 1) &&
                      cJSON_Compare(cJSON_GetObjectItem(got, "undisclosed"), cJSON_GetObjectItem(c, "undisclosed"), 1),
                  "%s: %s", str(c, "name"), out);
            cJSON_Delete(got);
        }
        cJSON_free(disclosures);
        checked++;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "keyed_hashes")) {
        size_t key_len = 0, data_len = 0, out_len = 0;
        unsigned char *key = unhex(str(c, "key_hex"), &key_len), *data = unhex(str(c, "data_hex"), &data_len);
        evidentia_result r = evidentia_keyed_hash(key, key_len, data, data_len, out, BIG, &out_len);
        const char *expected = str(c, "error") ? str(c, "error") : "OK";
        CHECK(strcmp(name_of(r), expected) == 0, "%s: %s, expected %s", str(c, "name"), name_of(r), expected);
        CHECK(r != EVIDENTIA_OK || strcmp(out, str(c, "keyed_hash")) == 0, "%s: %s", str(c, "name"), out);
        free(key);
        free(data);
        hashed++;
    }
    const char *not_a_list = "{\"amount\":1}";
    size_t out_len = 0;
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "checks"), 0);
    CHECK(evidentia_check_disclosures(str(first, "event_digest"), str(first, "commitment"),
                                      strlen(str(first, "commitment")), not_a_list, strlen(not_a_list), out, BIG,
                                      &out_len) == EVIDENTIA_INVALID_ARGUMENT,
          "disclosures that are not an array");
    CHECK(evidentia_check_disclosures(str(first, "event_digest"), str(first, "commitment"),
                                      strlen(str(first, "commitment")), NULL, 0, out, BIG,
                                      &out_len) == EVIDENTIA_INVALID_ARGUMENT,
          "no disclosures text at all");
    CHECK(made >= 4 && checked >= 10 && hashed >= 4, "commitments.json: %d, %d, %d cases", made, checked, hashed);
    printf("commitments.json: %d commitments, %d checks, %d keyed hashes\n", made, checked, hashed);
    cJSON_Delete(doc);
}

int main(void) {
    canonicalization();
    digests();
    keys();
    jws();
    receipts();
    logs();
    merkle();
    checkpoints();
    batch_receipts();
    errors();
    partner();
    witness();
    timestamps();
    commitments();
    external_jcs_documents();
    printf("test_vectors: %d checks, %d failed\n", checks_run, checks_failed);
    return checks_failed ? 1 : 0;
}
