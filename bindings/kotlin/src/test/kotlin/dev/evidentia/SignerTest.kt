// A Signer implemented in Kotlin with java.security, as an Android Keystore signer
// would be: the private key stays in the JVM, Evidentia makes the records and checks
// every signature. The receipts are then verified by the CLI and the Python package.
package dev.evidentia

import java.math.BigInteger
import java.nio.file.Files
import java.nio.file.Path
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec
import java.util.Base64
import java.util.concurrent.TimeUnit
import org.json.JSONArray
import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** A P-256 key pair generated in the JVM, signing with the given JCA algorithm. */
class JvmSigner(
    val pair: KeyPair = newPair(),
    private val algorithm: String = "SHA256withECDSA",
) : Signer {
    override fun publicJwk(): String {
        val point = (pair.public as ECPublicKey).w
        return JSONObject()
            .put("kty", "EC")
            .put("crv", "P-256")
            .put("x", coordinate(point.affineX))
            .put("y", coordinate(point.affineY))
            .toString()
    }

    override fun sign(message: ByteArray): ByteArray =
        Signature.getInstance(algorithm).run {
            initSign(pair.private)
            update(message)
            sign()
        }

    companion object {
        fun newPair(): KeyPair =
            KeyPairGenerator.getInstance("EC").run {
                initialize(ECGenParameterSpec("secp256r1"))
                generateKeyPair()
            }

        /** A coordinate as 32 big-endian bytes, base64url without padding (RFC 7518 §6.2.1.2). */
        private fun coordinate(value: BigInteger): String {
            val bytes = value.toByteArray().takeLast(32).toByteArray()
            val padded = ByteArray(32 - bytes.size) + bytes
            return Base64.getUrlEncoder().withoutPadding().encodeToString(padded)
        }
    }
}

class SignerTest {
    private val signer = JvmSigner()
    private val jwks = """{"keys":[${signer.publicJwk()}]}"""
    private val events = listOf(
        """{"type":"payment.approved","amount":"1250.00","currency":"EUR","by":"ana"}""",
        """{"type":"contract.signed","document":"sha256:00ff","by":"ana"}""",
        """{"type":"payment.approved","amount":"0.10","currency":"EUR","note":"café ✓"}""",
    )

    private fun time(second: Int) = "2026-11-22T09:00:%02dZ".format(second)

    @Test
    fun receiptsSignedInKotlinVerifyEverywhere() {
        val chain = ReceiptChain("kotlin.evidentia.dev/device")
        val receipts = events.mapIndexed { i, event -> chain.issue(signer, event, "req-$i", time(i)) }.toMutableList()
        assertEquals(3uL, chain.length())

        // Randomized ECDSA: the same record signed again gives another signature.
        val again = ReceiptChain("kotlin.evidentia.dev/device").issue(signer, events[0], "req-0", time(0))
        assertEquals(receipts[0].substringBeforeLast('.'), again.substringBeforeLast('.'))
        assertTrue(receipts[0] != again)

        // After a restart, the chain continues from its newest receipt.
        val resumed = ReceiptChain.resume(receipts.last())
        assertEquals(3uL, resumed.length())
        val fourth = """{"type":"session.closed"}"""
        // The same key signing in the 64-byte R || S form (as WebCrypto does) is accepted too.
        receipts += resumed.issue(JvmSigner(signer.pair, "SHA256withECDSAinP1363Format"), fourth, null, time(9))
        val allEvents = events + fourth

        for ((receipt, event) in receipts.zip(allEvents)) {
            verifyReceipt(receipt, jwks, event).use { assertTrue(it.valid(), it.toText()) }
        }
        verifyLogEntries(receipts.zip(allEvents).map { (r, e) -> LogEntry(r, canonicalizeText(e)) }, jwks).use {
            assertTrue(it.valid(), it.toText())
            assertEquals(4uL, it.records())
        }
        verifyReceipt(receipts[1], jwks, events[0]).use { assertEquals(listOf("EVENT_MISMATCH"), it.failureCodes()) }

        val out = writeEvidence(receipts, allEvents)
        verifyWithCli(out, receipts.size)
        verifyWithPython(out)
    }

    @Test
    fun aSignatureThatDoesNotCheckOutMakesNoReceipt() {
        val chain = ReceiptChain("kotlin.evidentia.dev/failures")
        val throwing = object : Signer {
            override fun publicJwk() = signer.publicJwk()
            override fun sign(message: ByteArray): ByteArray = throw IllegalStateException("user cancelled the fingerprint prompt")
        }
        val garbage = object : Signer {
            override fun publicJwk() = signer.publicJwk()
            override fun sign(message: ByteArray) = byteArrayOf(0x30, 0x01, 0x00)
        }
        val otherKey = object : Signer {
            private val other = JvmSigner()
            override fun publicJwk() = signer.publicJwk()
            override fun sign(message: ByteArray) = other.sign(message)
        }
        val otherMessage = object : Signer {
            override fun publicJwk() = signer.publicJwk()
            override fun sign(message: ByteArray) = signer.sign(message + 0)
        }
        for ((name, bad) in listOf("throws" to throwing, "garbage" to garbage, "other key" to otherKey, "other message" to otherMessage)) {
            assertCode("SIGNER_FAILED", name) { chain.issue(bad, events[0], null, time(0)) }
        }
        val thrown = assertThrows(EvidentiaException.Key::class.java) { chain.issue(throwing, events[0]) }
        assertEquals(305.toUShort(), thrown.code)
        assertTrue(thrown.reason.contains("fingerprint prompt"), thrown.reason)
        val badJwk = object : Signer {
            override fun publicJwk() = """{"kty":"EC","crv":"P-384"}"""
            override fun sign(message: ByteArray) = signer.sign(message)
        }
        assertCode("KEY_UNSUPPORTED", "a P-384 key") { chain.issue(badJwk, events[0]) }
        assertCode("JSON_SYNTAX", "an event that is not JSON") { chain.issue(signer, "{", null, time(0)) }
        assertCode("TIME_INVALID", "a time that is not RFC 3339 UTC") { chain.issue(signer, events[0], null, "yesterday") }
        assertEquals(0uL, chain.length(), "no failure advanced the chain")

        chain.issue(signer, events[0], null, time(5))
        assertCode("TIME_REFUSED", "a time before the previous record's") { chain.issue(signer, events[1], null, time(4)) }
        assertCode("LOG_ID_INVALID", "a log id with a space") { ReceiptChain("not a log id") }
        assertCode("JWS_MALFORMED", "resuming from garbage") { ReceiptChain.resume("garbage") }
        assertEquals(1uL, chain.length())
    }

    private fun writeEvidence(receipts: List<String>, allEvents: List<String>): Path {
        val out = Path.of(System.getProperty("evidentia.out") ?: error("evidentia.out is not set")).resolve("kotlin-signer")
        Files.createDirectories(out)
        Files.writeString(out.resolve("keys.jwks"), jwks)
        receipts.zip(allEvents).forEachIndexed { i, (receipt, event) ->
            Files.writeString(out.resolve("receipt-$i.jws"), receipt)
            Files.writeString(out.resolve("event-$i.json"), event)
        }
        Files.writeString(
            out.resolve("evidence.json"),
            JSONObject().put("jwks", jwks).put("receipts", JSONArray(receipts)).put("events", JSONArray(allEvents)).toString(),
        )
        return out
    }

    private fun run(vararg command: String): Pair<Int, String> {
        val process = ProcessBuilder(*command).redirectErrorStream(true).start()
        val output = process.inputStream.bufferedReader().readText()
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "${command.toList()} did not finish")
        return process.exitValue() to output
    }

    private fun tool(property: String): String {
        val path = System.getProperty(property)
        assertFalse(path.isNullOrEmpty(), "$property is not set: cargo xtask test kotlin passes it")
        return path!!
    }

    private fun verifyWithCli(out: Path, count: Int) {
        val cli = tool("evidentia.cli")
        for (i in 0 until count) {
            val (code, output) = run(
                cli, "receipt", "verify", out.resolve("receipt-$i.jws").toString(),
                "--jwks", out.resolve("keys.jwks").toString(), "--event", out.resolve("event-$i.json").toString(),
            )
            assertEquals(0, code, output)
            assertTrue(output.startsWith("VALID"), output)
        }
        val (code, output) = run(
            cli, "receipt", "verify", out.resolve("receipt-0.jws").toString(),
            "--jwks", out.resolve("keys.jwks").toString(), "--event", out.resolve("event-1.json").toString(),
        )
        assertEquals(1, code, output)
        assertTrue(output.contains("EVENT_MISMATCH"), output)
    }

    private fun verifyWithPython(out: Path) {
        val script = """
            import json, sys, evidentia
            doc = json.load(open(sys.argv[1]))
            for receipt, event in zip(doc["receipts"], doc["events"]):
                report = evidentia.verify_receipt(receipt, doc["jwks"], event)
                assert report.valid, report.to_text()
            entries = [(r.encode(), evidentia.canonicalize(e)) for r, e in zip(doc["receipts"], doc["events"])]
            log = evidentia.verify_log_entries(entries, doc["jwks"])
            assert log.valid and log.records == len(entries), log.to_text()
            print("python verified", len(entries), "receipts")
        """.trimIndent()
        val (code, output) = run(tool("evidentia.python"), "-c", script, out.resolve("evidence.json").toString())
        assertEquals(0, code, output)
        assertTrue(output.contains("python verified 4 receipts"), output)
    }
}
