// Per-call cost of receipts and inclusion proofs from an open log in Kotlin, run by
// `cargo xtask bench log` (skipped in `cargo xtask test`): with the system property
// evidentia.bench.log naming a log directory, it writes one JSON line per operation
// (its median time per call over 25 rounds) to the file evidentia.bench.out.
package dev.evidentia

import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import java.io.File

class LogReadBench {
    private fun property(name: String): String? =
        System.getProperty(name)?.takeUnless { it.isEmpty() || it.startsWith("\${") }

    private fun medianNs(calls: Int, call: () -> Unit): Double {
        call()
        val perCall = (0 until 25).map {
            val start = System.nanoTime()
            repeat(calls) { call() }
            (System.nanoTime() - start).toDouble() / calls
        }
        return perCall.sorted()[perCall.size / 2]
    }

    @Test
    fun receiptsAndProofsFromAnOpenLog() {
        val dir = property("evidentia.bench.log")
        assumeTrue(dir != null, "run by cargo xtask bench log")
        val group = property("evidentia.bench.group") ?: "log"
        val out = File(property("evidentia.bench.out") ?: error("evidentia.bench.out is not set"))
        Log.open(dir!!).use { log ->
            val size = log.length()
            var position = 0uL
            val next = { position = (position + 7919uL) % size; position }
            val reads = linkedMapOf<String, () -> Unit>(
                "log_receipt" to { log.receipt(next()) },
                "log_inclusion_proof" to { log.inclusionProof(next()) },
            )
            for ((op, call) in reads) {
                out.appendText("""{"language":"kotlin","op":"$group/$op","median_ns":${medianNs(2000, call)}}""" + "\n")
            }
        }
    }
}
