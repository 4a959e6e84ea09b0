/* The hostile-input corpus (testvectors/hostile.json) through every function of the
 * C ABI that takes outside data: each call returns EVIDENTIA_OK or a result code
 * that evidentia_result_name knows, never EVIDENTIA_INTERNAL, and never crashes
 * (valgrind runs this: no invalid read or write, no leak).
 *
 * Note verifier keys (vkey) go into tlog-policies (evidentia_policy_check),
 * checkpoints also to evidentia_policy_check and inside a tlog-proof
 * (evidentia_tlog_proof_verify). RFC 3161 responses, requests and certificates go
 * to evidentia_verify_timestamp (as the response, the request, the roots, the
 * intermediates and the pinned TSA certificate). Kinds with no C entry point are
 * skipped: timestamp_token (a bare token is checked inside packages, by the CLI)
 * and package (sets of package files, run through the core by the CLI;
 * evidentia_verify_package runs over the conformance packages). Evidence files go to
 * evidentia_verify_evidence_file, with the key set each holds and with trusted keys.
 * log_id, time and nonce go to evidentia_log_create and evidentia_log_append, the C
 * functions that take them; inputs holding a NUL byte are skipped there, since a C
 * string cannot carry one. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <unistd.h>

#include "common.h"

static int calls = 0;
static int entry_points_used[64];
static const char *entry_point_names[64];
static int entry_points = 0;

static void used(const char *entry) {
    for (int i = 0; i < entry_points; i++) {
        if (strcmp(entry_point_names[i], entry) == 0) {
            entry_points_used[i]++;
            return;
        }
    }
    entry_point_names[entry_points] = entry;
    entry_points_used[entry_points++] = 1;
}

/* A result must be OK or a code of the table, and not INTERNAL. */
static void check(const char *name, const char *entry, evidentia_result r) {
    calls++;
    used(entry);
    CHECK(r == EVIDENTIA_OK || (strcmp(name_of(r), "UNKNOWN") != 0 && r != EVIDENTIA_INTERNAL), "%s: %s gave %u (%s)",
          name, entry, (unsigned)r, name_of(r));
}

/* A report's failure codes must be codes of the table, and not INTERNAL; frees it. */
static void check_report(const char *name, const char *entry, evidentia_result r, evidentia_report *report) {
    check(name, entry, r);
    if (r != EVIDENTIA_OK) {
        CHECK(report == NULL, "%s: %s left a report after an error", name, entry);
        return;
    }
    uint32_t codes[64];
    size_t n = 0;
    CHECK(evidentia_report_failure_codes(report, codes, 64, &n) == EVIDENTIA_OK, "%s: failure codes", name);
    for (size_t i = 0; i < n && i < 64; i++) {
        CHECK(strcmp(evidentia_result_name(codes[i]), "UNKNOWN") != 0 && codes[i] != EVIDENTIA_INTERNAL,
              "%s: %s reported %u", name, entry, codes[i]);
    }
    CHECK(evidentia_report_to_json(report, out, BIG, &out_len) == EVIDENTIA_OK, "%s: report json", name);
    CHECK(evidentia_report_to_text(report, out, BIG, &out_len) == EVIDENTIA_OK, "%s: report text", name);
    evidentia_report_free(report);
}

/* Calls `call`, which gives a report through `&report`, and checks both. */
#define CHECK_REPORT(name, entry, call)             \
    do {                                            \
        evidentia_report *report = NULL;            \
        evidentia_result result_ = (call);          \
        check_report(name, entry, result_, report); \
    } while (0)

/* A member holding base64 bytes, decoded (NULL when absent). */
static unsigned char *bytes_of(const cJSON *obj, const char *member, size_t *len) {
    const char *text = str(obj, member);
    *len = 0;
    return text ? unbase64(text, len) : NULL;
}

struct context {
    evidentia_key_set *keys;
    const char *jws, *receipt, *inclusion, *checkpoint, *consistency, *old_checkpoint;
    unsigned char *event, *leaf, *root, *old_root;
    size_t event_len, leaf_len, root_len, old_root_len;
    evidentia_signing_key *key;
    char *dir;
    /* A partner's JWS that verifies (RFC 7515 A.3, ES256), its key set, signing input and signature. */
    const char *partner_jws;
    char *partner_keys;
    unsigned char *partner_input, *partner_signature;
    size_t partner_input_len, partner_signature_len;
    /* An RFC 3161 response that verifies for its data with its root and intermediate. */
    unsigned char *tsa_data, *tsa_response, *tsa_root, *tsa_intermediate;
    size_t tsa_data_len, tsa_response_len, tsa_root_len, tsa_intermediate_len;
};

static void context_free(struct context *x) {
    evidentia_key_set_free(x->keys);
    evidentia_signing_key_free(x->key);
    free(x->event);
    free(x->leaf);
    free(x->root);
    free(x->old_root);
    free(x->tsa_data);
    free(x->tsa_response);
    free(x->tsa_root);
    free(x->tsa_intermediate);
}

/* RFC 3161 material given as one of the inputs of evidentia_verify_timestamp. */
static void timestamps(const char *name, const char *kind, struct context *x, const unsigned char *in, size_t len) {
    char out[8192];
    size_t out_len;
    if (strcmp(kind, "timestamp_response") == 0) {
        check(name, "evidentia_verify_timestamp (the response)",
              evidentia_verify_timestamp(in, len, x->tsa_data, x->tsa_data_len, x->tsa_root, x->tsa_root_len,
                                         x->tsa_intermediate, x->tsa_intermediate_len, NULL, 0, NULL, 0, out,
                                         sizeof out, &out_len));
    } else if (strcmp(kind, "timestamp_request") == 0) {
        check(name, "evidentia_verify_timestamp (the request)",
              evidentia_verify_timestamp(x->tsa_response, x->tsa_response_len, x->tsa_data, x->tsa_data_len,
                                         x->tsa_root, x->tsa_root_len, x->tsa_intermediate, x->tsa_intermediate_len,
                                         NULL, 0, in, len, out, sizeof out, &out_len));
        unsigned char request[256];
        check(name, "evidentia_timestamp_request (the data)",
              evidentia_timestamp_request(in, len, NULL, request, sizeof request, &out_len));
    } else {
        check(name, "evidentia_verify_timestamp (the roots)",
              evidentia_verify_timestamp(x->tsa_response, x->tsa_response_len, x->tsa_data, x->tsa_data_len, in, len,
                                         NULL, 0, NULL, 0, NULL, 0, out, sizeof out, &out_len));
        check(name, "evidentia_verify_timestamp (the intermediates)",
              evidentia_verify_timestamp(x->tsa_response, x->tsa_response_len, x->tsa_data, x->tsa_data_len,
                                         x->tsa_root, x->tsa_root_len, in, len, NULL, 0, NULL, 0, out, sizeof out,
                                         &out_len));
        check(name, "evidentia_verify_timestamp (the TSA certificate)",
              evidentia_verify_timestamp(x->tsa_response, x->tsa_response_len, x->tsa_data, x->tsa_data_len,
                                         x->tsa_root, x->tsa_root_len, x->tsa_intermediate, x->tsa_intermediate_len, in,
                                         len, NULL, 0, out, sizeof out, &out_len));
    }
}

static void verifier_of_one(const char *name, struct context *x, const uint8_t *entry, size_t len,
                            const uint8_t *event, size_t event_len) {
    evidentia_log_verifier *verifier = NULL;
    check(name, "evidentia_log_verifier_new", evidentia_log_verifier_new(x->keys, &verifier));
    check(name, "evidentia_log_verifier_push", evidentia_log_verifier_push(verifier, entry, len, event, event_len));
    CHECK_REPORT(name, "evidentia_log_verifier_finish", evidentia_log_verifier_finish(verifier, &report));
    evidentia_log_verifier_free(verifier);
}

static void with_keys(const char *name, struct context *x, evidentia_key_set *keys) {
    CHECK_REPORT(name, "evidentia_verify_receipt (with the key set)",
                 evidentia_verify_receipt(x->receipt, strlen(x->receipt), keys, x->event, x->event_len, &report));
    check(name, "evidentia_verify_jws (with the key set)",
          evidentia_verify_jws(x->jws, strlen(x->jws), keys, NULL, 0, (uint8_t *)out, BIG, &out_len));
    uint64_t size = 0;
    check(name, "evidentia_verify_checkpoint (with the key set)",
          evidentia_verify_checkpoint(x->checkpoint, strlen(x->checkpoint), keys, &size));
}

static void receipt_like(const char *name, struct context *x, const unsigned char *in, size_t len,
                         const unsigned char *in2, size_t len2) {
    CHECK_REPORT(name, "evidentia_verify_receipt",
                 evidentia_verify_receipt((const char *)in, len, x->keys, in2, len2, &report));
    check(name, "evidentia_verify_inclusion",
          evidentia_verify_inclusion((const char *)in, len, x->inclusion, strlen(x->inclusion), x->checkpoint,
                                     strlen(x->checkpoint), x->keys));
    verifier_of_one(name, x, in, len, in2, len2);
}

static void evidence_file(const char *name, struct context *x, const unsigned char *in, size_t len) {
    CHECK_REPORT(name, "evidentia_verify_evidence_file", evidentia_verify_evidence_file(in, len, NULL, &report));
    CHECK_REPORT(name, "evidentia_verify_evidence_file (trusted keys)",
                 evidentia_verify_evidence_file(in, len, x->keys, &report));
}

/* prefix, then len bytes of in, then suffix, in a new buffer (its length in *out_len). */
static char *concat(const char *prefix, const unsigned char *in, size_t len, const char *suffix, size_t *out_len) {
    size_t a = strlen(prefix), c = strlen(suffix);
    char *buf = malloc(a + len + c + 1);
    memcpy(buf, prefix, a);
    if (len) memcpy(buf + a, in, len);
    memcpy(buf + a + len, suffix, c + 1);
    *out_len = a + len + c;
    return buf;
}

static void witness_policies(const char *name, struct context *x, const unsigned char *in, size_t len) {
    char result[4096];
    size_t result_len = 0, policy_len = 0;
    char *policy = concat("log ", in, len, "\nquorum none\n", &policy_len);
    check(name, "evidentia_policy_check (a log key)",
          evidentia_policy_check(x->checkpoint, strlen(x->checkpoint), policy, policy_len, result, sizeof result,
                                 &result_len));
    free(policy);
    policy = concat("witness w ", in, len, "\nquorum w\n", &policy_len);
    check(name, "evidentia_policy_check (a witness key)",
          evidentia_policy_check(x->checkpoint, strlen(x->checkpoint), policy, policy_len, result, sizeof result,
                                 &result_len));
    free(policy);
}

static void checkpoint_note(const char *name, struct context *x, const unsigned char *in, size_t len) {
    uint64_t size = 0;
    check(name, "evidentia_verify_checkpoint", evidentia_verify_checkpoint((const char *)in, len, x->keys, &size));
    check(name, "evidentia_verify_checkpoint (no size)",
          evidentia_verify_checkpoint((const char *)in, len, x->keys, NULL));
    check(name, "evidentia_verify_inclusion (the checkpoint)",
          evidentia_verify_inclusion(x->receipt, strlen(x->receipt), x->inclusion, strlen(x->inclusion),
                                     (const char *)in, len, x->keys));
    check(name, "evidentia_verify_consistency (the new checkpoint)",
          evidentia_verify_consistency(x->consistency, strlen(x->consistency), x->old_checkpoint,
                                       strlen(x->old_checkpoint), (const char *)in, len, x->keys));
    check(name, "evidentia_verify_consistency (the old checkpoint)",
          evidentia_verify_consistency(x->consistency, strlen(x->consistency), (const char *)in, len, x->checkpoint,
                                       strlen(x->checkpoint), x->keys));
    char result[4096];
    size_t result_len = 0, proof_len = 0;
    const char *none = "quorum none\n";
    check(name, "evidentia_policy_check (the note)",
          evidentia_policy_check((const char *)in, len, none, strlen(none), result, sizeof result, &result_len));
    char *proof = concat("c2sp.org/tlog-proof@v1\nindex 0\n\n", in, len, "", &proof_len);
    check(name, "evidentia_tlog_proof_verify (the note)",
          evidentia_tlog_proof_verify(proof, proof_len, NULL, 0, none, strlen(none), result, sizeof result,
                                      &result_len));
    free(proof);
    evidentia_log_verifier *verifier = NULL;
    check(name, "evidentia_log_verifier_new", evidentia_log_verifier_new(x->keys, &verifier));
    check(name, "evidentia_log_verifier_push_checkpoint",
          evidentia_log_verifier_push_checkpoint(verifier, (const char *)in, len));
    CHECK_REPORT(name, "evidentia_log_verifier_finish", evidentia_log_verifier_finish(verifier, &report));
    evidentia_log_verifier_free(verifier);
}

static void log_entries(const char *name, struct context *x, const cJSON *c) {
    evidentia_log_verifier *verifier = NULL;
    check(name, "evidentia_log_verifier_new", evidentia_log_verifier_new(x->keys, &verifier));
    const cJSON *checkpoints = cJSON_GetObjectItem(c, "checkpoints");
    int pushed_checkpoints[256] = {0};
    int count = cJSON_GetArraySize(checkpoints);
    /* Each checkpoint after exactly its number of entries; the others at the end. */
    double read = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "entries")) {
        size_t len, event_len;
        unsigned char *entry = bytes_of(e, "entry", &len);
        unsigned char *event = bytes_of(e, "event", &event_len);
        check(name, "evidentia_log_verifier_push", evidentia_log_verifier_push(verifier, entry, len, event, event_len));
        free(entry);
        free(event);
        read++;
        for (int i = 0; i < count && i < 256; i++) {
            const cJSON *cp = cJSON_GetArrayItem(checkpoints, i);
            if (!pushed_checkpoints[i] && cJSON_GetObjectItem(cp, "size")->valuedouble == read) {
                size_t note_len;
                unsigned char *note = bytes_of(cp, "note", &note_len);
                check(name, "evidentia_log_verifier_push_checkpoint",
                      evidentia_log_verifier_push_checkpoint(verifier, (const char *)note, note_len));
                free(note);
                pushed_checkpoints[i] = 1;
            }
        }
    }
    for (int i = 0; i < count && i < 256; i++) {
        if (!pushed_checkpoints[i]) {
            size_t note_len;
            unsigned char *note = bytes_of(cJSON_GetArrayItem(checkpoints, i), "note", &note_len);
            check(name, "evidentia_log_verifier_push_checkpoint",
                  evidentia_log_verifier_push_checkpoint(verifier, (const char *)note, note_len));
            free(note);
        }
    }
    CHECK_REPORT(name, "evidentia_log_verifier_finish", evidentia_log_verifier_finish(verifier, &report));
    evidentia_log_verifier_free(verifier);
}

/* A NUL-terminated copy, or NULL when the bytes hold a NUL (a C string cannot). */
static char *c_string(const unsigned char *in, size_t len) {
    if (memchr(in, 0, len)) return NULL;
    char *s = malloc(len + 1);
    memcpy(s, in, len);
    s[len] = 0;
    return s;
}

static evidentia_log *chain_log = NULL;
static int skipped_nul = 0;

static void chain(const char *name, const char *kind, struct context *x, const unsigned char *in, size_t len) {
    char *text = c_string(in, len);
    if (!text) {
        skipped_nul++;
        return;
    }
    static int n = 0;
    char path[1300];
    if (strcmp(kind, "log_id") == 0) {
        snprintf(path, sizeof path, "%s/log-%d", x->dir, n++);
        evidentia_log *log = NULL;
        evidentia_result r = evidentia_log_create(path, x->key, text, EVIDENTIA_MODE_RECEIPTS, NULL, &log);
        check(name, "evidentia_log_create (log id)", r);
        if (r == EVIDENTIA_OK) {
            char *receipt = NULL;
            check(name, "evidentia_log_append", evidentia_log_append(log, (const uint8_t *)"{}", 2, NULL, NULL, 0,
                                                                     &receipt));
            evidentia_string_free(receipt);
        }
        evidentia_log_free(log);
    } else if (strcmp(kind, "time") == 0) {
        char *receipt = NULL;
        check(name, "evidentia_log_append (time)",
              evidentia_log_append(chain_log, (const uint8_t *)"{}", 2, NULL, text, 0, &receipt));
        evidentia_string_free(receipt);
        snprintf(path, sizeof path, "%s/valid-from-%d", x->dir, n++);
        evidentia_log *log = NULL;
        check(name, "evidentia_log_create (valid from)",
              evidentia_log_create(path, x->key, NULL, EVIDENTIA_MODE_BATCH, text, &log));
        evidentia_log_free(log);
    } else {
        char *receipt = NULL;
        check(name, "evidentia_log_append (nonce)",
              evidentia_log_append(chain_log, (const uint8_t *)"{}", 2, text, NULL, EVIDENTIA_APPEND_IDEMPOTENT,
                                   &receipt));
        evidentia_string_free(receipt);
        bool found = false;
        uint64_t index = 0;
        check(name, "evidentia_log_find_nonce", evidentia_log_find_nonce(chain_log, text, &found, &index));
    }
    free(text);
}

static int run_case(struct context *x, const cJSON *c) {
    const char *kind = str(c, "kind");
    char name[600];
    snprintf(name, sizeof name, "%s: %.500s", kind, str(c, "name"));
    size_t len, len2;
    unsigned char *in = bytes_of(c, "input", &len);
    unsigned char *in2 = bytes_of(c, "input2", &len2);
    int ran = 1;
    if (strcmp(kind, "json") == 0) {
        check(name, "evidentia_canonicalize", evidentia_canonicalize(in, len, out, BIG, &out_len));
        check(name, "evidentia_digest", evidentia_digest(in, len, out, BIG, &out_len));
        check(name, "evidentia_sha256", evidentia_sha256(in, len, out, BIG, &out_len));
        check(name, "evidentia_read_signed_message", evidentia_read_signed_message(in, len, out, BIG, &out_len));
    } else if (strcmp(kind, "jws") == 0) {
        check(name, "evidentia_verify_partner_jws",
              evidentia_verify_partner_jws((const char *)in, len, x->partner_keys, strlen(x->partner_keys), in2, len2,
                                           (uint8_t *)out, BIG, &out_len));
        check(name, "evidentia_verify_jws",
              evidentia_verify_jws((const char *)in, len, x->keys, in2, len2, (uint8_t *)out, BIG, &out_len));
        check(name, "evidentia_verify_jws (no payload out)",
              evidentia_verify_jws((const char *)in, len, x->keys, in2, len2, NULL, 0, NULL));
    } else if (strcmp(kind, "jwks") == 0) {
        evidentia_key_set *keys = NULL;
        evidentia_result r = evidentia_key_set_from_json((const char *)in, len, &keys);
        check(name, "evidentia_key_set_from_json", r);
        if (r == EVIDENTIA_OK) with_keys(name, x, keys);
        evidentia_key_set_free(keys);
        check(name, "evidentia_verify_partner_jws (the key set)",
              evidentia_verify_partner_jws(x->partner_jws, strlen(x->partner_jws), (const char *)in, len, NULL, 0,
                                           NULL, 0, NULL));
    } else if (strcmp(kind, "jwk") == 0 || strcmp(kind, "pem") == 0) {
        evidentia_signing_key *key = NULL;
        evidentia_result r = evidentia_signing_key_from_text((const char *)in, len, &key);
        check(name, "evidentia_signing_key_from_text", r);
        if (r == EVIDENTIA_OK) {
            check(name, "evidentia_signing_key_kid", evidentia_signing_key_kid(key, out, BIG, &out_len));
        }
        evidentia_signing_key_free(key);
        if (strcmp(kind, "jwk") == 0) {
            check(name, "evidentia_jwk_thumbprint",
                  evidentia_jwk_thumbprint((const char *)in, len, out, BIG, &out_len));
            evidentia_key_set *keys = NULL;
            r = evidentia_key_set_from_json((const char *)in, len, &keys);
            check(name, "evidentia_key_set_from_json", r);
            if (r == EVIDENTIA_OK) with_keys(name, x, keys);
            evidentia_key_set_free(keys);
            check(name, "evidentia_verify_partner_jws (the key)",
                  evidentia_verify_partner_jws(x->partner_jws, strlen(x->partner_jws), (const char *)in, len, NULL, 0,
                                               NULL, 0, NULL));
            const char *algs[] = {"ES256", "RS256", "PS384", "EdDSA"};
            for (size_t a = 0; a < sizeof algs / sizeof *algs; a++) {
                check(name, "evidentia_verify_partner_signature",
                      evidentia_verify_partner_signature(algs[a], (const char *)in, len, x->partner_input,
                                                         x->partner_input_len, x->partner_signature,
                                                         x->partner_signature_len));
            }
        }
    } else if (strcmp(kind, "receipt") == 0 || strcmp(kind, "batch_receipt") == 0) {
        receipt_like(name, x, in, len, in2, len2);
    } else if (strcmp(kind, "evidence") == 0) {
        evidence_file(name, x, in, len);
    } else if (strcmp(kind, "inclusion_proof") == 0 || strcmp(kind, "inclusion") == 0) {
        check(name, "evidentia_verify_inclusion_proof",
              evidentia_verify_inclusion_proof((const char *)in, len, x->leaf, x->leaf_len, x->root));
        const char *note = in2 ? (const char *)in2 : x->checkpoint;
        size_t note_len = in2 ? len2 : strlen(x->checkpoint);
        check(name, "evidentia_verify_inclusion",
              evidentia_verify_inclusion(x->receipt, strlen(x->receipt), (const char *)in, len, note, note_len,
                                         x->keys));
    } else if (strcmp(kind, "consistency_proof") == 0 || strcmp(kind, "consistency") == 0) {
        check(name, "evidentia_verify_consistency_proof",
              evidentia_verify_consistency_proof((const char *)in, len, x->old_root, x->root));
        const char *note = in2 ? (const char *)in2 : x->checkpoint;
        size_t note_len = in2 ? len2 : strlen(x->checkpoint);
        check(name, "evidentia_verify_consistency",
              evidentia_verify_consistency((const char *)in, len, x->old_checkpoint, strlen(x->old_checkpoint), note,
                                           note_len, x->keys));
    } else if (strcmp(kind, "checkpoint") == 0) {
        checkpoint_note(name, x, in, len);
    } else if (strcmp(kind, "vkey") == 0) {
        witness_policies(name, x, in, len);
    } else if (strcmp(kind, "log_entries") == 0) {
        log_entries(name, x, c);
    } else if (strcmp(kind, "log_id") == 0 || strcmp(kind, "time") == 0 || strcmp(kind, "nonce") == 0) {
        chain(name, kind, x, in, len);
    } else if (strcmp(kind, "timestamp_response") == 0 || strcmp(kind, "timestamp_request") == 0 ||
               strcmp(kind, "certificate") == 0) {
        timestamps(name, kind, x, in, len);
    } else {
        ran = 0; /* No C entry point: see the top of this file. */
    }
    free(in);
    free(in2);
    return ran;
}

int main(void) {
    cJSON *corpus = read_vectors("hostile.json");
    const cJSON *ctx = cJSON_GetObjectItem(corpus, "context");
    struct context x = {0};
    const char *jwks = str(ctx, "jwks");
    CHECK(evidentia_key_set_from_json(jwks, strlen(jwks), &x.keys) == EVIDENTIA_OK, "context key set");
    const char *jwk = str(ctx, "private_jwk");
    CHECK(evidentia_signing_key_from_text(jwk, strlen(jwk), &x.key) == EVIDENTIA_OK, "context key");
    x.jws = str(ctx, "jws");
    x.receipt = str(ctx, "receipt");
    x.inclusion = str(ctx, "inclusion_proof");
    x.checkpoint = str(ctx, "checkpoint");
    x.consistency = str(ctx, "consistency_proof");
    x.old_checkpoint = str(ctx, "old_checkpoint");
    x.event = bytes_of(ctx, "event", &x.event_len);
    x.leaf = bytes_of(ctx, "leaf", &x.leaf_len);
    x.root = bytes_of(ctx, "root", &x.root_len);
    x.old_root = bytes_of(ctx, "old_root", &x.old_root_len);
    x.tsa_data = bytes_of(ctx, "timestamp_data", &x.tsa_data_len);
    x.tsa_response = bytes_of(ctx, "timestamp_response", &x.tsa_response_len);
    x.tsa_root = unbase64(cJSON_GetArrayItem(cJSON_GetObjectItem(ctx, "timestamp_roots"), 0)->valuestring, &x.tsa_root_len);
    x.tsa_intermediate = unbase64(cJSON_GetArrayItem(cJSON_GetObjectItem(ctx, "timestamp_intermediates"), 0)->valuestring,
                                  &x.tsa_intermediate_len);
    cJSON *partner = read_vectors("partner.json");
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(partner, "jws")) {
        if (strcmp(str(p, "source"), "RFC 7515 A.3") == 0) break;
    }
    CHECK(p != NULL, "the partner JWS of RFC 7515 A.3");
    x.partner_jws = str(p, "jws");
    x.partner_keys = cJSON_PrintUnformatted(cJSON_GetObjectItem(p, "keys"));
    const char *last_dot = strrchr(x.partner_jws, '.');
    x.partner_input_len = (size_t)(last_dot - x.partner_jws);
    x.partner_input = (unsigned char *)strndup(x.partner_jws, x.partner_input_len);
    char *signature = strdup(last_dot + 1);
    for (char *q = signature; *q; q++) {
        if (*q == '-') *q = '+';
        if (*q == '_') *q = '/';
    }
    x.partner_signature = unbase64(signature, &x.partner_signature_len);
    free(signature);
    x.dir = strdup("/tmp/evidentia-c-hostile-XXXXXX");
    if (!mkdtemp(x.dir)) return 2;
    char path[1200];
    snprintf(path, sizeof path, "%s/chain", x.dir);
    CHECK(evidentia_log_create(path, x.key, "hostile.example/log", EVIDENTIA_MODE_RECEIPTS, "2000-01-01T00:00:00Z",
                               &chain_log) == EVIDENTIA_OK,
          "the log for times and nonces");

    int cases = 0, ran = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(corpus, "cases")) {
        cases++;
        ran += run_case(&x, c);
    }
    CHECK(cases == cJSON_GetObjectItem(corpus, "total")->valueint, "the corpus has its total of cases");
    evidentia_log_free(chain_log);
    char command[1300];
    snprintf(command, sizeof command, "rm -rf '%s'", x.dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", x.dir);
    free(x.dir);
    context_free(&x);
    cJSON_free(x.partner_keys);
    free(x.partner_input);
    free(x.partner_signature);
    cJSON_Delete(partner);
    cJSON_Delete(corpus);
    printf("test_hostile: %d cases (%d with a C entry point, %d C strings with a NUL skipped), %d calls through %d "
           "entry points; %d checks, %d failed\n",
           cases, ran, skipped_nul, calls, entry_points, checks_run, checks_failed);
    return checks_failed ? 1 : 0;
}
