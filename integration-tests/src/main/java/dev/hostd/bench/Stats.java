package dev.hostd.bench;

import java.util.Arrays;

/** Percentiles of latencies in milliseconds (nearest-rank, as the C probe computes them). */
public record Stats(int count, double p50, double p99, double mean, double max) {
    public static Stats of(double[] millis) {
        double[] sorted = millis.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return new Stats(n, sorted[n / 2], sorted[(int) (n * 0.99)], Arrays.stream(sorted).average().orElse(0), sorted[n - 1]);
    }
}
