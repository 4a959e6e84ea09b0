/* Every function of evidentia.h that takes pointers, called with each pointer
 * argument NULL, with lengths that do not fit (a NULL buffer with a length of 1 or
 * SIZE_MAX, a real buffer with a length of 0 or 1), and with output buffers of
 * capacity 0, 1, one byte short and exactly enough, surrounded by guard bytes:
 * every call returns a code of the table (INVALID_ARGUMENT for a missing argument,
 * BUFFER_TOO_SMALL with the size needed for a short buffer), never INTERNAL, and
 * never writes past the capacity it was given. Run under valgrind.
 *
 * Never done: a length larger than the buffer really passed, which is undefined
 * behaviour on the caller's side (a NULL pointer with a nonzero length stands in). */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "common.h"

enum { MAX_ARGS = 10, GUARD = 32 };

/* The pointer arguments of one call, in order, and the length (or capacity) that
 * goes with each, when it has one. */
struct call {
    void *p[MAX_ARGS];
    size_t n[MAX_ARGS];
    void *made[4]; /* objects a setup made for this call only, freed by its cleanup */
};

/* What each pointer argument is:
 *   i  input bytes with a length, required     I  input bytes with a length, NULL = absent
 *   s  C string, required                      S  C string, NULL = absent
 *   h  handle, required                        H  handle, NULL = absent
 *   r  32 bytes (a root hash), required
 *   b  output buffer with a capacity           B  output buffer, NULL = not wanted
 *   l  size_t * for the length written         L  size_t *, needed only with its buffer
 *   c  uint32_t output array with a capacity
 *   o  an out-parameter (T **), required       O  a scalar out-parameter, required
 *   P  a scalar out-parameter, NULL = not wanted
 *   a  an array of pointers with a count       A  an array of lengths with that count
 *                                              N  an array of C strings with that count, NULL = absent */
struct spec {
    const char *name;
    const char *kinds;
    void (*setup)(struct call *);
    evidentia_result (*fn)(struct call *);
    void (*cleanup)(struct call *);
};

/* The fixture every call draws on. */
static struct {
    evidentia_key_set *keys;
    evidentia_signing_key *key;
    evidentia_log *log;
    evidentia_report *report;  /* valid */
    evidentia_report *failing; /* with a failure code */
    const char *jwks, *jwk, *jws, *receipt, *inclusion, *checkpoint, *consistency, *old_checkpoint;
    char *evidence; /* an evidence file of the receipt, the key set and the event */
    unsigned char *event, *leaf, *root, *old_root;
    size_t event_len, leaf_len;
    char dir[256], log_path[300];
    int fresh;
} fx;

static char *fresh_path(const char *what) {
    char *path = malloc(400);
    snprintf(path, 400, "%s/%s-%d", fx.dir, what, fx.fresh++);
    return path;
}

/* The shared output buffer of common.h. */
#define text_out out
#define text_len out_len
static uint32_t codes_out[64];

/* An input of text. */
static void in_text(struct call *c, int i, const char *text) {
    c->p[i] = (void *)text;
    c->n[i] = strlen(text);
}

/* A text output buffer and its length at i, i + 1. */
static void out_text(struct call *c, int i) {
    c->p[i] = text_out;
    c->n[i] = BIG;
    c->p[i + 1] = &text_len;
}

static void *slot[4];

static void out_handle(struct call *c, int i, int k) {
    slot[k] = NULL;
    c->p[i] = &slot[k];
}

/* ---- the calls ---- */

#define TEXT_FN(fn)                                                                 \
    static evidentia_result call_##fn(struct call *c) {                             \
        return fn(c->p[0], c->n[0], c->p[1], c->n[1], c->p[2]);                     \
    }
TEXT_FN(evidentia_canonicalize)
TEXT_FN(evidentia_digest)
TEXT_FN(evidentia_sha256)
TEXT_FN(evidentia_jwk_thumbprint)

static void setup_json(struct call *c) {
    in_text(c, 0, "{\"b\":1, \"a\":[true]}");
    out_text(c, 1);
}

static void setup_jwk(struct call *c) {
    in_text(c, 0, fx.jwk);
    out_text(c, 1);
}

static evidentia_result call_last_error(struct call *c) {
    return evidentia_last_error(c->p[0], c->n[0], c->p[1]);
}

static void setup_last_error(struct call *c) {
    /* A failing call first, so that there is a message. */
    evidentia_canonicalize((const uint8_t *)"{", 1, text_out, BIG, &text_len);
    out_text(c, 0);
}

static evidentia_result call_generate(struct call *c) {
    return evidentia_signing_key_generate(c->p[0]);
}

static void setup_out_key(struct call *c) {
    out_handle(c, 0, 0);
}

static void free_key_slot(struct call *c) {
    (void)c;
    evidentia_signing_key_free(slot[0]);
    slot[0] = NULL;
}

static evidentia_result call_randomized(struct call *c) {
    return evidentia_signing_key_with_randomized_signatures(c->p[0], c->p[1]);
}

static void setup_key_and_out(struct call *c) {
    c->p[0] = fx.key;
    out_handle(c, 1, 0);
}

static evidentia_result call_from_text(struct call *c) {
    return evidentia_signing_key_from_text(c->p[0], c->n[0], c->p[1]);
}

static void setup_from_text(struct call *c) {
    in_text(c, 0, fx.jwk);
    out_handle(c, 1, 0);
}

#define KEY_TEXT_FN(fn)                                                             \
    static evidentia_result call_##fn(struct call *c) {                             \
        return fn(c->p[0], c->p[1], c->n[1], c->p[2]);                              \
    }
KEY_TEXT_FN(evidentia_signing_key_to_jwk)
KEY_TEXT_FN(evidentia_signing_key_public_jwk)
KEY_TEXT_FN(evidentia_signing_key_to_pem)
KEY_TEXT_FN(evidentia_signing_key_public_pem)
KEY_TEXT_FN(evidentia_signing_key_kid)

static void setup_key_text(struct call *c) {
    c->p[0] = fx.key;
    out_text(c, 1);
}

static evidentia_result call_sign_jws(struct call *c) {
    return evidentia_signing_key_sign_jws(c->p[0], c->p[1], c->n[1], EVIDENTIA_JWS_DETACHED, c->p[2], c->n[2], c->p[3]);
}

static void setup_sign_jws(struct call *c) {
    c->p[0] = fx.key;
    in_text(c, 1, "payload");
    out_text(c, 2);
}

static evidentia_result call_key_set_from_json(struct call *c) {
    return evidentia_key_set_from_json(c->p[0], c->n[0], c->p[1]);
}

static void setup_key_set(struct call *c) {
    in_text(c, 0, fx.jwks);
    out_handle(c, 1, 0);
}

static void free_key_set_slot(struct call *c) {
    (void)c;
    evidentia_key_set_free(slot[0]);
    slot[0] = NULL;
}

static evidentia_result call_verify_jws(struct call *c) {
    return evidentia_verify_jws(c->p[0], c->n[0], c->p[1], c->p[2], c->n[2], c->p[3], c->n[3], c->p[4]);
}

static void setup_verify_jws(struct call *c) {
    in_text(c, 0, fx.jws);
    c->p[1] = fx.keys;
    c->p[2] = NULL;
    c->n[2] = 0;
    out_text(c, 3);
}

/* The detached form, so that the payload argument is used. */
static char detached[512];

static void setup_verify_detached(struct call *c) {
    in_text(c, 0, detached);
    c->p[1] = fx.keys;
    in_text(c, 2, "payload");
    out_text(c, 3);
}

static evidentia_result call_log_create(struct call *c) {
    return evidentia_log_create(c->p[0], c->p[1], c->p[2], EVIDENTIA_MODE_RECEIPTS, c->p[3], c->p[4]);
}

static void setup_log_create(struct call *c) {
    c->made[0] = fresh_path("created");
    c->p[0] = c->made[0];
    c->p[1] = fx.key;
    c->p[2] = "hostile.example/created";
    c->p[3] = "2020-01-01T00:00:00Z";
    out_handle(c, 4, 0);
}

static void free_log_slot(struct call *c) {
    evidentia_log_free(slot[0]);
    slot[0] = NULL;
    free(c->made[0]);
}

static evidentia_result call_log_open(struct call *c) {
    return evidentia_log_open(c->p[0], c->p[1], 0, c->p[2]);
}

static void setup_log_open(struct call *c) {
    c->p[0] = fx.log_path;
    c->p[1] = NULL; /* for reading: the fixture holds the writer's lock */
    out_handle(c, 2, 0);
}

static evidentia_result call_log_append(struct call *c) {
    return evidentia_log_append(c->p[0], c->p[1], c->n[1], c->p[2], c->p[3], 0, c->p[4]);
}

static void setup_log_append(struct call *c) {
    c->p[0] = fx.log;
    in_text(c, 1, "{\"n\":1}");
    c->made[0] = fresh_path("nonce");
    c->p[2] = c->made[0];
    c->p[3] = NULL;
    out_handle(c, 4, 0);
}

static void free_string_slot(struct call *c) {
    evidentia_string_free(slot[0]);
    slot[0] = NULL;
    free(c->made[0]);
}

static const uint8_t *batch_events[2] = {(const uint8_t *)"{\"b\":1}", (const uint8_t *)"[2]"};
static size_t batch_lens[2] = {7, 3};

static evidentia_result call_append_batch(struct call *c) {
    return evidentia_log_append_batch(c->p[0], c->p[1], c->p[2], c->n[1], c->p[3], c->p[4]);
}

static void setup_append_batch(struct call *c) {
    c->p[0] = fx.log;
    c->p[1] = batch_events;
    c->n[1] = 2;
    c->p[2] = batch_lens;
    c->n[2] = 2;
    c->p[3] = NULL;
    out_handle(c, 4, 0);
}

/* The first event's nonce makes every call after the first an idempotent retry. */
static const char *batch_nonces[2] = {"pointers-batch", NULL};

static evidentia_result call_append_events(struct call *c) {
    return evidentia_log_append_events(c->p[0], c->p[1], c->p[2], c->n[1], c->p[3], c->p[4],
                                       EVIDENTIA_APPEND_IDEMPOTENT, c->p[5]);
}

static void setup_append_events(struct call *c) {
    c->p[0] = fx.log;
    c->p[1] = batch_events;
    c->n[1] = 2;
    c->p[2] = batch_lens;
    c->n[2] = 2;
    c->p[3] = batch_nonces;
    c->p[4] = NULL;
    out_handle(c, 5, 0);
}

static evidentia_result call_rotate(struct call *c) {
    return evidentia_log_rotate(c->p[0], c->p[1]);
}

static void setup_rotate(struct call *c) {
    c->p[0] = fx.log;
    evidentia_signing_key *key = NULL;
    evidentia_signing_key_generate(&key);
    c->made[0] = key;
    c->p[1] = key;
}

static evidentia_result call_revoke(struct call *c) {
    return evidentia_log_revoke(c->p[0], c->p[1], c->p[2], c->p[3]);
}

/* The fixture's first key, retired by the rotation above: the first call revokes
 * it, the others are refused (revoked already) or miss an argument. */
static char revoked_kid[64];

static void setup_revoke(struct call *c) {
    size_t len = 0;
    evidentia_signing_key_kid(fx.key, revoked_kid, sizeof revoked_kid, &len);
    c->p[0] = fx.log;
    c->p[1] = revoked_kid;
    c->p[2] = "2100-01-01T00:00:00Z";
    c->p[3] = "superseded";
}

static void free_made_key(struct call *c) {
    evidentia_signing_key_free(c->made[0]);
}

#define LOG_TEXT_FN(fn)                                                             \
    static evidentia_result call_##fn(struct call *c) {                             \
        return fn(c->p[0], c->p[1], c->n[1], c->p[2]);                              \
    }
LOG_TEXT_FN(evidentia_log_keys)
LOG_TEXT_FN(evidentia_log_id)

static void setup_log_text(struct call *c) {
    c->p[0] = fx.log;
    out_text(c, 1);
}

static evidentia_result call_log_len(struct call *c) {
    return evidentia_log_len(c->p[0], c->p[1]);
}

static uint64_t u64_out;
static bool bool_out;

static void setup_log_len(struct call *c) {
    c->p[0] = fx.log;
    c->p[1] = &u64_out;
}

static evidentia_result call_log_checkpoint(struct call *c) {
    return evidentia_log_checkpoint(c->p[0], c->p[1]);
}

static evidentia_result call_log_recovery(struct call *c) {
    return evidentia_log_recovery(c->p[0], c->p[1]);
}

static void setup_log_string(struct call *c) {
    c->p[0] = fx.log;
    out_handle(c, 1, 0);
    c->made[0] = NULL;
}

static evidentia_result call_find_nonce(struct call *c) {
    return evidentia_log_find_nonce(c->p[0], c->p[1], c->p[2], c->p[3]);
}

static void setup_find_nonce(struct call *c) {
    c->p[0] = fx.log;
    c->p[1] = "first";
    c->p[2] = &bool_out;
    c->p[3] = &u64_out;
}

static evidentia_result call_log_receipt(struct call *c) {
    return evidentia_log_receipt(c->p[0], 0, c->p[1], c->n[1], c->p[2]);
}

static evidentia_result call_log_salt(struct call *c) {
    return evidentia_log_salt(c->p[0], 0, c->p[1], c->n[1], c->p[2]);
}

static evidentia_result call_log_inclusion_proof(struct call *c) {
    return evidentia_log_inclusion_proof(c->p[0], 0, 2, c->p[1], c->n[1], c->p[2]);
}

static evidentia_result call_log_consistency_proof(struct call *c) {
    return evidentia_log_consistency_proof(c->p[0], 1, 2, c->p[1], c->n[1], c->p[2]);
}

static evidentia_result call_export(struct call *c) {
    return evidentia_log_export_package(c->p[0], 0, c->p[1], c->p[2]);
}

static void setup_export(struct call *c) {
    c->p[0] = fx.log;
    c->made[0] = fresh_path("package");
    c->p[1] = c->made[0];
    out_handle(c, 2, 0);
}

static evidentia_result call_log_verify(struct call *c) {
    return evidentia_log_verify(c->p[0], c->p[1], c->p[2]);
}

static void setup_log_verify(struct call *c) {
    c->p[0] = fx.log;
    c->p[1] = NULL;
    out_handle(c, 2, 0);
}

static void free_report_slot(struct call *c) {
    (void)c;
    evidentia_report_free(slot[0]);
    slot[0] = NULL;
}

static evidentia_result call_verify_log_dir(struct call *c) {
    return evidentia_verify_log_dir(c->p[0], c->p[1], c->p[2]);
}

static void setup_verify_log_dir(struct call *c) {
    c->p[0] = fx.log_path;
    c->p[1] = fx.keys;
    out_handle(c, 2, 0);
}

static evidentia_result call_verify_receipt(struct call *c) {
    return evidentia_verify_receipt(c->p[0], c->n[0], c->p[1], c->p[2], c->n[2], c->p[3]);
}

static void setup_verify_receipt(struct call *c) {
    in_text(c, 0, fx.receipt);
    c->p[1] = fx.keys;
    c->p[2] = fx.event;
    c->n[2] = fx.event_len;
    out_handle(c, 3, 0);
}

/* The fixture's receipt is of a version-1 record: no salt (NULL), as it needs. */
static evidentia_result call_verify_receipt_salted(struct call *c) {
    return evidentia_verify_receipt_salted(c->p[0], c->n[0], c->p[1], c->p[2], c->n[2], c->p[3], c->n[3], c->p[4]);
}

static void setup_verify_receipt_salted(struct call *c) {
    in_text(c, 0, fx.receipt);
    c->p[1] = fx.keys;
    c->p[2] = fx.event;
    c->n[2] = fx.event_len;
    c->p[3] = NULL;
    c->n[3] = 0;
    out_handle(c, 4, 0);
}

static evidentia_result call_verify_evidence_file(struct call *c) {
    return evidentia_verify_evidence_file(c->p[0], c->n[0], c->p[1], c->p[2]);
}

static void setup_verify_evidence_file(struct call *c) {
    in_text(c, 0, fx.evidence);
    c->p[1] = fx.keys;
    out_handle(c, 2, 0);
}

static evidentia_result call_verifier_new(struct call *c) {
    return evidentia_log_verifier_new(c->p[0], c->p[1]);
}

static void setup_verifier_new(struct call *c) {
    c->p[0] = fx.keys;
    out_handle(c, 1, 0);
}

static void free_verifier_slot(struct call *c) {
    (void)c;
    evidentia_log_verifier_free(slot[0]);
    slot[0] = NULL;
}

static evidentia_result call_verifier_push(struct call *c) {
    return evidentia_log_verifier_push(c->p[0], c->p[1], c->n[1], c->p[2], c->n[2]);
}

static void setup_verifier_push(struct call *c) {
    evidentia_log_verifier *verifier = NULL;
    evidentia_log_verifier_new(fx.keys, &verifier);
    c->made[0] = verifier;
    c->p[0] = verifier;
    in_text(c, 1, fx.receipt);
    c->p[2] = fx.event;
    c->n[2] = fx.event_len;
}

static void free_made_verifier(struct call *c) {
    evidentia_log_verifier_free(c->made[0]);
}

static evidentia_result call_verifier_push_checkpoint(struct call *c) {
    return evidentia_log_verifier_push_checkpoint(c->p[0], c->p[1], c->n[1]);
}

static void setup_verifier_push_checkpoint(struct call *c) {
    setup_verifier_push(c);
    in_text(c, 1, fx.checkpoint);
}

static evidentia_result call_verifier_finish(struct call *c) {
    return evidentia_log_verifier_finish(c->p[0], c->p[1]);
}

static void setup_verifier_finish(struct call *c) {
    setup_verifier_push(c);
    out_handle(c, 1, 1);
}

static void free_verifier_finish(struct call *c) {
    evidentia_log_verifier_free(c->made[0]);
    evidentia_report_free(slot[1]);
    slot[1] = NULL;
}

#define REPORT_TEXT_FN(fn)                                                          \
    static evidentia_result call_##fn(struct call *c) {                             \
        return fn(c->p[0], c->p[1], c->n[1], c->p[2]);                              \
    }
REPORT_TEXT_FN(evidentia_report_summary)
REPORT_TEXT_FN(evidentia_report_to_json)
REPORT_TEXT_FN(evidentia_report_to_text)

static void setup_report_text(struct call *c) {
    c->p[0] = fx.failing;
    out_text(c, 1);
}

static evidentia_result call_failure_codes(struct call *c) {
    return evidentia_report_failure_codes(c->p[0], c->p[1], c->n[1], c->p[2]);
}

static void setup_failure_codes(struct call *c) {
    c->p[0] = fx.failing;
    c->p[1] = codes_out;
    c->n[1] = 64;
    c->p[2] = &text_len;
}

static evidentia_result call_verify_checkpoint(struct call *c) {
    return evidentia_verify_checkpoint(c->p[0], c->n[0], c->p[1], c->p[2]);
}

static void setup_verify_checkpoint(struct call *c) {
    in_text(c, 0, fx.checkpoint);
    c->p[1] = fx.keys;
    c->p[2] = &u64_out;
}

static evidentia_result call_verify_inclusion(struct call *c) {
    return evidentia_verify_inclusion(c->p[0], c->n[0], c->p[1], c->n[1], c->p[2], c->n[2], c->p[3]);
}

static void setup_verify_inclusion(struct call *c) {
    in_text(c, 0, fx.receipt);
    in_text(c, 1, fx.inclusion);
    in_text(c, 2, fx.checkpoint);
    c->p[3] = fx.keys;
}

static evidentia_result call_verify_consistency(struct call *c) {
    return evidentia_verify_consistency(c->p[0], c->n[0], c->p[1], c->n[1], c->p[2], c->n[2], c->p[3]);
}

static void setup_verify_consistency(struct call *c) {
    in_text(c, 0, fx.consistency);
    in_text(c, 1, fx.old_checkpoint);
    in_text(c, 2, fx.checkpoint);
    c->p[3] = fx.keys;
}

static evidentia_result call_verify_inclusion_proof(struct call *c) {
    return evidentia_verify_inclusion_proof(c->p[0], c->n[0], c->p[1], c->n[1], c->p[2]);
}

static void setup_verify_inclusion_proof(struct call *c) {
    in_text(c, 0, fx.inclusion);
    c->p[1] = fx.leaf;
    c->n[1] = fx.leaf_len;
    c->p[2] = fx.root;
}

static evidentia_result call_verify_consistency_proof(struct call *c) {
    return evidentia_verify_consistency_proof(c->p[0], c->n[0], c->p[1], c->p[2]);
}

static void setup_verify_consistency_proof(struct call *c) {
    in_text(c, 0, fx.consistency);
    c->p[1] = fx.old_root;
    c->p[2] = fx.root;
}

/* ---- signatures by other parties ---- */

/* The public JWK of the fixture's key: a partner key the fixture's JWS verifies with. */
static const char *partner_jwk(void) {
    static char jwk[512];
    static size_t len;
    if (!len && evidentia_signing_key_public_jwk(fx.key, jwk, sizeof jwk, &len) != EVIDENTIA_OK) exit(2);
    return jwk;
}

static const uint8_t zero_signature[64];

static evidentia_result call_verify_partner_jws(struct call *c) {
    return evidentia_verify_partner_jws(c->p[0], c->n[0], c->p[1], c->n[1], c->p[2], c->n[2], c->p[3], c->n[3],
                                        c->p[4]);
}

static void setup_verify_partner_jws(struct call *c) {
    in_text(c, 0, fx.jws);
    in_text(c, 1, partner_jwk());
    c->p[2] = NULL;
    c->n[2] = 0;
    out_text(c, 3);
}

static evidentia_result call_verify_partner_signature(struct call *c) {
    return evidentia_verify_partner_signature(c->p[0], c->p[1], c->n[1], c->p[2], c->n[2], c->p[3], c->n[3]);
}

static void setup_verify_partner_signature(struct call *c) {
    c->p[0] = "ES256";
    in_text(c, 1, partner_jwk());
    in_text(c, 2, "message");
    c->p[3] = (void *)zero_signature;
    c->n[3] = sizeof zero_signature;
}

static evidentia_result call_record_message(struct call *c) {
    return evidentia_log_record_message(c->p[0], c->p[1], c->n[1], c->p[2], c->n[2], c->p[3], c->n[3], c->p[4],
                                        c->n[4], c->p[5], -1, 0, c->p[6], c->p[7], c->p[8]);
}

static void setup_record_message(struct call *c) {
    c->p[0] = fx.log;
    in_text(c, 1, fx.jws);
    c->p[2] = NULL;
    c->n[2] = 0;
    in_text(c, 3, partner_jwk());
    in_text(c, 4, "{\"partner_id\":\"p\"}");
    c->p[5] = "inbound";
    c->made[0] = fresh_path("message");
    c->p[6] = c->made[0];
    c->p[7] = NULL;
    out_handle(c, 8, 0);
}

static evidentia_result call_log_message(struct call *c) {
    return evidentia_log_message(c->p[0], 0, c->p[1], c->n[1], c->p[2]);
}

static evidentia_result call_log_verify_message(struct call *c) {
    return evidentia_log_verify_message(c->p[0], 0, c->p[1], c->n[1], c->p[2]);
}

static evidentia_result call_read_signed_message(struct call *c) {
    return evidentia_read_signed_message(c->p[0], c->n[0], c->p[1], c->n[1], c->p[2]);
}

static void setup_read_signed_message(struct call *c) {
    c->p[0] = fx.event;
    c->n[0] = fx.event_len;
    out_text(c, 1);
}

static evidentia_result call_add_index_field(struct call *c) {
    return evidentia_log_add_index_field(c->p[0], c->p[1]);
}

static void setup_add_index_field(struct call *c) {
    c->p[0] = fx.log;
    c->p[1] = "n";
}

static evidentia_result call_log_find(struct call *c) {
    return evidentia_log_find(c->p[0], c->p[1], c->p[2], c->p[3], c->n[3], c->p[4]);
}

static void setup_log_find(struct call *c) {
    c->p[0] = fx.log;
    c->p[1] = "n";
    c->p[2] = "1";
    out_text(c, 3);
}

static void nothing(struct call *c) {
    (void)c;
}

static const struct spec specs[] = {
    {"evidentia_last_error", "bl", setup_last_error, call_last_error, nothing},
    {"evidentia_canonicalize", "ibl", setup_json, call_evidentia_canonicalize, nothing},
    {"evidentia_digest", "ibl", setup_json, call_evidentia_digest, nothing},
    {"evidentia_sha256", "ibl", setup_json, call_evidentia_sha256, nothing},
    {"evidentia_signing_key_generate", "o", setup_out_key, call_generate, free_key_slot},
    {"evidentia_signing_key_with_randomized_signatures", "ho", setup_key_and_out, call_randomized, free_key_slot},
    {"evidentia_signing_key_from_text", "io", setup_from_text, call_from_text, free_key_slot},
    {"evidentia_signing_key_to_jwk", "hbl", setup_key_text, call_evidentia_signing_key_to_jwk, nothing},
    {"evidentia_signing_key_public_jwk", "hbl", setup_key_text, call_evidentia_signing_key_public_jwk, nothing},
    {"evidentia_signing_key_to_pem", "hbl", setup_key_text, call_evidentia_signing_key_to_pem, nothing},
    {"evidentia_signing_key_public_pem", "hbl", setup_key_text, call_evidentia_signing_key_public_pem, nothing},
    {"evidentia_signing_key_kid", "hbl", setup_key_text, call_evidentia_signing_key_kid, nothing},
    {"evidentia_signing_key_sign_jws", "hibl", setup_sign_jws, call_sign_jws, nothing},
    {"evidentia_key_set_from_json", "io", setup_key_set, call_key_set_from_json, free_key_set_slot},
    {"evidentia_jwk_thumbprint", "ibl", setup_jwk, call_evidentia_jwk_thumbprint, nothing},
    {"evidentia_verify_jws", "ihIBL", setup_verify_jws, call_verify_jws, nothing},
    {"evidentia_verify_jws (detached)", "ihIBL", setup_verify_detached, call_verify_jws, nothing},
    {"evidentia_log_create", "shSSo", setup_log_create, call_log_create, free_log_slot},
    {"evidentia_log_open", "sHo", setup_log_open, call_log_open, free_log_slot},
    {"evidentia_log_append", "hiSSo", setup_log_append, call_log_append, free_string_slot},
    {"evidentia_log_append_batch", "haASo", setup_append_batch, call_append_batch, free_string_slot},
    {"evidentia_log_append_events", "haANSo", setup_append_events, call_append_events, free_string_slot},
    {"evidentia_log_rotate", "hh", setup_rotate, call_rotate, free_made_key},
    {"evidentia_log_revoke", "hssS", setup_revoke, call_revoke, nothing},
    {"evidentia_log_keys", "hbl", setup_log_text, call_evidentia_log_keys, nothing},
    {"evidentia_log_id", "hbl", setup_log_text, call_evidentia_log_id, nothing},
    {"evidentia_log_len", "hO", setup_log_len, call_log_len, nothing},
    {"evidentia_log_checkpoint", "ho", setup_log_string, call_log_checkpoint, free_string_slot},
    {"evidentia_log_find_nonce", "hsOO", setup_find_nonce, call_find_nonce, nothing},
    {"evidentia_log_recovery", "ho", setup_log_string, call_log_recovery, free_string_slot},
    {"evidentia_log_receipt", "hbl", setup_log_text, call_log_receipt, nothing},
    {"evidentia_log_salt", "hbl", setup_log_text, call_log_salt, nothing},
    {"evidentia_log_inclusion_proof", "hbl", setup_log_text, call_log_inclusion_proof, nothing},
    {"evidentia_log_export_package", "hso", setup_export, call_export, free_string_slot},
    {"evidentia_log_consistency_proof", "hbl", setup_log_text, call_log_consistency_proof, nothing},
    {"evidentia_log_verify", "hHo", setup_log_verify, call_log_verify, free_report_slot},
    {"evidentia_verify_log_dir", "sHo", setup_verify_log_dir, call_verify_log_dir, free_report_slot},
    {"evidentia_verify_receipt", "ihIo", setup_verify_receipt, call_verify_receipt, free_report_slot},
    {"evidentia_verify_receipt_salted", "ihIIo", setup_verify_receipt_salted, call_verify_receipt_salted,
     free_report_slot},
    {"evidentia_verify_evidence_file", "iHo", setup_verify_evidence_file, call_verify_evidence_file, free_report_slot},
    {"evidentia_log_verifier_new", "ho", setup_verifier_new, call_verifier_new, free_verifier_slot},
    {"evidentia_log_verifier_push", "hiI", setup_verifier_push, call_verifier_push, free_made_verifier},
    {"evidentia_log_verifier_push_checkpoint", "hi", setup_verifier_push_checkpoint, call_verifier_push_checkpoint,
     free_made_verifier},
    {"evidentia_log_verifier_finish", "ho", setup_verifier_finish, call_verifier_finish, free_verifier_finish},
    {"evidentia_report_summary", "hbl", setup_report_text, call_evidentia_report_summary, nothing},
    {"evidentia_report_to_json", "hbl", setup_report_text, call_evidentia_report_to_json, nothing},
    {"evidentia_report_to_text", "hbl", setup_report_text, call_evidentia_report_to_text, nothing},
    {"evidentia_report_failure_codes", "hcl", setup_failure_codes, call_failure_codes, nothing},
    {"evidentia_verify_checkpoint", "ihP", setup_verify_checkpoint, call_verify_checkpoint, nothing},
    {"evidentia_verify_inclusion", "iiih", setup_verify_inclusion, call_verify_inclusion, nothing},
    {"evidentia_verify_consistency", "iiih", setup_verify_consistency, call_verify_consistency, nothing},
    {"evidentia_verify_inclusion_proof", "iir", setup_verify_inclusion_proof, call_verify_inclusion_proof, nothing},
    {"evidentia_verify_consistency_proof", "irr", setup_verify_consistency_proof, call_verify_consistency_proof,
     nothing},
    {"evidentia_verify_partner_jws", "iiIBL", setup_verify_partner_jws, call_verify_partner_jws, nothing},
    {"evidentia_verify_partner_signature", "siii", setup_verify_partner_signature, call_verify_partner_signature,
     nothing},
    {"evidentia_log_record_message", "hiIiIsSSo", setup_record_message, call_record_message, free_string_slot},
    {"evidentia_log_message", "hbl", setup_log_text, call_log_message, nothing},
    {"evidentia_log_verify_message", "hbl", setup_log_text, call_log_verify_message, nothing},
    {"evidentia_read_signed_message", "ibl", setup_read_signed_message, call_read_signed_message, nothing},
    {"evidentia_log_add_index_field", "hs", setup_add_index_field, call_add_index_field, nothing},
    {"evidentia_log_find", "hssbl", setup_log_find, call_log_find, nothing},
};

static int calls = 0;

static int known(evidentia_result r) {
    return r == EVIDENTIA_OK || (strcmp(name_of(r), "UNKNOWN") != 0 && r != EVIDENTIA_INTERNAL);
}

/* Calls with the arguments as set up, then lets `change` alter them. */
static evidentia_result run(const struct spec *s, struct call *c) {
    calls++;
    return s->fn(c);
}

static void prepare(const struct spec *s, struct call *c) {
    memset(c, 0, sizeof *c);
    s->setup(c);
}

static int is_required(char kind) {
    return strchr("ishrloOaAc", kind) != NULL;
}

/* Each pointer argument NULL. */
static void null_pointers(const struct spec *s, evidentia_result baseline) {
    for (int i = 0; s->kinds[i]; i++) {
        char kind = s->kinds[i];
        struct call c;
        prepare(s, &c);
        c.p[i] = NULL;
        evidentia_result r = run(s, &c);
        CHECK(known(r), "%s: argument %d NULL gave %u", s->name, i, (unsigned)r);
        if (kind == 'b' || kind == 'c') {
            CHECK(r == EVIDENTIA_BUFFER_TOO_SMALL || baseline != EVIDENTIA_OK, "%s: a NULL buffer gave %s", s->name,
                  name_of(r));
        } else if (kind == 'A' || kind == 'a' || is_required(kind)) {
            CHECK(r == EVIDENTIA_INVALID_ARGUMENT, "%s: argument %d (%c) NULL gave %s", s->name, i, kind, name_of(r));
        }
        s->cleanup(&c);
    }
}

/* A NULL buffer with a nonzero length, and a real one with a length of 0 or 1. */
static void lengths(const struct spec *s) {
    const size_t wrong[] = {1, 2, SIZE_MAX / 2, SIZE_MAX};
    for (int i = 0; s->kinds[i]; i++) {
        char kind = s->kinds[i];
        if (kind != 'i' && kind != 'I' && kind != 'a') continue;
        for (size_t w = 0; w < sizeof wrong / sizeof *wrong; w++) {
            struct call c;
            prepare(s, &c);
            c.p[i] = NULL;
            c.n[i] = wrong[w];
            if (kind == 'a') c.p[i + 1] = NULL;
            evidentia_result r = run(s, &c);
            CHECK(known(r), "%s: argument %d NULL with length %zu gave %u", s->name, i, wrong[w], (unsigned)r);
            if (kind != 'I') {
                CHECK(r == EVIDENTIA_INVALID_ARGUMENT, "%s: argument %d NULL with length %zu gave %s", s->name, i,
                      wrong[w], name_of(r));
            }
            s->cleanup(&c);
        }
        for (size_t n = 0; n <= 1; n++) {
            struct call c;
            prepare(s, &c);
            if (c.n[i] < n) {
                s->cleanup(&c);
                continue;
            }
            c.n[i] = n;
            if (kind == 'a') c.n[i + 1] = n;
            evidentia_result r = run(s, &c);
            CHECK(known(r), "%s: argument %d with length %zu gave %u", s->name, i, n, (unsigned)r);
            s->cleanup(&c);
        }
    }
}

/* Output buffers of capacity 0, 1, one short and exact, with guard bytes around. */
static void capacities(const struct spec *s, evidentia_result baseline, size_t needed_at_baseline) {
    if (baseline != EVIDENTIA_OK) return;
    for (int i = 0; s->kinds[i]; i++) {
        char kind = s->kinds[i];
        if (kind != 'b' && kind != 'B' && kind != 'c') continue;
        size_t unit = kind == 'c' ? sizeof(uint32_t) : 1;
        size_t needed = needed_at_baseline;
        size_t caps[4] = {0, 1, needed ? needed - 1 : 0, needed};
        for (int k = 0; k < 4; k++) {
            size_t cap = caps[k];
            size_t bytes = (cap + GUARD) * unit;
            unsigned char *buffer = malloc(bytes);
            memset(buffer, 0xA5, bytes);
            struct call c;
            prepare(s, &c);
            c.p[i] = buffer;
            c.n[i] = cap;
            size_t got = (size_t)-1;
            c.p[i + 1] = &got;
            evidentia_result r = run(s, &c);
            size_t untouched_from = 0;
            if (cap < needed) {
                CHECK(r == EVIDENTIA_BUFFER_TOO_SMALL, "%s: capacity %zu of %zu gave %s", s->name, cap, needed,
                      name_of(r));
                CHECK(got == needed, "%s: capacity %zu: the size needed is %zu, said %zu", s->name, cap, needed, got);
            } else {
                CHECK(r == EVIDENTIA_OK, "%s: the exact capacity %zu gave %s", s->name, cap, name_of(r));
                untouched_from = cap * unit;
            }
            for (size_t b = untouched_from; b < bytes; b++) {
                if (buffer[b] != 0xA5) {
                    CHECK(0, "%s: capacity %zu: byte %zu beyond what may be written was changed", s->name, cap, b);
                    break;
                }
            }
            free(buffer);
            s->cleanup(&c);
        }
    }
}

/* The size an output needs, from a baseline call: text includes its NUL. */
static size_t needed_size(const struct spec *s) {
    for (int i = 0; s->kinds[i]; i++) {
        char kind = s->kinds[i];
        if (kind != 'b' && kind != 'B' && kind != 'c') continue;
        struct call c;
        prepare(s, &c);
        unsigned char none[1];
        c.p[i] = none;
        c.n[i] = 0;
        size_t got = 0;
        c.p[i + 1] = &got;
        evidentia_result r = run(s, &c);
        s->cleanup(&c);
        return r == EVIDENTIA_BUFFER_TOO_SMALL ? got : 0;
    }
    return 0;
}

static void fixture(void) {
    cJSON *corpus = read_vectors("hostile.json");
    const cJSON *ctx = cJSON_GetObjectItem(corpus, "context");
    fx.jwks = strdup(str(ctx, "jwks"));
    fx.jwk = strdup(str(ctx, "private_jwk"));
    fx.jws = strdup(str(ctx, "jws"));
    fx.receipt = strdup(str(ctx, "receipt"));
    fx.inclusion = strdup(str(ctx, "inclusion_proof"));
    fx.checkpoint = strdup(str(ctx, "checkpoint"));
    fx.consistency = strdup(str(ctx, "consistency_proof"));
    fx.old_checkpoint = strdup(str(ctx, "old_checkpoint"));
    size_t len;
    fx.event = unbase64(str(ctx, "event"), &fx.event_len);
    fx.leaf = unbase64(str(ctx, "leaf"), &fx.leaf_len);
    fx.root = unbase64(str(ctx, "root"), &len);
    fx.old_root = unbase64(str(ctx, "old_root"), &len);
    size_t evidence_cap = strlen(fx.receipt) + strlen(fx.jwks) + fx.event_len + 64;
    fx.evidence = malloc(evidence_cap);
    snprintf(fx.evidence, evidence_cap, "{\"receipt\":\"%s\",\"jwks\":%s,\"event\":%.*s}", fx.receipt, fx.jwks,
             (int)fx.event_len, (const char *)fx.event);
    cJSON_Delete(corpus);
    CHECK(evidentia_key_set_from_json(fx.jwks, strlen(fx.jwks), &fx.keys) == EVIDENTIA_OK, "key set");
    CHECK(evidentia_signing_key_from_text(fx.jwk, strlen(fx.jwk), &fx.key) == EVIDENTIA_OK, "key");
    CHECK(evidentia_signing_key_sign_jws(fx.key, (const uint8_t *)"payload", 7, EVIDENTIA_JWS_DETACHED, detached,
                                         sizeof detached, &len) == EVIDENTIA_OK,
          "detached");
    snprintf(fx.dir, sizeof fx.dir, "/tmp/evidentia-c-pointers-XXXXXX");
    if (!mkdtemp(fx.dir)) exit(2);
    snprintf(fx.log_path, sizeof fx.log_path, "%s/log", fx.dir);
    CHECK(evidentia_log_create(fx.log_path, fx.key, "hostile.example/pointers", EVIDENTIA_MODE_RECEIPTS, NULL,
                               &fx.log) == EVIDENTIA_OK,
          "log");
    char *receipt = NULL;
    CHECK(evidentia_log_append(fx.log, (const uint8_t *)"{}", 2, "first", NULL, 0, &receipt) == EVIDENTIA_OK, "append");
    evidentia_string_free(receipt);
    CHECK(evidentia_log_append(fx.log, (const uint8_t *)"[]", 2, NULL, NULL, 0, &receipt) == EVIDENTIA_OK, "append");
    evidentia_string_free(receipt);
    CHECK(evidentia_verify_receipt(fx.receipt, strlen(fx.receipt), fx.keys, fx.event, fx.event_len, &fx.report) ==
              EVIDENTIA_OK,
          "report");
    CHECK(evidentia_verify_receipt(fx.receipt, strlen(fx.receipt), fx.keys, (const uint8_t *)"{}", 2, &fx.failing) ==
              EVIDENTIA_OK,
          "failing report");
    evidentia_report *report = NULL;
    CHECK(evidentia_verify_evidence_file((const uint8_t *)fx.evidence, strlen(fx.evidence), NULL, &report) ==
                  EVIDENTIA_OK &&
              evidentia_report_is_valid(report),
          "evidence file");
    evidentia_report_free(report);
}

static void fixture_free(void) {
    evidentia_log_free(fx.log);
    evidentia_key_set_free(fx.keys);
    evidentia_signing_key_free(fx.key);
    evidentia_report_free(fx.report);
    evidentia_report_free(fx.failing);
    free((void *)fx.jwks);
    free((void *)fx.jwk);
    free((void *)fx.jws);
    free((void *)fx.receipt);
    free((void *)fx.inclusion);
    free((void *)fx.checkpoint);
    free((void *)fx.consistency);
    free((void *)fx.old_checkpoint);
    free(fx.evidence);
    free(fx.event);
    free(fx.leaf);
    free(fx.root);
    free(fx.old_root);
    char command[400];
    snprintf(command, sizeof command, "rm -rf '%s'", fx.dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", fx.dir);
}

/* The functions without pointer arguments to check, and those whose NULL is a no-op. */
static void the_rest(void) {
    evidentia_string_free(NULL);
    evidentia_signing_key_free(NULL);
    evidentia_key_set_free(NULL);
    evidentia_log_free(NULL);
    evidentia_log_verifier_free(NULL);
    evidentia_report_free(NULL);
    CHECK(!evidentia_report_is_valid(NULL), "a NULL report is not valid");
    CHECK(evidentia_report_is_valid(fx.report), "the fixture's report is valid");
    CHECK(evidentia_report_records(NULL) == 0, "a NULL report covers no records");
    CHECK(evidentia_version() && strlen(evidentia_version()) > 0, "version");
    const uint32_t numbers[] = {1, 99, 199, 600 + 99, 901, 999, 65535, 65536, UINT32_MAX};
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        CHECK(strcmp(evidentia_result_name(numbers[i]), "UNKNOWN") == 0, "%u has no name", numbers[i]);
        CHECK(strcmp(evidentia_result_explanation(numbers[i]), "Unknown result code.") == 0, "%u", numbers[i]);
    }
    /* A finished verifier can only be freed; finishing again is refused. */
    evidentia_log_verifier *verifier = NULL;
    evidentia_report *report = NULL;
    CHECK(evidentia_log_verifier_new(fx.keys, &verifier) == EVIDENTIA_OK, "verifier");
    CHECK(evidentia_log_verifier_finish(verifier, &report) == EVIDENTIA_OK, "finish");
    evidentia_report_free(report);
    report = NULL;
    CHECK(evidentia_log_verifier_finish(verifier, &report) == EVIDENTIA_INVALID_HANDLE && report == NULL, "twice");
    CHECK(evidentia_log_verifier_push(verifier, (const uint8_t *)"x", 1, NULL, 0) == EVIDENTIA_INVALID_HANDLE, "push");
    CHECK(evidentia_log_verifier_push_checkpoint(verifier, "x", 1) == EVIDENTIA_INVALID_HANDLE, "push checkpoint");
    evidentia_log_verifier_free(verifier);
    /* The first revocation call revoked the retired key; the later ones changed nothing. */
    CHECK(evidentia_log_keys(fx.log, text_out, BIG, &text_len) == EVIDENTIA_OK && strstr(text_out, "\"superseded\""),
          "the revocation");
    const char *revoked = strstr(text_out, "\"revoked\"");
    CHECK(revoked && !strstr(revoked + 1, "\"revoked\""), "one revocation");
    /* Text that is not UTF-8 where text is taken. */
    evidentia_key_set *keys = NULL;
    CHECK(evidentia_key_set_from_json("\xff", 1, &keys) == EVIDENTIA_INVALID_ARGUMENT && keys == NULL, "not UTF-8");
    /* A batch with one event NULL and a nonzero length. */
    const uint8_t *events[2] = {(const uint8_t *)"{}", NULL};
    size_t lens[2] = {2, 5};
    char *out_string = NULL;
    CHECK(evidentia_log_append_batch(fx.log, events, lens, 2, NULL, &out_string) == EVIDENTIA_INVALID_ARGUMENT &&
              out_string == NULL,
          "an event NULL in a batch");
    /* A path that is not UTF-8, and a wait out of range. */
    evidentia_log *log = NULL;
    CHECK(known(evidentia_log_open("/tmp/\xff\xfe", NULL, 0, &log)) && log == NULL, "a path that is not UTF-8");
    const double waits[] = {-1, 86401, 1e300, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof waits / sizeof *waits; i++) {
        CHECK(evidentia_log_open(fx.log_path, NULL, waits[i], &log) == EVIDENTIA_INVALID_ARGUMENT && log == NULL,
              "wait %g", waits[i]);
    }
    /* Modes and flags that do not exist. */
    char *path = fresh_path("mode");
    CHECK(evidentia_log_create(path, fx.key, NULL, 7, NULL, &log) == EVIDENTIA_INVALID_ARGUMENT && log == NULL, "mode");
    free(path);
    CHECK(known(evidentia_log_append(fx.log, (const uint8_t *)"{}", 2, NULL, NULL, 0xFFFF, &out_string)), "flags");
    evidentia_string_free(out_string);
    CHECK(known(evidentia_signing_key_sign_jws(fx.key, (const uint8_t *)"x", 1, 0xFFFF, text_out, BIG, &text_len)),
          "jws flags");
    /* A NULL out-parameter costs no change: no log is created, none is opened
     * (opening repairs what a crash left). */
    path = fresh_path("not-created");
    CHECK(evidentia_log_create(path, fx.key, NULL, EVIDENTIA_MODE_RECEIPTS, NULL, NULL) == EVIDENTIA_INVALID_ARGUMENT &&
              access(path, F_OK) != 0,
          "a log created for a NULL out");
    free(path);
    CHECK(evidentia_log_open(fx.log_path, NULL, 0, NULL) == EVIDENTIA_INVALID_ARGUMENT, "a log opened for a NULL out");
    /* Indexes and sizes out of range. */
    const uint64_t indexes[] = {1000, UINT64_MAX / 2, UINT64_MAX};
    for (size_t i = 0; i < sizeof indexes / sizeof *indexes; i++) {
        uint64_t n = indexes[i];
        CHECK(known(evidentia_log_receipt(fx.log, n, text_out, BIG, &text_len)), "receipt %llu", (unsigned long long)n);
        CHECK(known(evidentia_log_inclusion_proof(fx.log, n, 0, text_out, BIG, &text_len)), "proof %llu",
              (unsigned long long)n);
        CHECK(known(evidentia_log_inclusion_proof(fx.log, 0, n, text_out, BIG, &text_len)), "proof size %llu",
              (unsigned long long)n);
        CHECK(known(evidentia_log_consistency_proof(fx.log, n, 0, text_out, BIG, &text_len)), "consistency %llu",
              (unsigned long long)n);
        CHECK(known(evidentia_log_consistency_proof(fx.log, 1, n, text_out, BIG, &text_len)), "consistency to %llu",
              (unsigned long long)n);
        path = fresh_path("export");
        CHECK(known(evidentia_log_export_package(fx.log, n, path, &out_string)) && out_string == NULL, "export %llu",
              (unsigned long long)n);
        free(path);
    }
}

int main(void) {
    fixture();
    int functions = 0;
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        const struct spec *s = &specs[k];
        struct call c;
        prepare(s, &c);
        evidentia_result baseline = run(s, &c);
        s->cleanup(&c);
        CHECK(known(baseline), "%s: the valid call gave %u", s->name, (unsigned)baseline);
        size_t needed = needed_size(s);
        null_pointers(s, baseline);
        lengths(s);
        capacities(s, baseline, needed);
        functions++;
    }
    the_rest();
    fixture_free();
    printf("test_pointers: %d functions, %d calls; %d checks, %d failed\n", functions, calls, checks_run,
           checks_failed);
    return checks_failed ? 1 : 0;
}
