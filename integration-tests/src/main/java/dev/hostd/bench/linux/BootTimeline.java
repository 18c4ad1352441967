package dev.hostd.bench.linux;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/**
 * When each milestone of one boot showed on the console: wall seconds from the start of the boot
 * request, and seconds the vCPU thread had been on a CPU (the part a loaded host does not inflate).
 */
record BootTimeline(String vmm, Map<String, double[]> wallAndCpu) {
    /** Polls {@code console} until every milestone is reached, the guest stops, or {@code cpuGuardSeconds} of vCPU time pass. */
    static BootTimeline follow(String vmm, long startNanos, Supplier<String> console, DoubleSupplier vcpuSeconds,
                               Supplier<Boolean> stopped, List<BootMilestone> milestones, double cpuGuardSeconds) throws InterruptedException {
        Map<String, double[]> reached = new LinkedHashMap<>();
        while (reached.size() < milestones.size()) {
            String text = console.get();
            double cpu = vcpuSeconds.getAsDouble();
            for (BootMilestone m : milestones) {
                if (!reached.containsKey(m.name()) && m.reached().test(text)) {
                    reached.put(m.name(), new double[] {(System.nanoTime() - startNanos) / 1e9, cpu});
                }
            }
            if (reached.size() == milestones.size()) {
                break;
            }
            if (stopped.get() || cpu > cpuGuardSeconds) {
                throw new IllegalStateException(vmm + ": " + (stopped.get() ? "the guest stopped" : "no progress in " + cpuGuardSeconds
                        + " s of vCPU time") + " before " + milestones.stream().filter(m -> !reached.containsKey(m.name())).map(BootMilestone::name).toList()
                        + "; console tail:\n" + tail(text));
            }
            Thread.sleep(20);
        }
        return new BootTimeline(vmm, reached);
    }

    double wall(String milestone) {
        return wallAndCpu.get(milestone)[0];
    }

    double cpu(String milestone) {
        return wallAndCpu.get(milestone)[1];
    }

    private static String tail(String text) {
        return text.length() <= 2000 ? text : text.substring(text.length() - 2000);
    }
}
