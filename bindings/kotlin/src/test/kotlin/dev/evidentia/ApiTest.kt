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
            val salt = log.salt(0uL)
            assertEquals(16, salt?.size, "a new log's records are of version 2, salted")
            verifyReceipt(receipt, key.publicJwk(), """{"amount":"1250.00","type":"payment.approved"}""", salt).use {
                assertTrue(it.valid(), it.toText())
                assertTrue(it.summary().startsWith("VALID"))
                assertEquals("receipt", it.subject())
                assertEquals(5, it.checks().size) // format, key, signature, event, message
                assertEquals("example.com/payments", it.logId())
            }
            log.verify().use { assertTrue(it.valid(), it.toText()); assertEquals(0uL, it.firstRecord()) }
            // From the checkpoint signed at 3 records: only what follows it.
            log.append("""{"n":3.5}""")
            log.verify(null, checkpoint).use {
                assertTrue(it.valid(), it.toText())
                assertEquals(listOf(3uL, 1uL), listOf(it.firstRecord(), it.records()))
            }
            assertEquals(3uL, verifyLog(dir, null, checkpoint).use { it.firstRecord() })
            assertCode("CHECKPOINT_MALFORMED", "garbage for a checkpoint") { verifyLog(dir, null, "garbage") }

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
        // Five events and the rotation's key record (SPEC §23).
        Log.open(dir, SigningKey.generate()).use { assertEquals(6uL, it.length()) }
        verifyLog(dir).use { assertTrue(it.valid(), it.toText()); assertEquals(6uL, it.records()) }
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
    fun aNonceIsUsedOnceAndARetryGetsTheOriginalReceipt() {
        val key = SigningKey.generate()
        val dir = tempDir().resolve("log").toString()
        Log.create(dir, key, "example.com/nonces").use { log ->
            val first = log.append("""{"order":1}""", "order-1")
            val refused = assertThrows(EvidentiaException.Storage::class.java) { log.append("""{"order":1}""", "order-1") }
            assertEquals("NONCE_IN_USE", refused.codeName)
            assertTrue(refused.reason.contains("record 0"), refused.reason)
            assertEquals(1uL, log.length())
            // A retry of the same request gets the original receipt, and appends nothing.
            assertEquals(first, log.append("""{"order":1}""", "order-1", idempotent = true))
            assertEquals(first, log.append("""{ "order": 1.0 }""", "order-1", null, true))
            assertEquals(1uL, log.length())
            // Another event under the same nonce is refused, idempotent or not.
            assertCode("NONCE_IN_USE", "another event") { log.append("""{"order":2}""", "order-1", idempotent = true) }
            assertEquals(1uL, log.length())
            assertEquals(0uL, log.findNonce("order-1"))
            assertEquals(null, log.findNonce("unknown"))
            log.append("""{"order":2}""", "order-2")
            assertEquals(1uL, log.findNonce("order-2"))
            // A batch takes one nonce or null for each event; a retried batch gets
            // the original receipts and appends only what is new.
            val batch = log.appendBatch(listOf("""{"order":3}""", """{"n":4}"""), nonces = listOf("order-3", null))
            val retried = log.appendBatch(
                listOf("""{"order":3}""", """{"order":5}"""), nonces = listOf("order-3", "order-5"), idempotent = true,
            )
            assertEquals(batch[0], retried[0])
            assertEquals(listOf(2uL, 4uL), listOf("order-3", "order-5").map { log.findNonce(it) })
            assertCode("INVALID_ARGUMENT", "fewer nonces than events") {
                log.appendBatch(listOf("{}", "{}"), nonces = listOf("order-6"))
            }
            assertCode("NONCE_IN_USE", "a batch nonce in use") { log.appendBatch(listOf("""{"order":3}"""), nonces = listOf("order-3")) }
            assertEquals(5uL, log.length())
        }
        Log.open(dir).use { reader ->
            assertEquals(listOf(0uL, 1uL, null), listOf("order-1", "order-2", "x").map { reader.findNonce(it) })
        }
    }

    @Test
    fun recordTimesAreCheckedAgainstTheKeyAndTheLastRecord() {
        val key = SigningKey.generate()
        Log.create(tempDir().resolve("log").toString(), key).use { log ->
            // Before the key became valid (the log's creation), or far ahead of the clock.
            for (time in listOf("2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z")) {
                val e = assertThrows(EvidentiaException.Record::class.java) { log.append("""{"n":1}""", null, time) }
                assertEquals("TIME_REFUSED", e.codeName, time)
            }
            assertCode("TIME_REFUSED", "a batch before the key") { log.appendBatch(listOf("""{"n":1}"""), "2000-01-01T00:00:00Z") }
            assertEquals(0uL, log.length())
        }
        // A key valid from an earlier time takes records of that time, in order.
        Log.create(tempDir().resolve("log").toString(), key, validFrom = "2020-01-01T00:00:00Z").use { log ->
            log.append("""{"n":1}""", time = "2020-06-01T00:00:00Z")
            assertCode("TIME_REFUSED", "before the last record") { log.append("""{"n":2}""", time = "2020-05-01T00:00:00Z") }
            log.appendBatch(listOf("""{"n":2}""", """{"n":3}"""), "2020-07-01T00:00:00Z")
            assertEquals(3uL, log.length())
            log.verify().use { assertTrue(it.valid(), it.toText()) }
        }
        assertCode("TIME_INVALID", "a valid_from that is no time") {
            Log.create(tempDir().resolve("log").toString(), key, validFrom = "yesterday")
        }
    }

    @Test
    fun openingALockedLogWaitsThenFailsAndACleanLogNeedsNoRepair() {
        val key = SigningKey.generate()
        val dir = tempDir().resolve("log").toString()
        Log.create(dir, key).use { log ->
            val clean = org.json.JSONObject(log.recovery())
            assertFalse(clean.getBoolean("repaired"))
            assertEquals(0, clean.getJSONArray("messages").length())
            val started = System.nanoTime()
            val e = assertThrows(EvidentiaException.Storage::class.java) { Log.open(dir, key, 0.2) }
            assertEquals("LOG_LOCKED", e.codeName)
            assertTrue(e.reason.contains("waited"), e.reason)
            assertTrue(System.nanoTime() - started >= 200_000_000L)
            for (wait in listOf(-1.0, Double.POSITIVE_INFINITY, Double.NaN, 86_401.0)) {
                assertCode("INVALID_ARGUMENT", "wait $wait") { Log.open(dir, key, wait) }
            }
        }
        // Once the writer is gone, a waiting open gets the log, with nothing to repair.
        Log.open(dir, key, waitSeconds = 0.2).use { log ->
            val recovery = org.json.JSONObject(log.recovery())
            assertFalse(recovery.getBoolean("repaired"))
            assertEquals(0, recovery.getJSONArray("messages").length())
            assertEquals(0, recovery.getInt("truncated_bytes"))
            assertEquals(0, recovery.getInt("unsealed_records"))
        }
    }

    @Test
    fun revokingARetiredKeyIsAKeyRecordAndAnEditedKeySetIsCaught() {
        val (oldKey, newKey) = SigningKey.generate() to SigningKey.generate()
        val dir = tempDir().resolve("log").toString()
        // Two seconds from now, in whole seconds: after the retired key's last record.
        val later = java.time.Instant.now().plusSeconds(2).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString()
        Log.create(dir, oldKey, null, "receipts").use { log ->
            log.append("""{"n":1}""")
            log.rotate(newKey)
            assertCode("INVALID_ARGUMENT", "revoke the current key") { log.revoke(newKey.kid(), later, null) }
            assertCode("TIME_INVALID", "revoke at a time that is not one") { log.revoke(oldKey.kid(), "yesterday", null) }
            assertCode("KEY_NOT_FOUND", "revoke an unknown key") { log.revoke("no-such-kid", later, null) }
            log.revoke(oldKey.kid(), later, "superseded")
            assertCode("INVALID_ARGUMENT", "revoke twice") { log.revoke(oldKey.kid(), later, null) }
            assertTrue(log.keys().contains("\"reason\":\"superseded\""), log.keys())
            assertEquals(3uL, log.length())
            log.verify().use { assertTrue(it.valid(), it.toText()) }
        }
        val jwks = java.nio.file.Path.of(dir, "keys.jwks")
        java.nio.file.Files.writeString(jwks, java.nio.file.Files.readString(jwks).replace(Regex(""",\"revoked\":\{[^}]*\}"""), ""))
        verifyLog(dir).use { assertEquals(listOf("KEY_HISTORY_MISMATCH"), it.failureCodes()) }
    }

    @Test
    fun anErasedEventIsInNoFileAndTheLogStaysValid() {
        val key = SigningKey.generate()
        val dir = tempDir().resolve("log")
        val secret = "Mary-Jackson-44c0"
        fun holding() = java.nio.file.Files.walk(dir).use { paths ->
            paths.filter { java.nio.file.Files.isRegularFile(it) }
                .filter { String(java.nio.file.Files.readAllBytes(it), Charsets.ISO_8859_1).contains(secret) }.count()
        }
        Log.create(dir.toString(), key, null, "receipts", null, listOf("name"), 2u).use { log ->
            for (name in listOf("Bob", secret, "Carol")) log.append("""{"name":"$name"}""")
            assertEquals(1L, holding())
            log.hold(1uL, "case 2026-17")
            assertEquals(listOf(1uL to "case 2026-17"), log.holds().map { it.seq to it.reason })
            assertCode("ERASURE_REFUSED", "erase a held record") { log.erase(1uL, "GDPR Art. 17") }
            assertTrue(log.release(1uL))
            assertFalse(log.release(1uL))
            log.checkpoint()
            val packaged = verifyPackage(log.exportPackage(2uL, dir.resolveSibling("package").toString(), listOf("name")))
            assertTrue(packaged.valid, packaged.json)
            assertTrue(packaged.json.contains("\"disclosed\":{\"disclosed\":{\"name\":\"Carol\"}"), packaged.json)
            // The salt checks the event against its receipt without the log, until erased.
            val salt = log.salt(1uL)
            val receipt = log.receipt(1uL)
            val event = """{"name":"$secret"}"""
            verifyReceipt(receipt, log.keys(), event, salt).use { assertTrue(it.valid(), it.toText()) }
            verifyReceipt(receipt, log.keys(), """{"name":"Ada"}""", salt).use {
                assertEquals(listOf("EVENT_MISMATCH"), it.failureCodes())
            }
            assertCode("INVALID_ARGUMENT", "an event without its salt") { verifyReceipt(receipt, log.keys(), event) }
            assertTrue(log.erase(1uL, "GDPR Art. 17 request 118").isNotEmpty())
            assertEquals(0L, holding())
            assertCode("RECORD_ERASED", "the salt of an erased event") { log.salt(1uL) }
            verifyReceipt(receipt, log.keys(), event, salt).use { assertTrue(it.valid(), it.toText()) }
            log.verify().use {
                assertTrue(it.valid(), it.toText())
                assertTrue(it.toJson().contains("\"erased\":[{\"by\":3,\"index\":1,"), it.toJson())
            }
            assertCode("RECORD_ERASED", "erase twice") { log.erase(1uL, "again") }
            assertCode("ERASURE_REFUSED", "erase the erasure record") { log.erase(3uL, "own") }
            assertCode("INVALID_ARGUMENT", "erase beyond the log") { log.erase(9uL, "beyond") }
        }
        assertCode("INVALID_ARGUMENT", "record version 3") {
            Log.create(tempDir().resolve("other").toString(), key, null, null, null, listOf(), 3u).close()
        }
    }

    /** What a log serves: its latest checkpoint, every receipt and inclusion proof, a consistency proof. */
    private data class Served(val checkpoint: String, val receipts: List<String>, val proofs: List<String>, val consistency: String)

    @Test
    fun theOpenLogServesWhatAFreshReaderDoes() {
        for (mode in listOf("receipts", "batch")) {
            val (oldKey, newKey) = SigningKey.generate() to SigningKey.generate()
            val dir = tempDir().resolve("log").toString()
            val served = Log.create(dir, oldKey, null, mode).use { log ->
                val acknowledgements = mutableListOf(log.append("""{"n":0}""", "n-0"))
                acknowledgements += log.appendBatch(listOf("""{"n":1}""", """{"n":2}"""))
                val keyRecord = acknowledgements.size
                log.rotate(newKey)
                acknowledgements += log.append("""{"n":3}""")
                val checkpoint = log.checkpoint()
                val indexes = 0uL until log.length()
                val receipts = indexes.map { log.receipt(it) }
                // The rotation's key record (SPEC §23) is a record of the log too.
                if (mode == "receipts") assertEquals(acknowledgements, receipts.filterIndexed { i, _ -> i != keyRecord })
                Served(checkpoint, receipts, indexes.map { log.inclusionProof(it) }, log.consistencyProof(1uL))
            }
            Log.open(dir).use { reader ->
                val indexes = 0uL until reader.length()
                val fresh = Served(
                    served.checkpoint,
                    indexes.map { reader.receipt(it) },
                    indexes.map { reader.inclusionProof(it) },
                    reader.consistencyProof(1uL),
                )
                assertEquals(served, fresh, mode)
                served.receipts.zip(served.proofs).forEach { (receipt, proof) ->
                    verifyInclusion(receipt, proof, served.checkpoint, reader.keys())
                }
            }
            verifyLog(dir).use { assertTrue(it.valid(), it.toText()) }
        }
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
    fun anEvidenceFileVerifiesWithItsOwnKeysOrTrustedOnes() {
        val key = SigningKey.generate()
        val stranger = """{"keys":[${SigningKey.generate().publicJwk()}]}"""
        // A record of version 2: the file carries the event's salt, with which the event is checked.
        val (receipt, jwks, salt) = Log.create(tempDir().resolve("log").toString(), key).use { log ->
            val receipt = log.append("""{"n":1,"a":[true]}""")
            Triple(receipt, log.keys(), log.salt(0uL)!!.joinToString("") { "%02x".format(it) })
        }
        val evidence = """{"receipt": "$receipt", "jwks": $jwks, "event": {"a": [true], "n": 1.0}, "salt_hex": "$salt"}"""
        verifyEvidenceFile(evidence).use {
            assertTrue(it.valid(), it.toText())
            assertEquals("receipt", it.subject())
        }
        // Keys the verifier trusts replace the file's.
        verifyEvidenceFile(evidence, jwks).use { assertTrue(it.valid(), it.toText()) }
        verifyEvidenceFile(evidence, stranger).use {
            assertFalse(it.valid())
            assertEquals(listOf("KEY_NOT_FOUND"), it.failureCodes())
        }
        val noKeys = """{"receipt": "$receipt", "jwks": "{}"}"""
        assertCode("KEY_SET_MALFORMED", "the file's key set") { verifyEvidenceFile(noKeys) }
        verifyEvidenceFile(noKeys, jwks).use { assertTrue(it.valid(), it.toText()) }
        val otherEvent = """{"receipt": "$receipt", "jwks": $jwks, "event": {"n": 2}, "salt_hex": "$salt"}"""
        verifyEvidenceFile(otherEvent).use { assertEquals(listOf("EVENT_MISMATCH"), it.failureCodes()) }
        val unsalted = """{"receipt": "$receipt", "jwks": $jwks, "event": {"n": 1, "a": [true]}}"""
        assertCode("INVALID_ARGUMENT", "a version-2 record's event without its salt") { verifyEvidenceFile(unsalted) }
        for ((text, code) in listOf(
            """{"receipt":""" to "JSON_SYNTAX",
            "[]" to "INVALID_ARGUMENT",
            """{"receipt": "a.b.c", "batch_receipt": "{}", "jwks": {}}""" to "INVALID_ARGUMENT",
            """{"receipt": 1, "jwks": {}}""" to "INVALID_ARGUMENT",
            """{"receipt": "a.b.c", "jwks": {"keys": []}}""" to "JWS_MALFORMED",
        )) {
            assertCode(code, text) { verifyEvidenceFile(text, jwks) }
        }
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
            "verifyEvidenceFile" to { g -> verifyEvidenceFile(g) },
            "verifyEvidenceFile jwks" to { g -> verifyEvidenceFile("{}", g) },
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
