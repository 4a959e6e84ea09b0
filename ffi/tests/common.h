/* Helpers shared by the C tests: reading vector files, hex, checks. */
#ifndef EVIDENTIA_TEST_COMMON_H
#define EVIDENTIA_TEST_COMMON_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evidentia.h"

static int checks_run = 0;
static int checks_failed = 0;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        checks_run++;                                                      \
        if (!(cond)) {                                                     \
            checks_failed++;                                               \
            fprintf(stderr, "FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

/* The directory holding testvectors/, from the environment. */
static inline const char *vectors_dir(void) {
    const char *dir = getenv("EVIDENTIA_VECTORS");
    return dir ? dir : "testvectors";
}

static inline char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size + 1);
    if (fread(data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    data[size] = 0;
    fclose(f);
    if (len) *len = (size_t)size;
    return data;
}

static inline cJSON *read_vectors(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", vectors_dir(), name);
    char *text = read_file(path, NULL);
    cJSON *json = cJSON_Parse(text);
    free(text);
    if (!json) {
        fprintf(stderr, "%s is not JSON\n", path);
        exit(2);
    }
    return json;
}

static inline const char *str(const cJSON *obj, const char *name) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static inline int boolean(const cJSON *obj, const char *name) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

static inline unsigned char *unhex(const char *hex, size_t *len) {
    size_t n = strlen(hex) / 2;
    unsigned char *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned int byte;
        sscanf(hex + 2 * i, "%2x", &byte);
        out[i] = (unsigned char)byte;
    }
    *len = n;
    return out;
}

/* Standard base64 (with or without padding) into a new buffer; *len gets its size. */
static inline unsigned char *unbase64(const char *text, size_t *len) {
    static const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(text);
    unsigned char *bytes = malloc(n + 1);
    size_t o = 0;
    unsigned int bits = 0;
    int count = 0;
    for (size_t i = 0; i < n && text[i] != '='; i++) {
        const char *p = strchr(alphabet, text[i]);
        if (!p || !*p) {
            fprintf(stderr, "not base64: %s\n", text);
            exit(2);
        }
        bits = (bits << 6) | (unsigned int)(p - alphabet);
        count += 6;
        if (count >= 8) {
            count -= 8;
            bytes[o++] = (unsigned char)(bits >> count);
        }
    }
    *len = o;
    return bytes;
}

/* A buffer large enough for every output of the tests. */
enum { BIG = 1 << 20 };
static char out[BIG];
static size_t out_len;

static inline const char *name_of(evidentia_result r) {
    return evidentia_result_name((uint32_t)r);
}

#endif
