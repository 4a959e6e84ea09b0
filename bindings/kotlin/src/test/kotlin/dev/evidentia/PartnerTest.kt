// Signatures by other parties (SPEC.md §21): the shared vectors of testvectors/partner.json,
// signed messages recorded in a log, found by an indexed field and checked again.
package dev.evidentia

import java.util.Base64
import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

class PartnerTest {
    private fun codeOf(call: () -> Unit): String? =
        try {
            call()
            null
        } catch (e: EvidentiaException) {
            e.codeName()
        }

    @Test
    fun partnerVectors() {
        val doc = load("partner.json")
        val keys = doc.getJSONArray("keys").objects().map { it.toString() }
        val signatures = doc.getJSONArray("signatures").objects()
        var signaturesRun = 0
        for (case in signatures) {
            val got = codeOf {
                verifyPartnerSignature(
                    case.getString("alg"),
                    keys[case.getInt("key")],
                    hex(case.getString("message")),
                    hex(case.getString("signature")),
                )
            }
            assertEquals(case.text("code"), got, case.getString("source"))
            signaturesRun++
        }
        val jwsCases = doc.getJSONArray("jws").objects()
        var jwsRun = 0
        for (case in jwsCases) {
            val payload = case.text("payload")?.let { Base64.getUrlDecoder().decode(it) }
            val got = codeOf {
                val verified = verifyPartnerJws(case.getString("jws"), case.getJSONObject("keys").toString(), payload)
                if (payload != null) assertArrayEquals(payload, verified.payload, case.getString("source"))
            }
            assertEquals(case.text("code"), got, case.getString("source"))
            jwsRun++
        }
        assertTrue(signatures.isNotEmpty() && jwsCases.isNotEmpty())
        assertEquals(signatures.size, signaturesRun)
        assertEquals(jwsCases.size, jwsRun)
        println("partner.json: $signaturesRun signature cases, $jwsRun JWS cases")
    }

    @Test
    fun signedMessagesAreRecordedFoundAndCheckedAgain() {
        val partner = SigningKey.generate()
        val jwk = partner.publicJwk()
        val payload = """{"amount":100,"instruction_id":"INS-1"}"""
        val jws = partner.signJws(payload.encodeToByteArray())
        val verified = verifyPartnerJws(jws, jwk)
        assertEquals("ES256", verified.alg)
        assertEquals(jwkThumbprint(jwk), verified.keyThumbprint)
        assertEquals(payload, verified.payload.decodeToString())
        assertEquals("ES256", JSONObject(verified.header).getString("alg"))

        val dir = tempDir().resolve("log").toString()
        val key = SigningKey.generate()
        Log.create(dir, key, validFrom = "2024-01-01T00:00:00Z", indexFields = listOf("instruction_id")).use { log ->
            val ack = log.recordMessage(jws, jwk, provenance = """{"partner_id":"issuer"}""", time = "2024-05-06T07:08:09Z")
            assertTrue(ack.startsWith("eyJ"))
            log.append("""{"instruction_id":"INS-1","note":"paid"}""")
            log.recordMessage(jws, jwk, direction = "outbound", link = 0uL)
            assertEquals(listOf(0uL, 1uL, 2uL), log.find("instruction_id", "INS-1"))
            assertEquals(emptyList<ULong>(), log.find("instruction_id", "INS-9"))
            assertCode("FIELD_NOT_INDEXED", "a field not indexed") { log.find("amount", "100") }
            log.addIndexField("amount")
            assertEquals(listOf(0uL, 2uL), log.find("amount", "100"))

            val shown = JSONObject(log.message(0uL)!!)
            assertEquals("inbound", shown.getString("direction"))
            assertEquals("issuer", shown.getJSONObject("provenance").getString("partner_id"))
            assertEquals("2024-05-06T07:08:09Z", shown.getJSONObject("verification").getString("verified_at"))
            assertNull(log.message(1uL))
            assertEquals(0, JSONObject(log.message(2uL)!!).getJSONObject("link").getInt("seq"))

            val checked = JSONObject(log.verifyMessage(0uL))
            assertTrue(checked.getBoolean("valid"))
            assertEquals("VALID", checked.getString("status"))
            assertCode("INVALID_ARGUMENT", "an ordinary event") { log.verifyMessage(1uL) }

            val tampered = jws.dropLast(2) + (if (jws[jws.length - 2] == 'A') "B" else "A") + jws.last()
            assertCode("SIGNATURE_INVALID", "a tampered JWS") { log.recordMessage(tampered, jwk) }
            log.recordMessage(tampered, jwk, recordFailure = true)
            assertEquals("INVALID (as recorded)", JSONObject(log.verifyMessage(3uL)).getString("status"))
            log.verify().use { assertTrue(it.valid(), it.toText()) }
        }
        assertNull(readSignedMessage("""{"a":1}"""))
        assertCode("MESSAGE_MALFORMED", "a malformed message") { readSignedMessage("""{"evidentia_signed_message":{}}""") }
        assertCode("JWS_UNSUPPORTED_ALGORITHM", "alg none") {
            verifyPartnerSignature("none", jwk, ByteArray(1), ByteArray(64))
        }
        assertCode("KEY_ALGORITHM_MISMATCH", "an EC key for RS256") {
            verifyPartnerSignature("RS256", jwk, ByteArray(1), ByteArray(64))
        }
    }
}
