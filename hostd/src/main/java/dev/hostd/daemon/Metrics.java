package dev.hostd.daemon;

import jakarta.inject.Singleton;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The daemon's metrics in the Prometheus text exposition format 0.0.4, written by hand: a few
 * histograms and counters of lock-free adders, and gauges read when scraped.
 */
@Singleton
public final class Metrics {
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final double[] SECONDS_BUCKETS = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

    private final Histogram cloneSeconds = new Histogram(SECONDS_BUCKETS);
    private final Histogram invokeSeconds = new Histogram(SECONDS_BUCKETS);
    private final Map<String, LongAdder> failures = new ConcurrentSkipListMap<>();
    private final Map<String, Supplier<String>> gauges = new ConcurrentHashMap<>();

    public void cloneSeconds(double seconds) {
        cloneSeconds.observe(seconds);
    }

    public void invokeSeconds(double seconds) {
        invokeSeconds.observe(seconds);
    }

    /** Counts a failed request by its problem code. */
    public void failure(String cause) {
        failures.computeIfAbsent(cause, c -> new LongAdder()).increment();
    }

    /** Registers a gauge of one unlabelled sample, read at scrape time. */
    void gauge(String name, String help, LongSupplier value) {
        gauge(name, () -> "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n" + name + " " + value.getAsLong() + "\n");
    }

    /** Registers the text of a gauge family (its sample lines), computed at scrape time. */
    void gauge(String name, Supplier<String> samples) {
        gauges.put(name, samples);
    }

    public String scrape() {
        StringBuilder out = new StringBuilder(4096);
        cloneSeconds.write(out, "hostd_clone_seconds", "Time to clone a sandbox from a template until its agent acknowledged its identity.");
        invokeSeconds.write(out, "hostd_invoke_seconds", "Time of an invoke, from the API's view.");
        out.append("# HELP hostd_failures_total Failed API requests by problem code.\n# TYPE hostd_failures_total counter\n");
        failures.forEach((cause, n) -> out.append("hostd_failures_total{cause=\"").append(cause).append("\"} ").append(n.sum()).append('\n'));
        gauges.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> out.append(e.getValue().get()));
        return out.toString();
    }

    static String num(double v) {
        if (v == Math.rint(v) && !Double.isInfinite(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, "%s", v);
    }

    /** A cumulative histogram as Prometheus expects: _bucket{le}, _sum, _count. */
    static final class Histogram {
        private final double[] bounds;
        private final LongAdder[] counts;
        private final DoubleAdder sum = new DoubleAdder();

        Histogram(double[] bounds) {
            this.bounds = bounds.clone();
            this.counts = new LongAdder[bounds.length + 1];
            for (int i = 0; i < counts.length; i++) {
                counts[i] = new LongAdder();
            }
        }

        void observe(double v) {
            int i = 0;
            while (i < bounds.length && v > bounds[i]) {
                i++;
            }
            counts[i].increment();
            sum.add(v);
        }

        void write(StringBuilder out, String name, String help) {
            out.append("# HELP ").append(name).append(' ').append(help).append('\n');
            out.append("# TYPE ").append(name).append(" histogram\n");
            long cumulative = 0;
            for (int i = 0; i < bounds.length; i++) {
                cumulative += counts[i].sum();
                out.append(name).append("_bucket{le=\"").append(num(bounds[i])).append("\"} ").append(cumulative).append('\n');
            }
            cumulative += counts[bounds.length].sum();
            out.append(name).append("_bucket{le=\"+Inf\"} ").append(cumulative).append('\n');
            out.append(name).append("_sum ").append(num(sum.sum())).append('\n');
            out.append(name).append("_count ").append(cumulative).append('\n');
        }
    }
}
