// Witness cosignatures and policies (SPEC.md §22): every case of testvectors/witness.json
// (a 2-of-3 policy satisfied, a 1-of-3 result refused with POLICY_NOT_SATISFIED, a tampered
// cosignature, a malformed policy) and its tlog-proofs.
package dev.evidentia

import java.util.Base64
import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

class WitnessTest {
    private fun outcome(call: () -> PolicyResult): Pair<String?, PolicyResult?> =
        try {
            Pair(null, call())
        } catch (e: EvidentiaException) {
            Pair(e.codeName(), null)
        }

    private fun same(result: PolicyResult, expected: JSONObject, name: String) {
        assertEquals(expected.getString("origin"), result.origin, name)
        assertEquals(expected.getLong("size").toULong(), result.size, name)
        assertArrayEquals(Base64.getDecoder().decode(expected.getString("root")), result.root, name)
        val signedBy = expected.getJSONArray("signed_by")
        assertEquals((0 until signedBy.length()).map { signedBy.getString(it) }, result.signedBy, name)
        assertEquals(
            expected.getJSONArray("cosigned").objects().map {
                Triple(it.getString("witness"), it.getString("key_name"), it.getLong("timestamp").toULong())
            },
            result.cosigned.map { Triple(it.witness, it.keyName, it.timestamp) },
            name,
        )
        assertTrue(result.quorumMet, name)
    }

    @Test
    fun witnessVectors() {
        val doc = load("witness.json")
        val policies = doc.getJSONArray("policies").objects()
        for (case in policies) {
            val name = case.getString("name")
            val (code, result) = outcome { checkPolicy(case.getString("note"), case.getString("policy")) }
            assertEquals(case.text("code"), code, name)
            if (result != null) same(result, case.getJSONObject("result"), name)
        }
        val proofs = doc.getJSONArray("proofs").objects()
        for (case in proofs) {
            val name = case.getString("name")
            val (code, result) = outcome {
                verifyTlogProof(
                    case.getString("proof"),
                    case.getString("entry").toByteArray(Charsets.UTF_8),
                    case.getString("policy"),
                )
            }
            assertEquals(case.text("code"), code, name)
            if (result != null) same(result, case.getJSONObject("result"), name)
        }
        assertTrue(policies.size >= 9 && proofs.size >= 6)
        println("witness.json: ${policies.size} policy cases, ${proofs.size} proof cases")
    }

    @Test
    fun twoOfThreeSatisfiedOneOfThreeRefused() {
        val cases = load("witness.json").getJSONArray("policies").objects().associateBy { it.getString("name") }
        val two = cases.getValue("2 of 3 witnesses cosigned: the quorum is met")
        assertEquals(listOf("w1", "w3"), checkPolicy(two.getString("note"), two.getString("policy")).cosigned.map { it.witness })
        val one = cases.getValue("1 of 3 witnesses cosigned: refused")
        val refused = assertThrows(EvidentiaException.Verification::class.java) {
            checkPolicy(one.getString("note"), one.getString("policy"))
        }
        assertEquals("POLICY_NOT_SATISFIED", refused.codeName())
        val bad = cases.getValue("a group of 3 needing 4: a malformed policy")
        val malformed = assertThrows(EvidentiaException.Proof::class.java) {
            checkPolicy(bad.getString("note"), bad.getString("policy"))
        }
        assertEquals("POLICY_MALFORMED", malformed.codeName())
    }

    @Test
    fun aLogExportsATlogProofThatVerifiesAgainstItsPolicy() {
        val key = SigningKey.generate()
        Log.create(tempDir().resolve("log").toString(), key, "example.com/tlog").use { log ->
            for (n in 0 until 3) log.append("""{"n":$n}""", null)
            val note = log.checkpoint()
            val exported = log.tlogProof(1uL)
            assertTrue(exported.proof.startsWith("c2sp.org/tlog-proof@v1\nindex 1\n") && exported.proof.endsWith(note))
            assertEquals(1, JSONObject(String(exported.entry)).getInt("seq"))
            // The log's ECDSA note verifier key (SPEC.md §10): origin, SHA-256(SPKI DER)[:4], 0x02 ‖ DER.
            val der = Base64.getMimeDecoder().decode(
                key.publicPem().lines().filterNot { it.startsWith("-----") }.joinToString(""),
            )
            val id = java.security.MessageDigest.getInstance("SHA-256").digest(der).copyOf(4)
                .joinToString("") { "%02x".format(it) }
            val vkey = "example.com/tlog+$id+" + Base64.getEncoder().encodeToString(byteArrayOf(2) + der)
            val policy = "log $vkey\nquorum none\n"
            val result = verifyTlogProof(exported.proof, exported.entry, policy)
            assertEquals(3uL, result.size)
            assertTrue(result.quorumMet)
            val other = assertThrows(EvidentiaException.Verification::class.java) {
                verifyTlogProof(exported.proof, "{}".toByteArray(), policy)
            }
            assertEquals("INCLUSION_PROOF_INVALID", other.codeName())
            assertEquals("INVALID_ARGUMENT", assertThrows(EvidentiaException::class.java) { log.tlogProof(3uL) }.codeName())
        }
    }
}
