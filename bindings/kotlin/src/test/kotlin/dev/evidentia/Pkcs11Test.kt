// Keys in a PKCS#11 token (SoftHSM2), named by RFC 7512 URIs: SigningKey.fromPkcs11
// signs for a log as a key in memory does, and its private key never leaves the
// token. Skipped when SoftHSM2 is not installed, unless EVIDENTIA_REQUIRE_SOFTHSM is
// set (as `cargo xtask test` does).
package dev.evidentia

import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import org.json.JSONObject
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test

class Pkcs11Test {
    companion object {
        private val MODULE = System.getenv("EVIDENTIA_PKCS11_MODULE") ?: "/usr/lib/softhsm/libsofthsm2.so"
        private const val PIN = "482913"
        private var home: Path? = null

        private fun run(vararg command: String) {
            val process = ProcessBuilder(*command).redirectErrorStream(true).start()
            val output = process.inputStream.bufferedReader().readText()
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "${command[0]} did not finish")
            assertEquals(0, process.exitValue(), "${command.joinToString(" ")}: $output")
        }

        /**
         * Two tokens of their own: "kotlin" for the keys that sign, and "kotlin-errors"
         * for the failures. PKCS#11 shares a login between all sessions of a process,
         * so a wrong PIN is only refused by a token no live key is logged in to (and
         * keys here are freed when the garbage collector runs). Each has two P-256
         * keys and a P-384 one.
         */
        @JvmStatic
        @BeforeAll
        fun tokens() {
            if (!Files.exists(Path.of(MODULE))) {
                if (!System.getenv("EVIDENTIA_REQUIRE_SOFTHSM").isNullOrEmpty()) {
                    fail<Unit>("EVIDENTIA_REQUIRE_SOFTHSM is set but $MODULE is missing")
                }
                assumeTrue(false, "SoftHSM2 is not installed ($MODULE is missing)")
            }
            // Set for the test JVM by pom.xml; SoftHSM2 reads it when the module is
            // first loaded, in this process and the tools'.
            val conf = Path.of(System.getenv("SOFTHSM2_CONF") ?: fail("SOFTHSM2_CONF is not set (pom.xml sets it)"))
            val dir = Files.createTempDirectory("evidentia-kotlin-hsm-")
            home = dir
            Files.createDirectories(dir.resolve("tokens"))
            Files.createDirectories(conf.parent)
            Files.writeString(
                conf,
                "directories.tokendir = ${dir.resolve("tokens")}\nobjectstore.backend = file\n" +
                    "log.level = ERROR\nslots.removable = false\n",
            )
            for (token in listOf("kotlin", "kotlin-errors")) {
                run("softhsm2-util", "--init-token", "--free", "--label", token, "--pin", PIN, "--so-pin", "5678")
                for ((label, kind) in listOf("log-key" to "EC:prime256v1", "next-key" to "EC:prime256v1", "p384" to "EC:secp384r1")) {
                    run(
                        "pkcs11-tool", "--module", MODULE, "--token-label", token, "--login", "--pin", PIN,
                        "--keypairgen", "--key-type", kind, "--label", label,
                    )
                }
            }
            Files.writeString(dir.resolve("pin"), "$PIN\n")
            Files.writeString(dir.resolve("wrong-pin"), "000000\n")
        }

        @JvmStatic
        @AfterAll
        fun removeTokens() {
            home?.toFile()?.deleteRecursively()
        }

        fun uri(label: String, pin: String = "pin", token: String = "kotlin"): String =
            "pkcs11:token=$token;object=$label?pin-source=${home!!.resolve(pin)}&module-path=$MODULE"

        /** A folder for a log, removed with the tokens. */
        fun logDir(): Path = Files.createTempDirectory(home!!, "log-").resolve("log")
    }

    private fun event(n: Int) = """{"n":$n}"""

    /** Neither the PIN nor the URI's PIN file is written into the log. */
    private fun assertNoPin(dir: Path) {
        Files.walk(dir).use { files ->
            files.filter { Files.isRegularFile(it) }.forEach { file ->
                assertFalse(String(Files.readAllBytes(file), Charsets.ISO_8859_1).contains(PIN), file.toString())
            }
        }
    }

    @Test
    fun aLogSignsRotatesAndVerifiesWithTokenKeys() {
        for (mode in listOf("receipts", "batch")) {
            val dir = logDir()
            val key = SigningKey.fromPkcs11(uri("log-key"))
            val next = SigningKey.fromPkcs11(uri("next-key"))
            val (receipts, salts) = Log.create(dir.toString(), key, mode = mode).use { log ->
                val receipts = (0..2).map { log.append(event(it)) }
                val salts = (0..2).map { log.salt(it.toULong()) }
                log.checkpoint()
                log.rotate(next)
                log.append(event(3))
                log.checkpoint()
                log.verify().use { assertTrue(it.valid(), it.toText()) }
                receipts to salts
            }
            verifyLog(dir.toString()).use { assertTrue(it.valid(), it.toText()) }
            val keys = Files.readString(dir.resolve("keys.jwks"))
            val kids = (0 until 2).map { JSONObject(keys).getJSONArray("keys").getJSONObject(it).getString("kid") }
            assertEquals(listOf(key.kid(), next.kid()), kids)
            if (mode == "receipts") {
                receipts.forEachIndexed { n, receipt ->
                    verifyReceipt(receipt, keys, event(n), salts[n]).use { assertTrue(it.valid(), it.toText()) }
                }
            }
            assertNoPin(dir)
            // Opened again with the token key, the log continues.
            Log.open(dir.toString(), SigningKey.fromPkcs11(uri("next-key"))).use { it.append(event(4)) }
            verifyLog(dir.toString()).use { assertTrue(it.valid(), it.toText()) }
        }
    }

    @Test
    fun aTokenKeyIsASigningKeyWhosePrivateKeyStaysInTheToken() {
        val key = SigningKey.fromPkcs11(uri("log-key"))
        assertTrue(key.isRandomized())
        assertEquals(key.kid(), key.withRandomizedSignatures().kid())
        assertEquals(key.kid(), jwkThumbprint(key.publicJwk()))
        assertTrue(key.publicPem().startsWith("-----BEGIN PUBLIC KEY-----"))
        assertTrue(key.toString().contains(key.kid()), key.toString())
        assertCode("KEY_NOT_PRIVATE", "export a key held in a token as JWK") { key.toJwk() }
        assertCode("KEY_NOT_PRIVATE", "export a key held in a token as PEM") { key.toPem() }
        val payload = """{"amount":"1250.00"}""".toByteArray()
        val jws = key.signJws(payload)
        assertArrayEquals(payload, verifyJws(jws, key.publicJwk()).payload)
        // The same key opened twice is one key.
        assertEquals(key.kid(), SigningKey.fromPkcs11(uri("log-key")).kid())
        assertFalse(key.kid() == SigningKey.fromPkcs11(uri("next-key")).kid())
    }

    @Test
    fun tokenErrorsAreCoded() {
        val cases = listOf(
            "TOKEN_LOGIN_FAILED" to uri("log-key", "wrong-pin", "kotlin-errors"),
            "TOKEN_KEY_NOT_FOUND" to uri("no-such-key", token = "kotlin-errors"),
            "TOKEN_NOT_FOUND" to uri("log-key", token = "absent"),
            "KEY_UNSUPPORTED" to uri("p384", token = "kotlin-errors"),
            "KEY_URI_INVALID" to "pkcs11:token=kotlin-errors;object=%zz",
            "KEY_URI_INVALID" to "a key file name is not a key",
        )
        for ((code, uri) in cases) {
            try {
                SigningKey.fromPkcs11(uri)
                fail<Unit>("$uri: expected $code, nothing was thrown")
            } catch (e: EvidentiaException.Key) {
                assertEquals(code, e.codeName, e.reason)
                assertFalse(e.reason.contains(PIN), e.reason)
            }
        }
        // A log keeps its key when a key to rotate to cannot be opened.
        val dir = logDir().toString()
        Log.create(dir, SigningKey.generate()).use { log ->
            assertCode("TOKEN_LOGIN_FAILED", "rotate to a key with a wrong PIN") {
                log.rotate(SigningKey.fromPkcs11(uri("log-key", "wrong-pin", "kotlin-errors")))
            }
            log.append(event(0))
            assertEquals(1, JSONObject(log.keys()).getJSONArray("keys").length())
        }
    }
}
