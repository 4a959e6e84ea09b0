/* Cross-language evidence, C side (run by `cargo xtask test cross`).
 *
 *   cross produce SPEC OUT    write OUT/evidence.json, OUT's logs and evidence packages
 *   cross verify SPEC ROOT    verify ROOT/<dir>/evidence.json for each named <dir>
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidentia.h"

#define BIG (1 << 20)
static char out[BIG];
static size_t out_len;
static const char *producer = "?";
static int passed = 0;

static void fail(const char *what) {
    char message[512] = "";
    size_t len = 0;
    evidentia_last_error(message, sizeof message, &len);
    fprintf(stderr, "c verifying %s's evidence: %s (%s)\n", producer, what, message);
    exit(1);
}

static void check(int condition, const char *what) {
    if (!condition) fail(what);
    passed++;
}

static void ok(evidentia_result result, const char *what) {
    if (result != EVIDENTIA_OK) {
        fprintf(stderr, "%s: %s\n", what, evidentia_result_name(result));
        fail(what);
    }
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size + 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) exit(2);
    data[size] = 0;
    fclose(f);
    return data;
}

static cJSON *read_json(const char *path) {
    char *text = read_file(path);
    cJSON *json = cJSON_Parse(text);
    free(text);
    if (!json) {
        fprintf(stderr, "%s is not JSON\n", path);
        exit(2);
    }
    return json;
}

static const char *str(const cJSON *object, const char *name) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
    if (!cJSON_IsString(item)) {
        fprintf(stderr, "missing string %s\n", name);
        exit(2);
    }
    return item->valuestring;
}

static size_t unhex(const char *hex, uint8_t *bytes) {
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
    return n;
}

/* Adds the salt of record 0 of `log`, in hex, to `object` as `name`. */
static void add_salt(cJSON *object, const char *name, const evidentia_log *log) {
    uint8_t salt[64];
    size_t len = 0;
    ok(evidentia_log_salt(log, 0, salt, sizeof salt, &len), "salt");
    char hex[2 * sizeof salt + 1] = "";
    for (size_t i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", salt[i]);
    cJSON_AddStringToObject(object, name, hex);
}

static evidentia_key_set *keys(const char *jwks) {
    evidentia_key_set *set = NULL;
    ok(evidentia_key_set_from_json(jwks, strlen(jwks), &set), "key set");
    return set;
}

/* Adds the text of the last output to `array`. */
static void push(cJSON *array) { cJSON_AddItemToArray(array, cJSON_CreateString(out)); }

/* Adds a string the library allocated to `object` as `name`, and frees it. */
static void add_given(cJSON *object, const char *name, char *text) {
    cJSON_AddStringToObject(object, name, text);
    evidentia_string_free(text);
}

static void produce(const cJSON *spec, const char *dir) {
    char path[1024];
    cJSON *evidence = cJSON_CreateObject();
    cJSON_AddStringToObject(evidence, "producer", "c");
    cJSON *canonical = cJSON_AddArrayToObject(evidence, "canonical");
    cJSON *digests = cJSON_AddArrayToObject(evidence, "digests");
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(spec, "documents")) {
        const char *json = str(item, "json");
        ok(evidentia_canonicalize((const uint8_t *)json, strlen(json), out, BIG, &out_len), "canonicalize");
        push(canonical);
        ok(evidentia_digest((const uint8_t *)json, strlen(json), out, BIG, &out_len), "digest");
        push(digests);
    }
    evidentia_signing_key *key = NULL;
    const char *jwk = str(spec, "private_jwk");
    ok(evidentia_signing_key_from_text(jwk, strlen(jwk), &key), "key");
    cJSON *jws = cJSON_AddArrayToObject(evidence, "jws");
    uint8_t payload[4096];
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(spec, "payloads")) {
        size_t n = unhex(str(item, "payload_hex"), payload);
        uint32_t modes[] = {0, EVIDENTIA_JWS_DETACHED, EVIDENTIA_JWS_DETACHED | EVIDENTIA_JWS_UNENCODED};
        for (int m = 0; m < 3; m++) {
            ok(evidentia_signing_key_sign_jws(key, payload, n, modes[m], out, BIG, &out_len), "sign");
            push(jws);
        }
    }
    evidentia_log *log = NULL;
    snprintf(path, sizeof path, "%s/fixed", dir);
    /* The records carry fixed past times: the key is valid from the first. The
     * fixed receipts are of version-1 records, whose events are not salted. */
    const char *valid_from = str(cJSON_GetArrayItem(cJSON_GetObjectItem(spec, "receipts"), 0), "time");
    ok(evidentia_log_create_versioned(path, key, str(spec, "log_id"), EVIDENTIA_MODE_RECEIPTS, valid_from, 1, &log),
       "create");
    cJSON *receipts = cJSON_AddArrayToObject(evidence, "receipts");
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(spec, "receipts")) {
        const char *event = str(item, "event");
        char *receipt = NULL;
        ok(evidentia_log_append(log, (const uint8_t *)event, strlen(event), str(item, "nonce"), str(item, "time"), 0,
                                &receipt),
           "append");
        cJSON_AddItemToArray(receipts, cJSON_CreateString(receipt));
        evidentia_string_free(receipt);
    }
    evidentia_log_free(log);
    evidentia_signing_key_free(key);

    evidentia_signing_key *fresh_key = NULL;
    ok(evidentia_signing_key_generate(&fresh_key), "generate");
    cJSON *fresh = cJSON_AddObjectToObject(evidence, "fresh");
    ok(evidentia_signing_key_public_jwk(fresh_key, out, BIG, &out_len), "public jwk");
    cJSON_AddStringToObject(fresh, "public_jwk", out);
    size_t n = unhex(str(spec, "fresh_payload_hex"), payload);
    ok(evidentia_signing_key_sign_jws(fresh_key, payload, n, EVIDENTIA_JWS_DETACHED, out, BIG, &out_len), "sign");
    cJSON_AddStringToObject(fresh, "jws", out);
    const char *event = str(spec, "fresh_event");
    const uint8_t *batch[] = {(const uint8_t *)event, (const uint8_t *)"{\"n\":2}", (const uint8_t *)"{\"n\":3}"};
    size_t lens[] = {strlen(event), 7, 7};

    snprintf(path, sizeof path, "%s/log", dir);
    ok(evidentia_log_create(path, fresh_key, "c.example/cross", EVIDENTIA_MODE_RECEIPTS, NULL, &log), "create");
    cJSON_AddStringToObject(fresh, "log", path);
    char *given = NULL;
    ok(evidentia_log_append(log, batch[0], lens[0], NULL, NULL, 0, &given), "append");
    add_given(fresh, "receipt", given);
    add_salt(fresh, "salt_hex", log);
    ok(evidentia_log_append_batch(log, batch + 1, lens + 1, 2, NULL, &given), "append batch");
    evidentia_string_free(given);
    ok(evidentia_log_checkpoint(log, &given), "checkpoint");
    add_given(fresh, "checkpoint", given);
    cJSON_AddNumberToObject(fresh, "size", 3);
    ok(evidentia_log_inclusion_proof(log, 0, 0, out, BIG, &out_len), "prove");
    cJSON_AddStringToObject(fresh, "inclusion_proof", out);
    ok(evidentia_log_keys(log, out, BIG, &out_len), "keys");
    cJSON_AddStringToObject(fresh, "jwks", out);
    snprintf(path, sizeof path, "%s/package-receipt", dir);
    ok(evidentia_log_export_package(log, 0, path, &given), "export");
    evidentia_string_free(given);
    evidentia_log_free(log);

    snprintf(path, sizeof path, "%s/batch", dir);
    ok(evidentia_log_create(path, fresh_key, "c.example/cross-batch", EVIDENTIA_MODE_BATCH, NULL, &log), "create");
    cJSON_AddStringToObject(fresh, "batch_log", path);
    ok(evidentia_log_append_batch(log, batch, lens, 3, NULL, &given), "append batch");
    evidentia_string_free(given);
    ok(evidentia_log_receipt(log, 0, out, BIG, &out_len), "batch receipt");
    cJSON_AddStringToObject(fresh, "batch_receipt", out);
    add_salt(fresh, "batch_salt_hex", log);
    snprintf(path, sizeof path, "%s/package-batch", dir);
    ok(evidentia_log_export_package(log, 0, path, &given), "export batch");
    evidentia_string_free(given);
    evidentia_log_free(log);
    evidentia_signing_key_free(fresh_key);

    snprintf(path, sizeof path, "%s/evidence.json", dir);
    char *text = cJSON_Print(evidence);
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) exit(2);
    free(text);
    cJSON_Delete(evidence);
}

/* Whether `array` (in the evidence) holds exactly the strings `field` of `expected`'s items. */
static int same_strings(const cJSON *array, const cJSON *expected, const char *const *fields, int nfields) {
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, expected) {
        for (int f = 0; f < nfields; f++, i++) {
            const cJSON *got = cJSON_GetArrayItem(array, i);
            if (!cJSON_IsString(got) || strcmp(got->valuestring, str(item, fields[f])) != 0) return 0;
        }
    }
    return cJSON_GetArraySize(array) == i;
}

static int report_valid(evidentia_report *report, uint32_t expected_failure) {
    uint32_t codes[8];
    size_t count = 0;
    int result = evidentia_report_failure_codes(report, codes, 8, &count) == EVIDENTIA_OK &&
                 (expected_failure ? count == 1 && codes[0] == expected_failure
                                   : count == 0 && evidentia_report_is_valid(report));
    evidentia_report_free(report);
    return result;
}

static void verify_one(const cJSON *spec, const cJSON *evidence) {
    producer = str(evidence, "producer");
    passed = 0;
    static const char *const document_canonical[] = {"canonical"};
    static const char *const document_digest[] = {"digest"};
    static const char *const payload_jws[] = {"jws", "detached", "unencoded_detached"};
    static const char *const receipt[] = {"receipt"};
    const cJSON *documents = cJSON_GetObjectItem(spec, "documents");
    const cJSON *fixed = cJSON_GetObjectItem(spec, "receipts");
    if (cJSON_HasObjectItem(evidence, "canonical"))
        check(same_strings(cJSON_GetObjectItem(evidence, "canonical"), documents, document_canonical, 1), "canonical");
    if (cJSON_HasObjectItem(evidence, "digests"))
        check(same_strings(cJSON_GetObjectItem(evidence, "digests"), documents, document_digest, 1), "digests");
    if (cJSON_HasObjectItem(evidence, "jws"))
        check(same_strings(cJSON_GetObjectItem(evidence, "jws"), cJSON_GetObjectItem(spec, "payloads"), payload_jws, 3),
              "jws");
    if (cJSON_HasObjectItem(evidence, "receipts")) {
        const cJSON *receipts = cJSON_GetObjectItem(evidence, "receipts");
        check(same_strings(receipts, fixed, receipt, 1), "receipts");
        evidentia_key_set *set = keys(str(spec, "public_jwk"));
        for (int i = 0; i < cJSON_GetArraySize(receipts); i++) {
            const char *r = cJSON_GetArrayItem(receipts, i)->valuestring;
            const char *event = str(cJSON_GetArrayItem(fixed, i), "event");
            evidentia_report *report = NULL;
            ok(evidentia_verify_receipt(r, strlen(r), set, (const uint8_t *)event, strlen(event), &report), "receipt");
            check(report_valid(report, 0), "a fixed receipt");
        }
        evidentia_key_set_free(set);
    }

    const cJSON *fresh = cJSON_GetObjectItem(evidence, "fresh");
    uint8_t payload[4096];
    size_t n = unhex(str(spec, "fresh_payload_hex"), payload);
    evidentia_key_set *public_key = keys(str(fresh, "public_jwk"));
    const char *jws = str(fresh, "jws");
    ok(evidentia_verify_jws(jws, strlen(jws), public_key, payload, n, NULL, 0, &out_len), "the JWS");
    passed++;
    payload[0] ^= 1;
    check(evidentia_verify_jws(jws, strlen(jws), public_key, payload, n, NULL, 0, &out_len) ==
              EVIDENTIA_SIGNATURE_INVALID,
          "a JWS over another payload");
    evidentia_key_set_free(public_key);

    evidentia_key_set *history = keys(str(fresh, "jwks"));
    const char *fresh_receipt = str(fresh, "receipt"), *event = str(spec, "fresh_event");
    const char *other_event = "{\"type\":\"cross.check\",\"amount\":10.51}";
    uint8_t salt[64], batch_salt[64];
    size_t salt_len = unhex(str(fresh, "salt_hex"), salt);
    size_t batch_salt_len = unhex(str(fresh, "batch_salt_hex"), batch_salt);
    evidentia_report *report = NULL;
    ok(evidentia_verify_receipt_salted(fresh_receipt, strlen(fresh_receipt), history, (const uint8_t *)event,
                                       strlen(event), salt, salt_len, &report),
       "receipt");
    check(report_valid(report, 0), "the receipt");
    ok(evidentia_verify_receipt_salted(fresh_receipt, strlen(fresh_receipt), history, (const uint8_t *)other_event,
                                       strlen(other_event), salt, salt_len, &report),
       "receipt");
    check(report_valid(report, EVIDENTIA_EVENT_MISMATCH), "another event");
    const char *checkpoint = str(fresh, "checkpoint"), *proof = str(fresh, "inclusion_proof");
    uint64_t size = 0;
    ok(evidentia_verify_checkpoint(checkpoint, strlen(checkpoint), history, &size), "checkpoint");
    check(size == (uint64_t)cJSON_GetObjectItem(fresh, "size")->valuedouble, "the checkpoint size");
    ok(evidentia_verify_inclusion(fresh_receipt, strlen(fresh_receipt), proof, strlen(proof), checkpoint,
                                  strlen(checkpoint), history),
       "inclusion");
    passed++;
    ok(evidentia_verify_log_dir(str(fresh, "log"), NULL, &report), "log");
    check(report_valid(report, 0), "the log");
    const char *batch_receipt = str(fresh, "batch_receipt");
    ok(evidentia_verify_receipt_salted(batch_receipt, strlen(batch_receipt), history, (const uint8_t *)event,
                                       strlen(event), batch_salt, batch_salt_len, &report),
       "batch receipt");
    check(report_valid(report, 0), "the batch receipt");
    ok(evidentia_verify_log_dir(str(fresh, "batch_log"), NULL, &report), "batch log");
    check(report_valid(report, 0), "the batch log");
    evidentia_key_set_free(history);
    printf("c verified %s's evidence: %d checks passed\n", producer, passed);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: cross produce SPEC OUT | cross verify SPEC ROOT DIR...\n");
        return 2;
    }
    cJSON *spec = read_json(argv[2]);
    if (strcmp(argv[1], "produce") == 0) {
        produce(spec, argv[3]);
    } else {
        for (int i = 4; i < argc; i++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s/evidence.json", argv[3], argv[i]);
            cJSON *evidence = read_json(path);
            verify_one(spec, evidence);
            cJSON_Delete(evidence);
        }
    }
    cJSON_Delete(spec);
    return 0;
}
