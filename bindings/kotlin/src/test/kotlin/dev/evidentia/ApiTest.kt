// The Kotlin API beyond the vectors: logs on disk end to end, errors by family with
// their codes, garbage into every entry point, and objects used after close.
package dev.evidentia

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

class ApiTest {
    @Test
    fun randomizedSigningIsOptIn() {
        val key = SigningKey.generate()
        val fast = key.withRandomizedSignatures()
        assertEquals(listOf(false, true, key.kid()), listOf(key.isRandomized(), fast.isRandomized(), fast.kid()))
        val payload = """{"amount":"1250.00"}""".toByteArray()
        assertEquals(key.signJws(payload), key.signJws(payload))
        val signatures = List(3) { fast.signJws(payload) }
        assertEquals(3, signatures.toSet().size)
        for (jws in signatures) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(payload, verifyJws(jws, key.publicJwk()).payload)
        }
    }

    @Test
    fun aLogOnDiskFromAppendToProofs() {
        val key = SigningKey.generate()
        val dir = tempDir().resolve("payments").toString()
        val created = Log.create(dir, key, "example.com/payments")
        assertCode("LOG_LOCKED", "a second writer") { Log.open(dir, key) }
        created.use { log ->
            val receipt = log.append("""{"type":"payment.approved","amount":"1250.00"}""", "req-1")
            log.appendBatch(listOf("""{"n":2}""", """{"n":3}"""))
            assertEquals(3uL, log.length())
            assertEquals("receipts", log.mode())
            assertEquals("example.com/payments", log.logId())
            val checkpoint = log.checkpoint()
            verifyInclusion(receipt, log.inclusionProof(0uL), checkpoint, log.keys())
            assertEquals(3uL, verifyCheckpoint(checkpoint, log.keys()).size)
            verifyReceipt(receipt, key.publicJwk(), """{"amount":"1250.00","type":"payment.approved"}""").use {
                assertTrue(it.valid(), it.toText())
                assertTrue(it.summary().startsWith("VALID"))
                assertEquals("receipt", it.subject())
                assertEquals(4, it.checks().size)
                assertEquals("example.com/payments", it.logId())
            }
            log.verify().use { assertTrue(it.valid(), it.toText()) }

            // An evidence package: cargo xtask test kotlin then runs its verify.sh
            // with OpenSSL alone.
            val out = java.nio.file.Path.of(System.getProperty("evidentia.out") ?: error("evidentia.out is not set"))
            java.nio.file.Files.createDirectories(out)
            val packageDir = out.resolve("kotlin-package").toString()
            val archive = log.exportPackage(0uL, packageDir)
            assertEquals("$packageDir.tar.gz", archive)
            assertTrue(java.nio.file.Files.isRegularFile(java.nio.file.Path.of(packageDir, "verify.sh")))
            assertCode("INVALID_ARGUMENT", "export over an existing folder") { log.exportPackage(0uL, packageDir) }
            assertCode("INVALID_ARGUMENT", "export a record beyond the log") { log.exportPackage(9uL, "$packageDir-9") }

            val newKey = SigningKey.generate()
            log.rotate(newKey)
            log.append("""{"n":4}""")
        }
        // `use` closed the log: the writer lock is free again, and the object is gone.
        Log.open(dir, SigningKey.generate()).use { assertEquals(4uL, it.length()) }
        verifyLog(dir).use { assertTrue(it.valid(), it.toText()); assertEquals(4uL, it.records()) }
        Log.open(dir).use { log ->
            assertCode("KEY_NOT_PRIVATE", "append without a key") { log.append("{}") }
            val old = log.consistencyProof(3uL)
            assertTrue(old.contains("old_size"), old)
        }
        val report = verifyLog(dir)
        report.close()
        assertThrows(IllegalStateException::class.java) { report.valid() }
        assertCode("LOG_EXISTS", "create over an existing log") { Log.create(dir, key) }
        assertCode("LOG_NOT_FOUND", "open a folder without a log") { Log.open(tempDir().toString()) }
        assertCode("INVALID_ARGUMENT", "an unknown mode") { Log.create(tempDir().resolve("x").toString(), key, null, "fast") }
    }

    @Test
    fun errorsCarryTheirFamilyCodeAndReason() {
        val e = assertThrows(EvidentiaException.Json::class.java) { canonicalizeText("""{"a":1,"a":2}""") }
        assertEquals(201.toUShort(), e.code)
        assertEquals("JSON_DUPLICATE_KEY", e.codeName)
        assertTrue(e.reason.isNotEmpty())
        assertTrue(e.message!!.contains("JSON_DUPLICATE_KEY"), e.message)
        val families = errorCodes().map { it.family }.toSet()
        assertEquals(setOf("Usage", "Json", "Key", "Jws", "Record", "Verification", "Storage", "Proof", "Internal"), families)
        assertTrue(errorCodes().all { it.explanation.isNotEmpty() && it.description.isNotEmpty() })
        assertEquals(version(), "0.1.0")
    }

    @Test
    fun keyMaterialNeverAppearsInMessages() {
        val key = SigningKey.generate()
        val d = org.json.JSONObject(key.toJwk()).getString("d")
        assertFalse(key.toString().contains(d), key.toString())
        val broken = key.toJwk().replace("\"crv\":\"P-256\"", "\"crv\":\"P-999\"")
        val e = assertThrows(EvidentiaException::class.java) { SigningKey.fromJwk(broken) }
        assertFalse(e.message!!.contains(d), e.message)
    }

    @Test
    fun garbageIntoEveryEntryPointIsACodedError() {
        val jwks = """{"keys":[]}"""
        val garbage = listOf("", "{", "null", "a.b.c", "\u0000", "{\"keys\":7}", "x".repeat(10_000))
        val calls: List<Pair<String, (String) -> Any>> = listOf(
            "canonicalize" to { g -> canonicalize(g.encodeToByteArray()) },
            "digest" to { g -> digest(g) },
            "jwkThumbprint" to { g -> jwkThumbprint(g) },
            "fromJwk" to { g -> SigningKey.fromJwk(g) },
            "fromPem" to { g -> SigningKey.fromPem(g) },
            "verifyJws" to { g -> verifyJws(g, jwks) },
            "verifyJws jwks" to { g -> verifyJws("a.b.c", g) },
            "verifyReceipt" to { g -> verifyReceipt(g, jwks) },
            "verifyCheckpoint" to { g -> verifyCheckpoint(g, jwks) },
            "verifyInclusion" to { g -> verifyInclusion(g, g, g, jwks) },
            "verifyConsistency" to { g -> verifyConsistency(g, g, g, jwks) },
            "verifyInclusionProof" to { g -> verifyInclusionProof(g, ByteArray(0), ByteArray(32)) },
            "verifyConsistencyProof" to { g -> verifyConsistencyProof(g, ByteArray(32), ByteArray(32)) },
            "verifyLog" to { g -> verifyLog(tempDir().resolve(g.take(50).ifEmpty { "none" }.replace("\u0000", "0")).toString()) },
            "resume" to { g -> ReceiptChain.resume(g) },
        )
        for ((name, call) in calls) {
            for (g in garbage) {
                val outcome = runCatching { call(g) }
                // Either a coded Evidentia error or, for text that happens to be valid
                // (canonicalize("null")), a result; never another exception or a crash.
                outcome.exceptionOrNull()?.let { e ->
                    assertTrue(e is EvidentiaException, "$name(${g.take(20)}): $e")
                    assertTrue((e as EvidentiaException).codeName().isNotEmpty())
                }
            }
        }
        val proof = load("merkle.json").getJSONArray("inclusion").getJSONObject(0).getString("proof")
        assertCode("INVALID_ARGUMENT", "a 31-byte root") { verifyInclusionProof(proof, ByteArray(0), ByteArray(31)) }
        // A lone surrogate cannot become UTF-8: UniFFI's encoder refuses it, never replaces it.
        assertThrows(java.nio.charset.CharacterCodingException::class.java) { canonicalizeText("\"\uD800\"") }
        assertEquals("\"\uD83D\uDE00\"", canonicalizeText("\"\uD83D\uDE00\""))
        verifyLogEntries(listOf(LogEntry("garbage", null)), jwks).use {
            assertFalse(it.valid())
            assertEquals(listOf("JWS_MALFORMED"), it.failureCodes())
        }
    }
}
