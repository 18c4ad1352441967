package dev.hostd.bench;

import java.util.function.IntFunction;

/**
 * Warms a measured loop to its steady state before it is measured: blocks of cycles run until two
 * blocks in a row have a p50 within 3% of the block before (both JITs, the daemon's and ours, have
 * settled), between {@code minBlocks} and {@code maxBlocks} blocks. The same rule warms the socket
 * path and the direct baseline, so neither is measured colder than the other.
 */
final class WarmUp {
    private WarmUp() {}

    /** Runs {@code block.apply(blockIndex)} (each a block of cycles) until steady; returns the blocks run. */
    static int untilSteady(IntFunction<Stats> block, int minBlocks, int maxBlocks) {
        double previous = Double.NaN;
        int steady = 0;
        for (int b = 0; b < maxBlocks; b++) {
            double p50 = block.apply(b).p50();
            steady = !Double.isNaN(previous) && Math.abs(p50 - previous) <= 0.03 * previous ? steady + 1 : 0;
            previous = p50;
            if (b + 1 >= minBlocks && steady >= 2) {
                return b + 1;
            }
        }
        return maxBlocks;
    }
}
