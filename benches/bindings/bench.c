/* Per-call cost of the C library for a 1 KB event (run by `cargo xtask bench`).
 * Prints one JSON line per operation: its median time per call over 25 rounds. */
#define _POSIX_C_SOURCE 199309L
#include <evidentia.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 25

static char text[8192], jwk[1024], jwks[1024], canonical[8192], jws[8192], out[16384];
static size_t text_len, canonical_len, jws_len, jwks_len, out_len;
static evidentia_signing_key *key;
static evidentia_log *log_handle;
static uint64_t log_size, log_next;

static void must(evidentia_result result) {
    if (result != EVIDENTIA_OK) {
        fprintf(stderr, "%s\n", evidentia_result_name(result));
        exit(2);
    }
}

static void canonicalize(void) { must(evidentia_canonicalize((const uint8_t *)text, text_len, out, sizeof out, &out_len)); }
static void sign(void) {
    must(evidentia_signing_key_sign_jws(key, (const uint8_t *)canonical, canonical_len, 0, out, sizeof out, &out_len));
}
/* As in the other languages: the key set arrives as JWKS text and is read per call. */
static void verify(void) {
    evidentia_key_set *set;
    must(evidentia_key_set_from_json(jwks, jwks_len, &set));
    must(evidentia_verify_jws(jws, jws_len, set, NULL, 0, (uint8_t *)out, sizeof out, &out_len));
    evidentia_key_set_free(set);
}

/* Receipts and proofs of records spread over the log, from the open log. */
static void log_receipt(void) {
    log_next = (log_next + 7919) % log_size;
    must(evidentia_log_receipt(log_handle, log_next, out, sizeof out, &out_len));
}
static void log_inclusion_proof(void) {
    log_next = (log_next + 7919) % log_size;
    must(evidentia_log_inclusion_proof(log_handle, log_next, 0, out, sizeof out, &out_len));
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char *group = "";

static void measure(const char *op, void (*call)(void), int calls) {
    double per_call[ROUNDS];
    call();
    for (int r = 0; r < ROUNDS; r++) {
        double start = now_ns();
        for (int i = 0; i < calls; i++) call();
        per_call[r] = (now_ns() - start) / calls;
    }
    qsort(per_call, ROUNDS, sizeof per_call[0], compare);
    printf("{\"language\":\"c\",\"op\":\"%s%s\",\"median_ns\":%.1f}\n", group, op, per_call[ROUNDS / 2]);
    fflush(stdout);
}

static size_t read_into(const char *dir, const char *name, char *buffer, size_t cap) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) exit(2);
    size_t n = fread(buffer, 1, cap - 1, f);
    fclose(f);
    buffer[n] = 0;
    return n;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    /* With EVIDENTIA_BENCH_LOG, only the reads from that log (`cargo xtask bench log`). */
    const char *log_dir = getenv("EVIDENTIA_BENCH_LOG");
    if (log_dir) {
        group = getenv("EVIDENTIA_BENCH_GROUP");
        if (!group) return 2;
        must(evidentia_log_open(log_dir, NULL, 0.0, &log_handle));
        must(evidentia_log_len(log_handle, &log_size));
        static char prefixed[64];
        snprintf(prefixed, sizeof prefixed, "%s/", group);
        group = prefixed;
        measure("log_receipt", log_receipt, 2000);
        measure("log_inclusion_proof", log_inclusion_proof, 2000);
        evidentia_log_free(log_handle);
        return 0;
    }
    text_len = read_into(argv[1], "event-1k.json", text, sizeof text);
    size_t jwk_len = read_into(argv[1], "key.jwk", jwk, sizeof jwk);
    must(evidentia_signing_key_from_text(jwk, jwk_len, &key));
    must(evidentia_signing_key_public_jwk(key, jwks, sizeof jwks, &jwks_len));
    must(evidentia_canonicalize((const uint8_t *)text, text_len, canonical, sizeof canonical, &canonical_len));
    must(evidentia_signing_key_sign_jws(key, (const uint8_t *)canonical, canonical_len, 0, jws, sizeof jws, &jws_len));
    measure("canonicalize", canonicalize, 2000);
    measure("sign", sign, 300);
    measure("verify", verify, 150);
    evidentia_signing_key_free(key);
    return 0;
}
