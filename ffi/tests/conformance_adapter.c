/* Conformance adapter for the C library: `conformance_adapter CASE_DIR`.
 *
 * Performs the case's operation (testvectors/conformance/README.md, "Operations")
 * through the C API, exits 0, 1 or 2 and prints {"code": ..., "codes": [...]} as its
 * last line. Operations the library does not offer are skipped, saying why. Inputs
 * reach the library as the bytes they are (C strings here carry a length).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evidentia.h"

static const char *case_dir;
static const cJSON *inputs;

/* The bytes of the input of `role`, NULL when the case has none. */
static char *input(const char *role, size_t *len) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(inputs, role);
    if (!cJSON_IsString(name)) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", case_dir, name->valuestring);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(3);
    }
    char *data = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            cap = cap ? 2 * cap : 4096;
            data = realloc(data, cap + 1);
            if (!data) exit(3);
        }
        size_t n = fread(data + size, 1, cap - size, f);
        if (n == 0) break;
        size += n;
    }
    fclose(f);
    data[size] = 0;
    *len = size;
    return data;
}

/* Whether the bytes are UTF-8 (RFC 3629: shortest forms, no surrogates, at most
 * U+10FFFF). The library's text arguments are UTF-8 by contract, as a str is in
 * Python: other bytes are refused as INVALID_ARGUMENT before any rule of SPEC is
 * applied, so such a case says nothing about the library. */
static int is_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], need, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; c &= 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; c &= 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; c &= 0x07; }
        else return 0;
        for (unsigned k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xc0) != 0x80) return 0;
            c = (c << 6) | (s[i + k] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
        i += need + 1;
    }
    return 1;
}

static int all_inputs_utf8(void) {
    const cJSON *item;
    cJSON_ArrayForEach(item, inputs) {
        /* Folders, and the inputs the library takes as bytes. */
        const char *role = item->string;
        if (!strcmp(role, "log") || !strcmp(role, "package") || !strcmp(role, "event") || !strcmp(role, "evidence") ||
            !strcmp(role, "salt"))
            continue;
        size_t len = 0;
        char *data = input(item->string, &len);
        int ok = is_utf8((const unsigned char *)data, len);
        free(data);
        if (!ok) return 0;
    }
    return 1;
}

static char *path_of(const char *role) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(inputs, role);
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", case_dir, cJSON_IsString(name) ? name->valuestring : "");
    return path;
}

static int error_answer(evidentia_result r) {
    printf("{\"code\": \"%s\"}\n", evidentia_result_name(r));
    return r / 100 == 6 ? 1 : 2;
}

static int report_answer(evidentia_report *report) {
    uint32_t codes[256];
    size_t n = 0;
    if (evidentia_report_failure_codes(report, codes, 256, &n) != EVIDENTIA_OK) exit(3);
    int valid = evidentia_report_is_valid(report);
    evidentia_report_free(report);
    printf("{\"code\": ");
    if (n) printf("\"%s\"", evidentia_result_name(codes[0]));
    else printf("null");
    printf(", \"codes\": [");
    for (size_t i = 0; i < n; i++) printf("%s\"%s\"", i ? ", " : "", evidentia_result_name(codes[i]));
    printf("]}\n");
    return valid ? 0 : 1;
}

/* A package by its path (folder or .tar.gz); a .tar.gz also by its bytes, which
 * must give the same report. The verdict is the report's `valid`. */
static int package_answer(void) {
    const char *path = path_of("package");
    char *json = NULL;
    evidentia_result r = evidentia_verify_package(path, &json);
    if (r != EVIDENTIA_OK) return error_answer(r);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        size_t len = 0;
        char *archive = input("package", &len);
        char *again = NULL;
        r = evidentia_verify_package_archive((const uint8_t *)archive, len, &again);
        free(archive);
        if (r != EVIDENTIA_OK || strcmp(json, again)) {
            fprintf(stderr, "a .tar.gz's bytes and its path give different reports\n");
            exit(3);
        }
        evidentia_string_free(again);
    }
    cJSON *report = cJSON_Parse(json);
    evidentia_string_free(json);
    int valid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "valid"));
    cJSON_Delete(report);
    printf("{\"code\": null}\n");
    return valid ? 0 : 1;
}

static int skip(const char *why) {
    printf("{\"skip\": \"%s\"}\n", why);
    return 0;
}

static int perform(const char *operation) {
    if (!strcmp(operation, "tiles")) return skip("the library does not read tlog-tiles publications (the CLI, Python and Node do)");
    size_t jwks_len = 0;
    char *jwks = input("jwks", &jwks_len);
    evidentia_key_set *keys = NULL;
    if (jwks) {
        evidentia_result r = evidentia_key_set_from_json(jwks, jwks_len, &keys);
        free(jwks);
        if (r != EVIDENTIA_OK) return error_answer(r);
    }
    evidentia_result r = EVIDENTIA_OK;
    evidentia_report *report = NULL;
    size_t a_len = 0, b_len = 0, c_len = 0;
    char *a = NULL, *b = NULL, *c = NULL;
    if (!strcmp(operation, "receipt")) {
        a = input("receipt", &a_len);
        b = input("event", &b_len);
        c = input("salt", &c_len);
        r = evidentia_verify_receipt_salted(a, a_len, keys, (const uint8_t *)b, b ? b_len : 0, (const uint8_t *)c,
                                            c ? c_len : 0, &report);
    } else if (!strcmp(operation, "log")) {
        r = evidentia_verify_log_dir(path_of("log"), keys, &report);
    } else if (!strcmp(operation, "checkpoint")) {
        uint64_t size = 0;
        a = input("checkpoint", &a_len);
        r = evidentia_verify_checkpoint(a, a_len, keys, &size);
    } else if (!strcmp(operation, "inclusion")) {
        if (cJSON_GetObjectItemCaseSensitive(inputs, "record")) {
            evidentia_key_set_free(keys);
            return skip("the library verifies a receipt's inclusion, not a bare record's");
        }
        a = input("receipt", &a_len);
        b = input("proof", &b_len);
        c = input("checkpoint", &c_len);
        r = evidentia_verify_inclusion(a, a_len, b, b_len, c, c_len, keys);
    } else if (!strcmp(operation, "consistency")) {
        a = input("proof", &a_len);
        b = input("old_checkpoint", &b_len);
        c = input("checkpoint", &c_len);
        r = evidentia_verify_consistency(a, a_len, b, b_len, c, c_len, keys);
    } else if (!strcmp(operation, "evidence")) {
        a = input("evidence", &a_len);
        r = evidentia_verify_evidence_file((const uint8_t *)a, a_len, keys, &report);
    } else if (!strcmp(operation, "package")) {
        evidentia_key_set_free(keys);
        return package_answer();
    } else {
        fprintf(stderr, "unknown operation %s\n", operation);
        exit(3);
    }
    free(a);
    free(b);
    free(c);
    evidentia_key_set_free(keys);
    if (r != EVIDENTIA_OK) return error_answer(r);
    if (report) return report_answer(report);
    printf("{\"code\": null}\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: conformance_adapter CASE_DIR\n");
        return 3;
    }
    case_dir = argv[1];
    char path[4096];
    snprintf(path, sizeof path, "%s/expected.json", case_dir);
    FILE *f = fopen(path, "rb");
    if (!f) return 3;
    char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    cJSON *expected = cJSON_Parse(text);
    const cJSON *operation = cJSON_GetObjectItemCaseSensitive(expected, "operation");
    inputs = cJSON_GetObjectItemCaseSensitive(expected, "inputs");
    if (!cJSON_IsString(operation) || !cJSON_IsObject(inputs)) return 3;
    int status = all_inputs_utf8() ? perform(operation->valuestring)
                                   : skip("an input is not UTF-8 text, which the library's text arguments are");
    cJSON_Delete(expected);
    return status;
}
