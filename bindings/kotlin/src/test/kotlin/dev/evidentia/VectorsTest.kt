// Every file of testvectors/ through the Kotlin bindings, as every binding runs them.
package dev.evidentia

import java.nio.file.Files
import java.nio.file.Path
import java.util.HexFormat
import org.json.JSONArray
import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Test

/** The shared vectors folder (cargo xtask passes it as a system property). */
val VECTORS: Path = Path.of(System.getProperty("evidentia.vectors") ?: error("evidentia.vectors is not set"))

fun load(name: String): JSONObject = JSONObject(Files.readString(VECTORS.resolve(name)))

fun hex(text: String): ByteArray = HexFormat.of().parseHex(text)

fun JSONArray.objects(): List<JSONObject> = (0 until length()).map { getJSONObject(it) }

/** A string member, or null when it is absent or JSON null. */
fun JSONObject.text(name: String): String? = if (isNull(name)) null else getString(name)

fun key(name: String): SigningKey {
    val entry = load("keys.json").getJSONArray("keys").objects().first { it.getString("name") == name }
    return SigningKey.fromJwk(entry.getString("private_jwk"))
}

/** Asserts that [call] throws an EvidentiaException whose code name is [codeName]. */
fun assertCode(codeName: String, message: String, call: () -> Unit) {
    try {
        call()
        fail<Unit>("$message: expected $codeName, nothing was thrown")
    } catch (e: EvidentiaException) {
        assertEquals(codeName, e.codeName(), "$message: ${e.message}")
    }
}

/** The code name of any Evidentia exception, whatever its family. */
fun EvidentiaException.codeName(): String = when (this) {
    is EvidentiaException.Usage -> codeName
    is EvidentiaException.Json -> codeName
    is EvidentiaException.Key -> codeName
    is EvidentiaException.Jws -> codeName
    is EvidentiaException.Record -> codeName
    is EvidentiaException.Verification -> codeName
    is EvidentiaException.Storage -> codeName
    is EvidentiaException.Proof -> codeName
    is EvidentiaException.Internal -> codeName
}

fun tempDir(): Path = Files.createTempDirectory("evidentia-kotlin-")

class VectorsTest {
    /** A verify case: either an error code, or validity and failure codes. */
    private fun expectReport(case: JSONObject, call: () -> Report) {
        val name = case.getString("name")
        if (case.has("error")) {
            assertCode(case.getString("error"), name) { call() }
        } else {
            call().use { report ->
                assertEquals(case.getBoolean("valid"), report.valid(), name)
                assertEquals(case.getJSONArray("failures").map { it as String }, report.failureCodes(), name)
            }
        }
    }

    @Test
    fun canonicalization() {
        val cases = load("canonicalization.json").getJSONArray("cases").objects()
        for (case in cases) {
            val input = hex(case.getString("input_hex"))
            val name = case.getString("name")
            if (case.has("canonical")) {
                assertEquals(case.getString("canonical"), canonicalize(input).decodeToString(), name)
            } else {
                assertCode(case.getString("error"), name) { canonicalize(input) }
            }
        }
        assertEquals(34, cases.size)
    }

    @Test
    fun commitments() {
        val doc = load("commitments.json")
        for (case in doc.getJSONArray("commitments").objects()) {
            val name = case.getString("name")
            val salt = hex(case.getString("salt_hex"))
            val made = commitEvent(case.getString("event"), salt)
            assertEquals(case.getString("commitment"), made.commitment, name)
            assertEquals(case.getString("event_digest"), made.eventDigest, name)
            val expected = case.getJSONArray("disclosures").objects()
            assertEquals(expected.map { it.text("name") }, made.disclosures.map { it.name }, name)
            assertEquals(expected.map { it.getString("disclosure") }, made.disclosures.map { it.disclosure }, name)
            assertEquals(expected.map { it.getString("digest") }, made.disclosures.map { it.digest }, name)
            assertCode("INVALID_ARGUMENT", name) { commitEvent(case.getString("event"), salt.copyOf(15)) }
        }
        for (case in doc.getJSONArray("checks").objects()) {
            val name = case.getString("name")
            val given = case.getJSONArray("disclosures").map { it as String }
            val check = { checkDisclosures(case.getString("event_digest"), case.getString("commitment"), given) }
            if (case.has("error")) {
                assertCode(case.getString("error"), name) { check() }
            } else {
                val shown = check()
                assertTrue(JSONObject(shown.disclosed).similar(case.getJSONObject("disclosed")), name)
                assertEquals(case.getLong("undisclosed"), shown.undisclosed.toLong(), name)
            }
        }
        for (case in doc.getJSONArray("keyed_hashes").objects()) {
            val name = case.getString("name")
            val call = { keyedHash(hex(case.getString("key_hex")), hex(case.getString("data_hex"))) }
            if (case.has("error")) {
                assertCode(case.getString("error"), name) { call() }
            } else {
                assertEquals(case.getString("keyed_hash"), call(), name)
            }
        }
    }

    @Test
    fun digests() {
        val doc = load("digests.json")
        for (case in doc.getJSONArray("json").objects()) {
            assertEquals(case.getString("canonical"), canonicalizeText(case.getString("input")))
            assertEquals(case.getString("digest"), digest(case.getString("input")))
        }
        for (case in doc.getJSONArray("raw").objects()) {
            assertEquals(case.getString("digest"), sha256(hex(case.getString("input_hex"))))
        }
    }

    @Test
    fun keys() {
        val doc = load("keys.json")
        for (entry in doc.getJSONArray("keys").objects()) {
            SigningKey.fromJwk(entry.getString("private_jwk")).use { k ->
                assertEquals(entry.getString("private_jwk"), k.toJwk())
                assertEquals(entry.getString("public_jwk"), k.publicJwk())
                assertEquals(entry.getString("private_pem"), k.toPem())
                assertEquals(entry.getString("public_pem"), k.publicPem())
                assertEquals(entry.getString("kid"), k.kid())
            }
            assertEquals(entry.getString("kid"), jwkThumbprint(entry.getString("public_jwk")))
            assertEquals(entry.getString("kid"), SigningKey.fromPem(entry.getString("private_pem")).kid())
        }
        for (case in doc.getJSONArray("invalid_private_keys").objects()) {
            val input = case.getString("input")
            assertCode(case.getString("error"), case.getString("name")) {
                if (input.startsWith("-")) SigningKey.fromPem(input) else SigningKey.fromJwk(input)
            }
        }
        for (case in doc.getJSONArray("invalid_key_sets").objects()) {
            assertCode(case.getString("error"), case.getString("name")) { verifyJws("a.b.c", case.getString("input")) }
        }
    }

    @Test
    fun jws() {
        val doc = load("jws.json")
        for (case in doc.getJSONArray("sign").objects()) {
            val jws = key(case.getString("key")).signJws(
                hex(case.getString("payload_hex")),
                case.getBoolean("detached"),
                case.getBoolean("unencoded"),
            )
            assertEquals(case.getString("jws"), jws)
        }
        for (case in doc.getJSONArray("verify").objects()) {
            val name = case.getString("name")
            val payload = case.text("payload_hex")?.let(::hex)
            if (case.getBoolean("valid")) {
                val verified = verifyJws(case.getString("jws"), case.getString("jwks"), payload)
                assertArrayEquals(hex(case.getString("verified_payload_hex")), verified.payload, name)
                assertEquals(case.getString("kid"), verified.kid, name)
                assertEquals("ES256", JSONObject(verified.header).getString("alg"), name)
            } else {
                assertCode(case.getString("error"), name) { verifyJws(case.getString("jws"), case.getString("jwks"), payload) }
            }
        }
    }

    @Test
    fun receipts() {
        val doc = load("receipts.json")
        val signer = key(doc.getString("key"))
        val issue = doc.getJSONArray("issue").objects()
        // The records carry fixed past times: the key is valid from the first. The
        // vectors are of version-1 records, whose events are not salted.
        val validFrom = issue.first().getString("time")
        val dir = tempDir().resolve("log").toString()
        Log.create(dir, signer, doc.getString("log_id"), validFrom = validFrom, recordVersion = 1u).use { log ->
            for (entry in issue) {
                assertEquals(entry.getString("receipt"), log.append(entry.getString("event"), entry.text("nonce"), entry.text("time")))
            }
            // The log verifies against the key itself and against its own key history.
            log.verify(signer.publicJwk()).use { assertTrue(it.valid(), it.toText()) }
            log.verify().use { assertTrue(it.valid(), it.toText()) }
        }
        for (case in doc.getJSONArray("verify").objects()) {
            expectReport(case) { verifyReceipt(case.getString("receipt"), case.getString("jwks"), case.text("event")) }
        }
    }

    @Test
    fun logs() {
        val doc = load("logs.json")
        for (case in doc.getJSONArray("cases").objects()) {
            val entries = case.getJSONArray("entries").objects().map { LogEntry(it.getString("receipt"), it.text("event")) }
            verifyLogEntries(entries, doc.getString("jwks")).use { report ->
                assertEquals(case.getBoolean("valid"), report.valid(), case.getString("name"))
                val expected = case.getJSONArray("findings").objects().map { it.getString("code") to it.getLong("index").toULong() }
                assertEquals(expected, report.findings().map { it.name to it.index }, case.getString("name"))
            }
        }
    }

    @Test
    fun merkle() {
        val doc = load("merkle.json")
        val leaves = doc.getJSONArray("leaves").objects().map { hex(it.getString("data_hex")) }
        val roots = doc.getJSONArray("roots").map { java.util.Base64.getDecoder().decode(it as String) }
        for (case in doc.getJSONArray("inclusion").objects()) {
            val proof = JSONObject(case.getString("proof"))
            verifyInclusionProof(case.getString("proof"), leaves[proof.getInt("leaf_index")], roots[proof.getInt("tree_size")])
        }
        for (case in doc.getJSONArray("consistency").objects()) {
            val proof = JSONObject(case.getString("proof"))
            verifyConsistencyProof(case.getString("proof"), roots[proof.getInt("old_size")], roots[proof.getInt("new_size")])
        }
        for (case in doc.getJSONArray("invalid_inclusion").objects()) {
            assertCode(case.getString("error"), case.getString("name")) {
                verifyInclusionProof(case.getString("proof"), leaves[5], roots[13])
            }
        }
    }

    @Test
    fun checkpoints() {
        val doc = load("checkpoints.json")
        for (case in doc.getJSONArray("verify").objects()) {
            val name = case.getString("name")
            if (case.getBoolean("valid")) {
                val checkpoint = verifyCheckpoint(case.getString("note"), doc.getString("jwks"))
                assertEquals(case.getLong("size").toULong(), checkpoint.size, name)
                assertEquals(doc.getString("origin"), checkpoint.origin, name)
                assertEquals(32, checkpoint.root.size, name)
            } else {
                assertCode(case.getString("error"), name) { verifyCheckpoint(case.getString("note"), doc.getString("jwks")) }
            }
        }
    }

    @Test
    fun batchReceipts() {
        val doc = load("batch_receipts.json")
        val dir = tempDir().resolve("log").toString()
        val signer = key(doc.getString("key"))
        Log.create(dir, signer, doc.getString("log_id"), "batch", doc.getString("time"), recordVersion = 1u).use { log ->
            val issue = doc.getJSONArray("issue").objects()
            log.appendBatch(issue.map { it.getString("canonical_event") }, doc.getString("time"))
            issue.forEachIndexed { index, entry -> assertEquals(entry.getString("batch_receipt"), log.receipt(index.toULong())) }
            assertEquals(doc.getString("checkpoint"), log.checkpoint())
            log.verify().use { assertTrue(it.valid(), it.toText()) }
        }
        for (case in doc.getJSONArray("verify").objects()) {
            expectReport(case) { verifyReceipt(case.getString("batch_receipt"), case.getString("jwks"), case.text("event")) }
        }
    }

    @Test
    fun errors() {
        val table = errorCodes().associate { it.code.toInt() to (it.name to it.family) }
        for (entry in load("errors.json").getJSONArray("codes").objects()) {
            assertEquals(entry.getString("name") to entry.getString("family"), table[entry.getInt("code")])
        }
        assertTrue(errorCodes().first { it.name == "EVENT_MISMATCH" }.explanation.contains("not the one that was signed"))
    }

    @Test
    fun externalJcsDocuments() {
        for (name in listOf("arrays", "french", "structures", "unicode", "values", "weird")) {
            val source = Files.readAllBytes(VECTORS.resolve("external/jcs/input/$name.json"))
            val expected = Files.readAllBytes(VECTORS.resolve("external/jcs/output/$name.json"))
            assertArrayEquals(expected, canonicalize(source), name)
        }
    }

    @Test
    fun externalWycheproofEs256Jws() {
        val doc = JSONObject(Files.readString(VECTORS.resolve("external/wycheproof/json_web_signature_test.json")))
        var checked = 0
        for (group in doc.getJSONArray("testGroups").objects()) {
            if (group.getString("comment") !in setOf("es256", "SpecialCaseEs256", "ec_key_for_encryption")) continue
            for (t in group.getJSONArray("tests").objects()) {
                val accepted = try {
                    verifyJws(t.getString("jws"), group.getJSONObject("public").toString())
                    true
                } catch (e: EvidentiaException) {
                    assertFalse(e.codeName().isEmpty())
                    false
                }
                assertEquals(t.getString("result") == "valid", accepted, "tcId ${t.getInt("tcId")}")
                checked += 1
            }
        }
        assertEquals(41, checked)
    }
}
