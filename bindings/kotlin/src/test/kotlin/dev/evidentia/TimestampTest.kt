// RFC 3161 trusted timestamps (SPEC.md §20): every case of testvectors/timestamps.json,
// requests, and a log's checkpoint stamped by a local OpenSSL time-stamping authority.
package dev.evidentia

import java.nio.file.Files
import java.nio.file.Path
import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

class TimestampTest {
    private fun same(result: VerifiedTimestamp, expected: JSONObject, name: String) {
        assertEquals(expected.getString("gen_time"), result.genTime, name)
        assertEquals(expected.getString("hash"), result.hash, name)
        assertEquals(expected.getString("serial"), result.serial, name)
        assertEquals(expected.getString("policy"), result.policy, name)
        assertEquals(expected.text("nonce"), result.nonce, name)
        assertEquals(expected.getString("tsa"), result.tsa, name)
        val chain = expected.getJSONArray("chain")
        assertEquals((0 until chain.length()).map { chain.getString(it) }, result.chain, name)
        assertEquals(expected.getString("root_sha256_fingerprint"), result.rootSha256Fingerprint, name)
    }

    @Test
    fun timestampVectors() {
        val doc = load("timestamps.json")
        val cases = doc.getJSONArray("cases").objects()
        for (case in cases) {
            val name = case.getString("name")
            val outcome = try {
                Pair(null, verifyTimestamp(
                    hex(case.getString("response_hex")),
                    hex(case.getString("data_hex")),
                    case.getString("roots").toByteArray(),
                    case.text("intermediates")?.toByteArray(),
                    null,
                    case.text("request_hex")?.let { hex(it) },
                ))
            } catch (e: EvidentiaException) {
                Pair(e.codeName(), null)
            }
            assertEquals(case.text("code"), outcome.first, name)
            outcome.second?.let { same(it, case.getJSONObject("result"), name) }
        }
        assertTrue(cases.size >= 10)
        for (case in doc.getJSONArray("requests").objects()) {
            val data = hex(case.getString("data_hex"))
            val hash = case.getString("hash")
            val code = case.text("code")
            if (code != null) {
                assertCode(code, "request $hash") { timestampRequest(data, hash) }
                continue
            }
            val (first, second) = Pair(timestampRequest(data, hash), timestampRequest(data, hash))
            assertEquals(0x30.toByte(), first[0])
            val imprint = hex(case.getString("imprint_hex"))
            assertTrue((0..first.size - imprint.size).any { i -> imprint.indices.all { first[i + it] == imprint[it] } })
            assertFalse(first.contentEquals(second), "each request has its own nonce")
        }
        assertCode("TIMESTAMP_MALFORMED", "garbage") { verifyTimestamp(byteArrayOf(0x30, 0), data = "x".toByteArray(), roots = cases[0].getString("roots").toByteArray()) }
    }

    private fun openssl(dir: Path, vararg args: String) {
        val process = ProcessBuilder(listOf("openssl") + args).directory(dir.toFile()).redirectErrorStream(true).start()
        val output = process.inputStream.readAllBytes().toString(Charsets.UTF_8)
        assertEquals(0, process.waitFor(), "openssl ${args.joinToString(" ")}: $output")
    }

    /** A time-stamping authority made with OpenSSL: a P-256 root and a TSA certificate. */
    private fun localTsa(dir: Path): Path {
        Files.createDirectories(dir)
        Files.writeString(dir.resolve("tsa.ext"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n")
        val ec = arrayOf("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
        openssl(dir, "req", "-x509", "-new", *ec, "-keyout", "root.key", "-out", "root.pem", "-days", "3650",
            "-subj", "/CN=Evidentia test TSA root", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        openssl(dir, "req", "-new", *ec, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Evidentia test TSA")
        openssl(dir, "x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
            "-days", "3000", "-out", "tsa.pem", "-extfile", "tsa.ext")
        Files.writeString(dir.resolve("serial"), "01\n")
        Files.writeString(dir.resolve("tsa.cnf"), "[ tsa ]\ndefault_tsa = c\n[ c ]\nserial = $dir/serial\n" +
            "signer_cert = $dir/tsa.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\n" +
            "default_policy = 1.2.3.4.1\ndigests = sha256\ness_cert_id_alg = sha256\n")
        return dir
    }

    private fun reply(tsa: Path, request: ByteArray): ByteArray {
        Files.write(tsa.resolve("request.tsq"), request)
        openssl(tsa, "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "request.tsq", "-out", "response.tsr")
        return Files.readAllBytes(tsa.resolve("response.tsr"))
    }

    @Test
    fun aLogCheckpointStampedByALocalAuthority() {
        val dir = tempDir()
        val tsa = localTsa(dir.resolve("tsa"))
        val root = Files.readAllBytes(tsa.resolve("root.pem"))
        Log.create(dir.resolve("log").toString(), SigningKey.generate(), "example.com/stamped").use { log ->
            log.append("""{"n":1}""")
            val note = log.checkpoint().toByteArray()
            val request = timestampRequest(note)
            val response = reply(tsa, request)
            val verified = verifyTimestamp(response, note, root, request = request)
            assertEquals(listOf("CN=Evidentia test TSA", "CN=Evidentia test TSA root"), verified.chain)
            assertEquals(null, verified.size)
            val attached = log.attachTimestamp(response, root, request = request)
            assertEquals(1uL, attached.size)
            assertEquals(verified.genTime, attached.genTime)
            log.exportPackage(0uL, dir.resolve("package").toString())
            assertTrue(Files.isRegularFile(dir.resolve("package").resolve("timestamp.tst")))

            val other = timestampRequest("something else".toByteArray())
            assertCode("TIMESTAMP_MISMATCH", "another request's answer") { log.attachTimestamp(reply(tsa, other), root) }
            assertCode("TIMESTAMP_MISMATCH", "not the request given") { log.attachTimestamp(response, root, request = other) }
            val stranger = Files.readAllBytes(localTsa(dir.resolve("stranger")).resolve("root.pem"))
            assertCode("TIMESTAMP_UNTRUSTED", "another authority's root") { log.attachTimestamp(response, stranger) }
        }
    }
}
