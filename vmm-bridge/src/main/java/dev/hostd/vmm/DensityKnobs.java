package dev.hostd.vmm;

/**
 * Process-wide settings that trade CPU for memory per sandbox, read once from system properties
 * (the daemon passes them as {@code -D} options; docs/resources.md has the measured effect of each):
 *
 * <ul>
 *   <li>{@code hostd.density.ksm} (default false): {@code MADV_MERGEABLE} on every clone's guest RAM, so
 *       ksmd may merge identical pages that clones wrote (only the copies are anonymous pages KSM sees;
 *       the template's pages are shared already). Needs {@code /sys/kernel/mm/ksm/run} = 1.</li>
 *   <li>{@code hostd.density.no-huge-pages} (default false): {@code MADV_NOHUGEPAGE} on every clone's guest
 *       RAM, so a write never copies a 2 MiB page where 4 KiB would do (matters where THP is "always").</li>
 *   <li>{@code hostd.density.vcpu-stack-kib} (default 256): stack reserved for each pooled vCPU thread.</li>
 * </ul>
 */
public record DensityKnobs(boolean ksm, boolean noHugePages, int vcpuStackKib) {
    public static final String KSM = "hostd.density.ksm", NO_HUGE_PAGES = "hostd.density.no-huge-pages",
            VCPU_STACK_KIB = "hostd.density.vcpu-stack-kib";
    /** The JVM refuses less than this for a thread that runs Java code. */
    public static final int MIN_STACK_KIB = 136;

    public static final DensityKnobs CURRENT = fromSystemProperties();

    public DensityKnobs {
        if (vcpuStackKib < MIN_STACK_KIB || vcpuStackKib > 16 * 1024) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "density knobs",
                    VCPU_STACK_KIB + " must be " + MIN_STACK_KIB + "..16384 KiB, got " + vcpuStackKib);
        }
    }

    static DensityKnobs fromSystemProperties() {
        String stack = System.getProperty(VCPU_STACK_KIB, "256");
        int kib;
        try {
            kib = Integer.parseInt(stack.trim());
        } catch (NumberFormatException e) {
            throw new VmmException(VmmException.Kind.INVALID_INPUT, "density knobs", VCPU_STACK_KIB + " is not a number: '" + stack + "'");
        }
        return new DensityKnobs(bool(KSM), bool(NO_HUGE_PAGES), kib);
    }

    private static boolean bool(String key) {
        String v = System.getProperty(key, "false").trim();
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new VmmException(VmmException.Kind.INVALID_INPUT, "density knobs", key + " must be true or false, got '" + v + "'");
        };
    }
}
