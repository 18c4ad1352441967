package dev.hostd.image.trace;

import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.format.ChunkInfo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A trace turned into range requests: each run is a set of traced chunks of one blob that lie
 * next to each other there (sorted by offset), fetched in one request. Runs come in the order
 * the trace first read them. Only traced chunks are fetched: two traced chunks are joined only
 * when the stored bytes between them (untraced chunks, read and dropped) are at most
 * {@code bridgeBytes}, and a run spans at most {@code maxSpan} stored bytes.
 */
public record PrefetchPlan(List<int[]> runs) {
    /**
     * Default bridge: 64 KiB takes ~5 ms at 100 Mbit/s, less than the round trip a separate
     * request costs, while a chunk of a large file (≈0.5-1 MiB stored) is never bridged.
     */
    public static final int BRIDGE_BYTES = 64 << 10;

    public static PrefetchPlan of(Bootstrap image, int[] trace, long maxSpan, int bridgeBytes) {
        List<ChunkInfo> chunks = image.chunks();
        Set<Integer> distinct = new LinkedHashSet<>();
        for (int c : trace) {
            distinct.add(c);
        }
        // The traced chunks of each blob in blob order, so a chunk's traced successor is one step away.
        Integer[] sorted = distinct.toArray(Integer[]::new);
        Arrays.sort(sorted, Comparator.<Integer>comparingInt(i -> chunks.get(i).blob()).thenComparingLong(i -> chunks.get(i).offset()));
        int[] successor = new int[chunks.size()];
        Arrays.fill(successor, -1);
        for (int k = 0; k + 1 < sorted.length; k++) {
            ChunkInfo a = chunks.get(sorted[k]);
            ChunkInfo b = chunks.get(sorted[k + 1]);
            if (a.blob() == b.blob() && b.offset() >= a.end() && b.offset() - a.end() <= bridgeBytes) {
                successor[sorted[k]] = sorted[k + 1];
            }
        }
        boolean[] planned = new boolean[chunks.size()];
        List<int[]> runs = new ArrayList<>();
        for (int first : distinct) {
            if (planned[first]) {
                continue;
            }
            List<Integer> run = new ArrayList<>(List.of(first));
            planned[first] = true;
            long start = chunks.get(first).offset();
            for (int next = successor[first]; next >= 0 && !planned[next] && chunks.get(next).end() - start <= maxSpan;
                 next = successor[next]) {
                run.add(next);
                planned[next] = true;
            }
            runs.add(run.stream().mapToInt(Integer::intValue).toArray());
        }
        return new PrefetchPlan(runs);
    }

    /** Every chunk of the plan (the set a mount's read-ahead leaves to the prefetcher). */
    public int[] chunks() {
        return runs.stream().flatMapToInt(Arrays::stream).toArray();
    }
}
