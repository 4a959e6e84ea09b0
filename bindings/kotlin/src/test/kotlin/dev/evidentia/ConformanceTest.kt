// The conformance suite (testvectors/conformance/) through the Kotlin bindings: each
// case's operation performed in-process, its exit class, code and report codes
// compared with expected.json, as run.py does for the adapters of the other
// languages (one JVM per case would take minutes). Operations the bindings do not
// offer are skipped, and counted: a bare record's inclusion (the bindings verify a
// receipt's), and inputs that are not UTF-8 (a String cannot hold them unchanged).
package dev.evidentia

import java.nio.ByteBuffer
import java.nio.charset.CharacterCodingException
import java.nio.charset.CodingErrorAction
import java.nio.file.Files
import java.nio.file.Path
import org.json.JSONArray
import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

private val SUITE: Path = VECTORS.resolve("conformance")
private val REPORT_OPS = setOf("receipt", "evidence", "log")
private val FAMILY: Map<String, Int> = errorCodes().associate { it.name to it.code.toInt() / 100 }

/** What an implementation answered: exit class, code, and report codes. */
private data class Answer(val exit: Int, val code: String?, val codes: List<String>?)

private class Skip(reason: String) : Exception(reason)

private fun text(bytes: ByteArray): String = try {
    Charsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(bytes))
        .toString()
} catch (e: CharacterCodingException) {
    throw Skip("an input is not UTF-8 text, which a String cannot hold unchanged")
}

private fun perform(operation: String, inputs: Map<String, Path>): Answer {
    fun data(role: String) = Files.readAllBytes(inputs.getValue(role))
    fun text(role: String) = text(data(role))
    fun answer(report: Report): Answer = report.use {
        val codes = it.failureCodes()
        Answer(if (it.valid()) 0 else 1, codes.firstOrNull(), if (operation in REPORT_OPS) codes else null)
    }
    return try {
        when (operation) {
            "receipt" -> {
                val event = inputs["event"]?.let { text("event") }
                answer(verifyReceipt(text("receipt"), text("jwks"), event, inputs["salt"]?.let { data("salt") }))
            }
            "log" -> answer(verifyLog(inputs.getValue("log").toString(), inputs["jwks"]?.let { text("jwks") }))
            "checkpoint" -> { verifyCheckpoint(text("checkpoint"), text("jwks")); Answer(0, null, null) }
            "inclusion" -> {
                if ("record" in inputs) throw Skip("the bindings verify a receipt's inclusion, not a bare record's")
                verifyInclusion(text("receipt"), text("proof"), text("checkpoint"), text("jwks"))
                Answer(0, null, null)
            }
            "consistency" -> {
                verifyConsistency(text("proof"), text("old_checkpoint"), text("checkpoint"), text("jwks"))
                Answer(0, null, null)
            }
            "evidence" -> answer(verifyEvidenceFile(text("evidence"), inputs["jwks"]?.let { text("jwks") }))
            "package" -> {
                // By its path (folder or .tar.gz); a .tar.gz also by its bytes, with the same report.
                val path = inputs.getValue("package")
                val report = verifyPackage(path.toString())
                if (Files.isRegularFile(path)) assertEquals(report, verifyPackageArchive(data("package")))
                Answer(if (report.valid) 0 else 1, null, null)
            }
            "tiles" -> throw Skip("the Kotlin bindings do not read tlog-tiles publications (the CLI, Python and Node do)")
            else -> error("unknown operation $operation")
        }
    } catch (e: EvidentiaException) {
        val name = e.codeName()
        Answer(if (FAMILY[name] == 6) 1 else 2, name, null)
    }
}

class ConformanceTest {
    @Test
    fun everyCaseOfTheConformanceSuiteGivesTheExpectedVerdictAndCode() {
        val cases = JSONArray(Files.readString(SUITE.resolve("cases.json"))).objects()
        assertTrue(cases.size >= 300, "the suite has ${cases.size} cases")
        val failures = mutableListOf<String>()
        val skipped = mutableMapOf<String, Int>()
        var agreed = 0
        for (case in cases) {
            val id = case.getString("case")
            val folder = SUITE.resolve("cases").resolve(id)
            val expected = JSONObject(Files.readString(folder.resolve("expected.json")))
            val roles = expected.getJSONObject("inputs")
            val inputs = roles.keySet().associateWith { folder.resolve(roles.getString(it)) }
            val answer = try {
                perform(expected.getString("operation"), inputs)
            } catch (e: Skip) {
                skipped.merge(e.message!!, 1, Int::plus)
                continue
            }
            val want = Answer(
                expected.getInt("exit"),
                if (expected.isNull("code")) null else expected.getString("code"),
                if (expected.has("codes")) expected.getJSONArray("codes").map { it as String } else null,
            )
            if (answer == want) agreed++ else failures.add("$id: got $answer, expected $want")
        }
        println("conformance (Kotlin): $agreed agree, ${failures.size} disagree, skipped $skipped")
        assertEquals(emptyList<String>(), failures)
        assertTrue(agreed > cases.size / 2, "most cases run: $agreed of ${cases.size}")
    }
}
