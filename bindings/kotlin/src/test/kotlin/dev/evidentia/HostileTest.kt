// The hostile-input corpus (testvectors/hostile.json) through every function of the
// Kotlin bindings that takes outside data: each call returns a value or throws an
// EvidentiaException whose code is in the table and is not INTERNAL; nothing else is
// thrown, nothing crashes or hangs.
//
// Text arguments are Strings: bytes that are not UTF-8 arrive as String(bytes,
// UTF_8) makes them (U+FFFD for each bad sequence), and again with one lone
// surrogate per bad byte. UniFFI's generated code refuses a String holding a lone
// surrogate with java.nio.charset.CharacterCodingException before Evidentia is
// called (bindings/uniffi/README.md): that exception is accepted for those Strings
// only.
//
// Note verifier keys (vkey) go into tlog-policies (checkPolicy), checkpoints also to
// checkPolicy and inside a tlog-proof. RFC 3161 responses, requests and certificates
// go to verifyTimestamp (as the response, the request, the roots, the intermediates
// and the pinned TSA certificate). Kinds with no Kotlin entry point are skipped:
// timestamp_token (a bare token is checked inside packages, by the CLI) and package
// (sets of package files, run through the core by the CLI; the package
// functions here run over the conformance packages). Evidence files go to
// verifyEvidenceFile, with the key set each holds and with trusted keys.
package dev.evidentia

import java.nio.charset.CharacterCodingException
import java.util.Base64
import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeFalse
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory

private val CORPUS: JSONObject = load("hostile.json")
private val CONTEXT: JSONObject = CORPUS.getJSONObject("context")
private val CODES: Set<String> = errorCodes().map { it.name }.toSet() - "INTERNAL"
private val SKIPPED = setOf("timestamp_token", "package")
private const val TIME_LIMIT_MS = 5_000L

private fun raw(text: String): ByteArray = Base64.getDecoder().decode(text)

private fun JSONObject.bytes(name: String): ByteArray? = if (isNull(name)) null else raw(getString(name))

/** Bytes as a String, each byte of a sequence that is not UTF-8 a lone surrogate. */
private fun escaped(bytes: ByteArray): String {
    val out = StringBuilder()
    var i = 0
    while (i < bytes.size) {
        val b = bytes[i].toInt() and 0xff
        val (n, min) = when (b) {
            in 0x00..0x7f -> 1 to 0
            in 0xc2..0xdf -> 2 to 0x80
            in 0xe0..0xef -> 3 to 0x800
            in 0xf0..0xf4 -> 4 to 0x10000
            else -> 0 to 0
        }
        var cp = when (n) { 1 -> b; 2 -> b and 0x1f; 3 -> b and 0x0f; else -> b and 0x07 }
        var ok = n > 0 && i + n <= bytes.size
        for (k in 1 until n) {
            if (!ok) break
            val c = bytes[i + k].toInt() and 0xff
            ok = c and 0xc0 == 0x80
            cp = (cp shl 6) or (c and 0x3f)
        }
        ok = ok && cp >= min && cp <= 0x10ffff && cp !in 0xd800..0xdfff
        if (ok) {
            out.appendCodePoint(cp)
            i += n
        } else {
            out.append((0xdc00 + b).toChar())
            i += 1
        }
    }
    return out.toString()
}

/** The String forms of bytes: as Kotlin decodes them, and escaped when that differs. */
private fun texts(bytes: ByteArray): List<String> {
    val lossy = String(bytes, Charsets.UTF_8)
    val strict = escaped(bytes)
    return if (strict == lossy) listOf(lossy) else listOf(lossy, strict)
}

private fun hasLoneSurrogate(text: String): Boolean =
    text.indices.any { i ->
        val c = text[i]
        (c.isHighSurrogate() && (i + 1 >= text.length || !text[i + 1].isLowSurrogate())) ||
            (c.isLowSurrogate() && (i == 0 || !text[i - 1].isHighSurrogate()))
    }

private val JWKS: String = CONTEXT.getString("jwks")
private val EVENT: ByteArray = raw(CONTEXT.getString("event"))
private val LEAF: ByteArray = raw(CONTEXT.getString("leaf"))
private val ROOT: ByteArray = raw(CONTEXT.getString("root"))
private val OLD_ROOT: ByteArray = raw(CONTEXT.getString("old_root"))
private val TSA_DATA: ByteArray = raw(CONTEXT.getString("timestamp_data"))
private val TSA_RESPONSE: ByteArray = raw(CONTEXT.getString("timestamp_response"))
private val TSA_ROOT: ByteArray = raw(CONTEXT.getJSONArray("timestamp_roots").getString(0))
private val TSA_INTERMEDIATE: ByteArray = raw(CONTEXT.getJSONArray("timestamp_intermediates").getString(0))

// A partner's JWS that verifies (RFC 7515 A.3, ES256), for the partner functions.
private val PARTNER: JSONObject =
    load("partner.json").getJSONArray("jws").objects().first { it.getString("source") == "RFC 7515 A.3" }
private val PARTNER_JWS: String = PARTNER.getString("jws")
private val PARTNER_KEYS: String = PARTNER.getJSONObject("keys").toString()
private val PARTNER_INPUT: ByteArray = PARTNER_JWS.split(".").take(2).joinToString(".").encodeToByteArray()
private val PARTNER_SIGNATURE: ByteArray = java.util.Base64.getUrlDecoder().decode(PARTNER_JWS.split(".")[2])

private class Runner {
    val failures = mutableListOf<String>()
    var calls = 0
    val entryPoints = sortedSetOf<String>()

    /** Calls [f]; [strings] are the String arguments that came from the case. */
    fun call(case: String, entry: String, vararg strings: String?, f: () -> Any?) {
        calls++
        entryPoints.add(entry)
        val started = System.currentTimeMillis()
        try {
            when (val result = f()) {
                is Report -> result.use { report ->
                    report.failureCodes().filter { it !in CODES }.forEach { failures.add("$case: $entry reported $it") }
                    report.toJson()
                    report.toText()
                }
                is AutoCloseable -> result.close()
            }
        } catch (e: EvidentiaException) {
            val code = e.codeName()
            if (code !in CODES) failures.add("$case: $entry threw the code $code: ${e.message}")
        } catch (e: CharacterCodingException) {
            if (strings.none { it != null && hasLoneSurrogate(it) }) failures.add("$case: $entry threw $e")
        } catch (e: Throwable) {
            failures.add("$case: $entry threw $e")
        }
        val elapsed = System.currentTimeMillis() - started
        if (elapsed > TIME_LIMIT_MS) failures.add("$case: $entry took $elapsed ms")
    }
}

private val SIGNER = JvmSigner()

private fun receiptLike(run: Runner, name: String, data: ByteArray, event: ByteArray?) {
    for (receipt in texts(data)) {
        val events = event?.let { texts(it) } ?: listOf(null)
        for (eventText in events) {
            run.call(name, "verifyReceipt", receipt, eventText) { verifyReceipt(receipt, JWKS, eventText) }
            run.call(name, "verifyLogEntries", receipt, eventText) { verifyLogEntries(listOf(LogEntry(receipt, eventText)), JWKS) }
        }
        run.call(name, "verifyInclusion", receipt) {
            verifyInclusion(receipt, CONTEXT.getString("inclusion_proof"), CONTEXT.getString("checkpoint"), JWKS)
        }
        run.call(name, "ReceiptChain.resume", receipt) { ReceiptChain.resume(receipt) }
    }
}

private fun evidenceFile(run: Runner, name: String, data: ByteArray) {
    for (evidence in texts(data)) {
        run.call(name, "verifyEvidenceFile", evidence) { verifyEvidenceFile(evidence) }
        run.call(name, "verifyEvidenceFile (trusted keys)", evidence) { verifyEvidenceFile(evidence, JWKS) }
    }
}

private fun checkpointNote(run: Runner, name: String, data: ByteArray) {
    for (note in texts(data)) {
        run.call(name, "verifyCheckpoint", note) { verifyCheckpoint(note, JWKS) }
        run.call(name, "verifyInclusion (the checkpoint)", note) {
            verifyInclusion(CONTEXT.getString("receipt"), CONTEXT.getString("inclusion_proof"), note, JWKS)
        }
        run.call(name, "verifyConsistency (the new checkpoint)", note) {
            verifyConsistency(CONTEXT.getString("consistency_proof"), CONTEXT.getString("old_checkpoint"), note, JWKS)
        }
        run.call(name, "verifyConsistency (the old checkpoint)", note) {
            verifyConsistency(CONTEXT.getString("consistency_proof"), note, CONTEXT.getString("checkpoint"), JWKS)
        }
        run.call(name, "verifyLogEntries (the checkpoint)", note) {
            verifyLogEntries(listOf(), JWKS, listOf(LogCheckpoint(0UL, note)))
        }
        run.call(name, "checkPolicy (the note)", note) { checkPolicy(note, "quorum none\n") }
        val proof = "c2sp.org/tlog-proof@v1\nindex 0\n\n$note"
        run.call(name, "verifyTlogProof (the note)", proof) { verifyTlogProof(proof, ByteArray(0), "quorum none\n") }
    }
}

private fun runCase(run: Runner, case: JSONObject) {
    val kind = case.getString("kind")
    val name = "$kind: ${case.getString("name")}"
    val data = if (case.has("input")) raw(case.getString("input")) else ByteArray(0)
    val second = if (case.has("input2")) raw(case.getString("input2")) else null
    when (kind) {
        "json" -> {
            run.call(name, "canonicalize") { canonicalize(data) }
            for (text in texts(data)) {
                run.call(name, "canonicalizeText", text) { canonicalizeText(text) }
                run.call(name, "digest", text) { digest(text) }
                run.call(name, "readSignedMessage", text) { readSignedMessage(text) }
            }
        }
        "jws" -> for (jws in texts(data)) {
            run.call(name, "verifyJws", jws) { verifyJws(jws, JWKS, second) }
            run.call(name, "verifyPartnerJws", jws) { verifyPartnerJws(jws, PARTNER_KEYS, second) }
        }
        "jwks" -> for (jwks in texts(data)) {
            run.call(name, "verifyReceipt (the key set)", jwks) {
                verifyReceipt(CONTEXT.getString("receipt"), jwks, String(EVENT, Charsets.UTF_8))
            }
            run.call(name, "verifyJws (the key set)", jwks) { verifyJws(CONTEXT.getString("jws"), jwks) }
            run.call(name, "verifyCheckpoint (the key set)", jwks) { verifyCheckpoint(CONTEXT.getString("checkpoint"), jwks) }
            run.call(name, "verifyPartnerJws (the key set)", jwks) { verifyPartnerJws(PARTNER_JWS, jwks) }
        }
        "jwk" -> for (jwk in texts(data)) {
            run.call(name, "jwkThumbprint", jwk) { jwkThumbprint(jwk) }
            run.call(name, "SigningKey.fromJwk", jwk) { SigningKey.fromJwk(jwk) }
            run.call(name, "verifyJws (the key set)", jwk) { verifyJws(CONTEXT.getString("jws"), jwk) }
            run.call(name, "verifyPartnerJws (the key)", jwk) { verifyPartnerJws(PARTNER_JWS, jwk) }
            for (alg in listOf("ES256", "RS256", "PS384", "EdDSA")) {
                run.call(name, "verifyPartnerSignature ($alg)", jwk) {
                    verifyPartnerSignature(alg, jwk, PARTNER_INPUT, PARTNER_SIGNATURE)
                }
            }
        }
        "pem" -> for (pem in texts(data)) run.call(name, "SigningKey.fromPem", pem) { SigningKey.fromPem(pem) }
        "receipt", "batch_receipt" -> receiptLike(run, name, data, second)
        "evidence" -> evidenceFile(run, name, data)
        "inclusion_proof", "inclusion" -> {
            val note = second?.let { escaped(it) } ?: CONTEXT.getString("checkpoint")
            for (proof in texts(data)) {
                run.call(name, "verifyInclusionProof", proof) { verifyInclusionProof(proof, LEAF, ROOT) }
                run.call(name, "verifyInclusion", proof, note) { verifyInclusion(CONTEXT.getString("receipt"), proof, note, JWKS) }
            }
        }
        "consistency_proof", "consistency" -> {
            val note = second?.let { escaped(it) } ?: CONTEXT.getString("checkpoint")
            for (proof in texts(data)) {
                run.call(name, "verifyConsistencyProof", proof) { verifyConsistencyProof(proof, OLD_ROOT, ROOT) }
                run.call(name, "verifyConsistency", proof, note) {
                    verifyConsistency(proof, CONTEXT.getString("old_checkpoint"), note, JWKS)
                }
            }
        }
        "checkpoint" -> checkpointNote(run, name, data)
        "log_entries" -> {
            val entries = case.getJSONArray("entries").objects().map { e ->
                LogEntry(String(e.bytes("entry")!!, Charsets.UTF_8), e.bytes("event")?.let { String(it, Charsets.UTF_8) })
            }
            val checkpoints = case.getJSONArray("checkpoints").objects().map { c ->
                LogCheckpoint(c.getLong("size").toULong(), String(raw(c.getString("note")), Charsets.UTF_8))
            }
            run.call(name, "verifyLogEntries") { verifyLogEntries(entries, JWKS, checkpoints) }
        }
        "log_id" -> for (id in texts(data)) run.call(name, "ReceiptChain", id) { ReceiptChain(id) }
        "time" -> for (time in texts(data)) {
            ReceiptChain("hostile.example/log").use { chain ->
                run.call(name, "ReceiptChain.issue (time)", time) { chain.issue(SIGNER, "{}", null, time) }
            }
        }
        "nonce" -> for (nonce in texts(data)) {
            ReceiptChain("hostile.example/log").use { chain ->
                run.call(name, "ReceiptChain.issue (nonce)", nonce) { chain.issue(SIGNER, "{}", nonce, "2026-01-01T00:00:00Z") }
            }
        }
        "vkey" -> for (vkey in texts(data)) {
            val logPolicy = "log $vkey\nquorum none\n"
            run.call(name, "checkPolicy (a log key)", logPolicy) { checkPolicy(CONTEXT.getString("checkpoint"), logPolicy) }
            val witnessPolicy = "witness w $vkey\nquorum w\n"
            run.call(name, "checkPolicy (a witness key)", witnessPolicy) {
                checkPolicy(CONTEXT.getString("checkpoint"), witnessPolicy)
            }
        }
        "timestamp_response" ->
            run.call(name, "verifyTimestamp (the response)") { verifyTimestamp(data, TSA_DATA, TSA_ROOT, TSA_INTERMEDIATE) }
        "timestamp_request" -> {
            run.call(name, "verifyTimestamp (the request)") {
                verifyTimestamp(TSA_RESPONSE, TSA_DATA, TSA_ROOT, TSA_INTERMEDIATE, request = data)
            }
            run.call(name, "timestampRequest (the data)") { timestampRequest(data) }
        }
        "certificate" -> {
            run.call(name, "verifyTimestamp (the roots)") { verifyTimestamp(TSA_RESPONSE, TSA_DATA, data) }
            run.call(name, "verifyTimestamp (the intermediates)") { verifyTimestamp(TSA_RESPONSE, TSA_DATA, TSA_ROOT, data) }
            run.call(name, "verifyTimestamp (the TSA certificate)") {
                verifyTimestamp(TSA_RESPONSE, TSA_DATA, TSA_ROOT, TSA_INTERMEDIATE, tsaCertificate = data)
            }
        }
        else -> assertTrue(kind in SKIPPED, "unknown kind $kind")
    }
}

class HostileTest {
    @Test
    fun theCorpusIsWhole() {
        assertEquals(CORPUS.getInt("total"), CORPUS.getJSONArray("cases").length())
        assertTrue(CORPUS.getInt("total") >= 3000)
    }

    @TestFactory
    fun noHostileInputThrowsAnythingButAnEvidentiaExceptionWithACode(): List<DynamicTest> {
        val counts = CORPUS.getJSONObject("counts")
        val cases = CORPUS.getJSONArray("cases").objects()
        return counts.keySet().sorted().map { kind ->
            DynamicTest.dynamicTest(kind) {
                assumeFalse(kind in SKIPPED, "$kind: no Kotlin entry point")
                val run = Runner()
                val ofKind = cases.filter { it.getString("kind") == kind }
                assertEquals(counts.getInt(kind), ofKind.size)
                ofKind.forEach { runCase(run, it) }
                println("$kind: ${ofKind.size} cases, ${run.calls} calls through ${run.entryPoints}")
                assertEquals(listOf<String>(), run.failures.take(50), "${run.failures.size} failures")
            }
        }
    }
}
