// Logs kept in PostgreSQL, opened by URL through the same Log class as a directory.
// `cargo xtask test` starts a throwaway PostgreSQL 15 cluster and names it in
// EVIDENTIA_TEST_POSTGRES (a URL ending in '/', with empty databases "receipts" and
// "batch"); without it these tests skip, unless EVIDENTIA_REQUIRE_POSTGRES is set.
package dev.evidentia

import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.params.ParameterizedTest
import org.junit.jupiter.params.provider.ValueSource

class PostgresTest {
    private fun server(): String {
        val server = System.getenv("EVIDENTIA_TEST_POSTGRES")
        if (server.isNullOrEmpty()) {
            if (!System.getenv("EVIDENTIA_REQUIRE_POSTGRES").isNullOrEmpty()) {
                fail<Unit>("EVIDENTIA_REQUIRE_POSTGRES is set but EVIDENTIA_TEST_POSTGRES is not")
            }
            assumeTrue(false, "no PostgreSQL server for the tests (EVIDENTIA_TEST_POSTGRES)")
        }
        return server!!
    }

    @ParameterizedTest
    @ValueSource(strings = ["receipts", "batch"])
    fun aPostgresLogAppendsProvesAndVerifiesLikeADirectory(mode: String) {
        val url = server() + mode
        val key = SigningKey.generate()
        val logId = "example.com/kotlin-pg-$mode"
        Log.create(url, key, logId, mode).use { log ->
            assertEquals(listOf(logId, mode, 0uL), listOf(log.logId(), log.mode(), log.length()))
            val first = log.append("""{"n":0}""", "order-0")
            // A second handle on the same log, as another instance of a service: both append.
            Log.open(url, key).use { other ->
                assertEquals(2, other.appendBatch(listOf("""{"n":1}""", """{"n":2}""")).size)
                assertEquals(3uL, other.length())
            }
            log.append("""{"n":3}""")
            assertEquals(4uL, log.length())
            // A retried request: the same acknowledgement, no second record.
            assertEquals(first, log.append("""{"n":0}""", "order-0", idempotent = true))
            val refused = assertThrows(EvidentiaException.Storage::class.java) { log.append("""{"n":9}""", "order-0") }
            assertEquals("NONCE_IN_USE", refused.codeName)
            assertEquals(0uL, log.findNonce("order-0"))
            assertNull(log.findNonce("nope"))
            val checkpoint = log.checkpoint()
            assertTrue(checkpoint.startsWith("$logId\n4\n"), checkpoint)
            val jwks = log.keys()
            for (index in 0uL until 4uL) {
                verifyInclusion(log.receipt(index), log.inclusionProof(index), checkpoint, jwks)
            }
            if (mode == "receipts") assertEquals(first, log.receipt(0uL))
            assertEquals(4, JSONObject(log.consistencyProof(1uL)).getInt("new_size"))
            val report = log.verify(jwks)
            assertTrue(report.valid(), report.summary())
            assertEquals(4uL, report.records())
            assertEquals(logId, report.logId())
            // What only a directory log does yet is refused, with a message that says so.
            val e = assertThrows(EvidentiaException.Usage::class.java) { log.addIndexField("n") }
            assertEquals("INVALID_ARGUMENT", e.codeName)
            assertTrue(e.reason.contains("PostgreSQL"), e.reason)
        }
        // Keys rotate as in a directory: the retired key's records keep verifying.
        val newKey = SigningKey.generate()
        Log.open(url, key).use { log ->
            log.rotate(newKey)
            log.append("""{"n":4}""")
            assertTrue(log.verify().valid())
            val current = assertThrows(EvidentiaException.Usage::class.java) { log.revoke(newKey.kid(), "2020-01-01T00:00:00Z", null) }
            assertEquals("INVALID_ARGUMENT", current.codeName)
            // An evidence package of a record before the rotation carries the key
            // record and verifies on its own.
            val dir = java.nio.file.Files.createTempDirectory("evidentia-kotlin-pg-")
            try {
                val report = verifyPackage(log.exportPackage(1uL, dir.resolve("package").toString()))
                assertTrue(report.valid, report.checks.toString())
            } finally {
                dir.toFile().deleteRecursively()
            }
            // Salted by default (version 2): an event is erased in one transaction, a
            // held record is not, and every receipt stays valid.
            val salt = log.salt(5uL)
            val receipt = log.receipt(5uL)
            verifyReceipt(receipt, log.keys(), """{"n":4}""", salt).use { assertTrue(it.valid(), it.toText()) }
            log.hold(5uL, "case 2026-17")
            assertEquals(listOf(5uL to "case 2026-17"), log.holds().map { it.seq to it.reason })
            assertCode("ERASURE_REFUSED", "erase a held record") { log.erase(5uL, "GDPR Art. 17") }
            assertTrue(log.release(5uL))
            assertTrue(log.erase(5uL, "GDPR Art. 17 request 118").isNotEmpty())
            assertCode("RECORD_ERASED", "erase twice") { log.erase(5uL, "again") }
            log.verify().use {
                assertTrue(it.valid(), it.toText())
                assertTrue(it.toJson().contains("\"erased\":[{\"by\":6,\"index\":5,"), it.toJson())
            }
            verifyReceipt(receipt, log.keys(), """{"n":4}""", salt).use { assertTrue(it.valid(), it.toText()) }
        }
        val exists = assertThrows(EvidentiaException.Storage::class.java) { Log.create(url, key) }
        assertEquals("LOG_EXISTS", exists.codeName)
        Log.open(url).use { reader ->
            assertEquals(7uL, reader.length())
            assertTrue(reader.verify().valid())
            assertThrows(EvidentiaException.Key::class.java) { reader.append("""{"n":5}""") }
        }
    }
}
