package dev.hostd.cgroup;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * cgroup v2: a threaded subtree. hostd's own cgroup ({@code base}, where the process is) becomes
 * the thread root; the container {@code base/<container>} and each sandbox group under it are of
 * type "threaded", so single threads of the process can be moved between them through
 * {@code cgroup.threads}. Only threaded controllers work in there, which is all we need: cpu
 * ({@code cpu.max}, {@code cpu.weight}) and cpuset. Memory is bounded by guest RAM, not by a cgroup.
 *
 * <p>The thread root must have no domain controllers (memory, io) enabled in its
 * {@code cgroup.subtree_control}, or the kernel refuses "threaded" with EOPNOTSUPP.
 */
final class CgroupV2 implements CgroupBackend {
    private final CgroupFs fs;
    private final Path base;
    private final Path container;
    private final String procBase;
    private final boolean cpuController;

    /**
     * @param base the cgroup directory the process is in (the thread root)
     * @param procBase that cgroup's path as /proc/self/cgroup shows it ("0::" line)
     */
    CgroupV2(CgroupFs fs, Path base, String procBase, String containerName) {
        this.fs = fs;
        this.base = base;
        this.container = base.resolve(containerName);
        this.procBase = (procBase.endsWith("/") ? procBase : procBase + "/") + containerName;
        this.cpuController = List.of(fs.read(base.resolve("cgroup.controllers")).trim().split("\\s+")).contains("cpu");
        if (cpuController) {
            // cpu is a threaded controller: the kernel allows it in a group that has processes (a thread root-to-be).
            fs.write(base.resolve("cgroup.subtree_control"), "+cpu", "enable the cpu controller for hostd's threaded groups");
        }
        fs.mkdir(container);
        fs.write(container.resolve("cgroup.type"), "threaded",
                "the thread root " + base + " must not have domain controllers (memory, io, pids) enabled in cgroup.subtree_control");
        if (cpuController) {
            fs.write(container.resolve("cgroup.subtree_control"), "+cpu", "enable the cpu controller for the sandbox groups");
        }
    }

    /** Whether the cpu controller is available here (limits can be set); placement and accounting work without it. */
    boolean cpuController() {
        return cpuController;
    }

    @Override
    public String describe() {
        return "cgroup v2 (threaded subtree at " + container + (cpuController ? "" : ", no cpu controller") + ")";
    }

    @Override
    public void create(String name) {
        Path dir = container.resolve(name);
        fs.mkdir(dir);
        fs.write(dir.resolve("cgroup.type"), "threaded", "sandbox groups are threaded so single vCPU threads can join them");
    }

    @Override
    public void setCpu(String name, CpuLimits limits) {
        Path dir = container.resolve(name);
        if (!cpuController) {
            if (limits.equals(CpuLimits.UNLIMITED)) {
                return;
            }
            throw CgroupException.unavailable("set CPU limits of " + dir, "the cpu controller is not available in " + base
                    + " (cgroup.controllers lacks cpu): bound to a v1 hierarchy, or not delegated (Delegate=yes in the unit)");
        }
        fs.write(dir.resolve("cpu.max"), limits.cpuMax(), "quota and period in µs");
        fs.write(dir.resolve("cpu.weight"), Integer.toString(limits.weight()), "1..10000");
        if (limits.cpus() != null) {
            fs.write(dir.resolve("cpuset.cpus"), limits.cpus(), "CPUs must exist and be allowed in hostd's cgroup");
        }
    }

    @Override
    public void attach(String name, int tid) {
        fs.write(container.resolve(name).resolve("cgroup.threads"), Integer.toString(tid),
                "the thread must belong to this process and still run");
    }

    @Override
    public void detach(int tid) {
        fs.write(base.resolve("cgroup.threads"), Integer.toString(tid), "the thread must belong to this process and still run");
    }

    @Override
    public int[] threads(String name) {
        return parseIds(fs.read(container.resolve(name).resolve("cgroup.threads")));
    }

    @Override
    public long cpuUsageNanos(String name) {
        for (String line : fs.read(container.resolve(name).resolve("cpu.stat")).split("\n")) {
            if (line.startsWith("usage_usec ")) {
                return Long.parseLong(line.substring("usage_usec ".length()).trim()) * 1000;
            }
        }
        throw CgroupException.unavailable("CPU usage of " + name, "cpu.stat has no usage_usec");
    }

    @Override
    public boolean remove(String name) {
        return fs.rmdir(container.resolve(name));
    }

    @Override
    public List<String> groups() {
        return fs.children(container);
    }

    @Override
    public String procPath(String name) {
        return "0::" + procBase + "/" + name;
    }

    @Override
    public void removeContainer() {
        fs.rmdir(container);
    }

    static int[] parseIds(String text) {
        return Arrays.stream(text.split("\\s+")).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
    }
}
